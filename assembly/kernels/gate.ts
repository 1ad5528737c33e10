// Mixture-of-experts combine (MMoE / CGC): a per-row convex (softmax-gated) mix of expert outputs.
import { hsum_f32x4, off4 } from "../simd";

/**
 * y[i, :] = Σ_j gate[i, j]·experts[j, i, :]. experts: [e, m, n] (expert j's output is one contiguous
 * [m, n] block), gate: [m, e] row-major (already softmaxed), y: [m, n]. e == 0 gives y = 0.
 * y must not overlap experts or gate.
 */
export function moe_combine_fwd_f32x4(m: i32, e: i32, n: i32, experts_ptr: usize, gate_ptr: usize, y_ptr: usize): void {
  const blk = off4(m * n); // bytes between expert j and j + 1
  for (let i = 0; i < m; i++) {
    const yr = y_ptr + off4(i * n);
    const er = experts_ptr + off4(i * n); // row i of expert 0
    const gr = gate_ptr + off4(i * e);
    let c = 0;
    // 16 columns at a time, accumulators in registers across the experts
    for (; c + 16 <= n; c += 16) {
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let p = er + off4(c);
      for (let j = 0; j < e; j++) {
        const g = f32x4.splat(load<f32>(gr + off4(j)));
        a0 = f32x4.add(a0, f32x4.mul(g, v128.load(p)));
        a1 = f32x4.add(a1, f32x4.mul(g, v128.load(p, 16)));
        a2 = f32x4.add(a2, f32x4.mul(g, v128.load(p, 32)));
        a3 = f32x4.add(a3, f32x4.mul(g, v128.load(p, 48)));
        p += blk;
      }
      const q = yr + off4(c);
      v128.store(q, a0);
      v128.store(q, a1, 16);
      v128.store(q, a2, 32);
      v128.store(q, a3, 48);
    }
    for (; c + 4 <= n; c += 4) {
      let a = f32x4.splat(0);
      let p = er + off4(c);
      for (let j = 0; j < e; j++) {
        a = f32x4.add(a, f32x4.mul(f32x4.splat(load<f32>(gr + off4(j))), v128.load(p)));
        p += blk;
      }
      v128.store(yr + off4(c), a);
    }
    for (; c < n; c++) {
      let a: f32 = 0;
      let p = er + off4(c);
      for (let j = 0; j < e; j++) {
        a += load<f32>(gr + off4(j)) * load<f32>(p);
        p += blk;
      }
      store<f32>(yr + off4(c), a);
    }
  }
}

/**
 * Backward of moe_combine_fwd_f32x4:
 *   dexperts[j, i, :] = beta·dexperts[j, i, :] + gate[i, j]·dy[i, :],
 *   dgate[i, j]       = beta·dgate[i, j] + ⟨experts[j, i, :], dy[i, :]⟩.
 * experts, dexperts: [e, m, n]; gate, dgate: [m, e]; dy: [m, n]. beta applies to both outputs; beta == 0
 * never reads them (NaN garbage is fine). Outputs must not overlap inputs.
 */
export function moe_combine_bwd_f32x4(
  m: i32, e: i32, n: i32, experts_ptr: usize, gate_ptr: usize, dy_ptr: usize, dexperts_ptr: usize, dgate_ptr: usize, beta: f32,
): void {
  const bv = f32x4.splat(beta);
  for (let i = 0; i < m; i++) {
    const dyr = dy_ptr + off4(i * n);
    for (let j = 0; j < e; j++) {
      const row = off4((j * m + i) * n);
      const er = experts_ptr + row;
      const dr = dexperts_ptr + row;
      const g = load<f32>(gate_ptr + off4(i * e + j));
      const gv = f32x4.splat(g);
      let sv = f32x4.splat(0);
      let c = 0;
      if (beta == 0) {
        for (; c + 4 <= n; c += 4) {
          const d = v128.load(dyr + off4(c));
          sv = f32x4.add(sv, f32x4.mul(v128.load(er + off4(c)), d));
          v128.store(dr + off4(c), f32x4.mul(gv, d));
        }
      } else {
        for (; c + 4 <= n; c += 4) {
          const d = v128.load(dyr + off4(c));
          sv = f32x4.add(sv, f32x4.mul(v128.load(er + off4(c)), d));
          v128.store(dr + off4(c), f32x4.add(f32x4.mul(v128.load(dr + off4(c)), bv), f32x4.mul(gv, d)));
        }
      }
      let s = hsum_f32x4(sv);
      for (; c < n; c++) {
        const d = load<f32>(dyr + off4(c));
        s += load<f32>(er + off4(c)) * d;
        const prev: f32 = beta == 0 ? 0 : beta * load<f32>(dr + off4(c));
        store<f32>(dr + off4(c), prev + g * d);
      }
      const gp = dgate_ptr + off4(i * e + j);
      store<f32>(gp, beta == 0 ? s : beta * load<f32>(gp) + s);
    }
  }
}
