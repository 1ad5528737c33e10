// Row and plane helpers shared by the convolution kernels (conv.ts, conv_wino.ts, conv_direct.ts). Internal:
// index.ts does not re-export this file, so nothing here is a wasm export. Counts in f32 elements, addresses in bytes.

/** dst[0, cnt) = 0. */
// @ts-ignore: decorator
@inline export function zero_fill(dst: usize, cnt: i32): void {
  const zero = f32x4.splat(0);
  let o = 0;
  for (; o + 4 <= cnt; o += 4) v128.store(dst + (<usize>o << 2), zero);
  for (; o < cnt; o++) store<f32>(dst + (<usize>o << 2), 0);
}

/** dst[0, len) = src[0, len), f32x4; for len ≥ 4 the last len % 4 as one vector ending at len − 1 (idempotent overlap). */
// @ts-ignore: decorator
@inline export function copy_row(dst: usize, src: usize, len: i32): void {
  let o = 0;
  for (; o + 4 <= len; o += 4) v128.store(dst + (<usize>o << 2), v128.load(src + (<usize>o << 2)));
  if (o < len) {
    if (len >= 4) { const q = <usize>(len - 4) << 2; v128.store(dst + q, v128.load(src + q)); }
    else for (; o < len; o++) store<f32>(dst + (<usize>o << 2), load<f32>(src + (<usize>o << 2)));
  }
}

/**
 * dst[o] += Σ_j src[o·rs + j], j < cnt, for o < rows: f32 rows summed in two f32x4 chains, the lanes added in f64.
 * `cnt` a multiple of 8 (the padded columns are zero); `rs` the row stride in bytes; dst f64 [rows].
 */
export function row_sums_f64(rows: i32, cnt: i32, src: usize, rs: usize, dst: usize): void {
  for (let o = 0; o < rows; o++) {
    const r = src + <usize>o * rs;
    let a0 = f32x4.splat(0), a1 = a0;
    for (let j = 0; j < cnt; j += 8) {
      a0 = f32x4.add(a0, v128.load(r + (<usize>j << 2)));
      a1 = f32x4.add(a1, v128.load(r + (<usize>j << 2), 16));
    }
    const a = f32x4.add(a0, a1), q = dst + (<usize>o << 3);
    store<f64>(q, load<f64>(q) + ((<f64>f32x4.extract_lane(a, 0) + <f64>f32x4.extract_lane(a, 1)) + (<f64>f32x4.extract_lane(a, 2) + <f64>f32x4.extract_lane(a, 3))));
  }
}

/**
 * dst [hp, wp] = src [h, w] placed with its (0, 0) at dst's (top, left), zeros elsewhere: dst[r][c] =
 * src[r − top][c − left] where that lies inside src. A negative top or left crops src. dst must not overlap src.
 */
export function fill_plane(dst: usize, hp: i32, wp: i32, src: usize, h: i32, w: i32, top: i32, left: i32): void {
  const r0 = max(0, top), r1 = min(hp, top + h), c0 = max(0, left), c1 = min(wp, left + w);
  if (r1 <= r0 || c1 <= c0) { zero_fill(dst, hp * wp); return; }
  const rs = <usize>wp << 2;
  zero_fill(dst, r0 * wp);
  let d = dst + <usize>r0 * rs;
  let s = src + (<usize>((r0 - top) * w + (c0 - left)) << 2);
  for (let r = r0; r < r1; r++) {
    zero_fill(d, c0);
    copy_row(d + (<usize>c0 << 2), s, c1 - c0);
    zero_fill(d + (<usize>c1 << 2), wp - c1);
    d += rs;
    s += <usize>w << 2;
  }
  zero_fill(d, (hp - r1) * wp);
}

/**
 * fill_plane with a ReLU mask: dst [hp, wp] = src ⊙ [mask > 0] placed at (top, left), zeros elsewhere; mask has
 * src's shape (the ReLU's output y: the gradient at its input is dY where y > 0, as act.ts relu_bwd_f32x4).
 */
export function fill_plane_masked(dst: usize, hp: i32, wp: i32, src: usize, mask: usize, h: i32, w: i32, top: i32, left: i32): void {
  const r0 = max(0, top), r1 = min(hp, top + h), c0 = max(0, left), c1 = min(wp, left + w);
  if (r1 <= r0 || c1 <= c0) { zero_fill(dst, hp * wp); return; }
  const rs = <usize>wp << 2, len = c1 - c0, z = f32x4.splat(0);
  zero_fill(dst, r0 * wp);
  let d = dst + <usize>r0 * rs;
  let o = <usize>((r0 - top) * w + (c0 - left)) << 2;
  for (let r = r0; r < r1; r++) {
    zero_fill(d, c0);
    const dd = d + (<usize>c0 << 2), s = src + o, m = mask + o;
    let x = 0;
    for (; x + 4 <= len; x += 4) {
      const q = <usize>x << 2;
      v128.store(dd + q, v128.and(v128.load(s + q), f32x4.gt(v128.load(m + q), z)));
    }
    if (x < len) {
      if (len >= 4) {
        const q = <usize>(len - 4) << 2;
        v128.store(dd + q, v128.and(v128.load(s + q), f32x4.gt(v128.load(m + q), z)));
      } else {
        for (; x < len; x++) {
          const q = <usize>x << 2;
          store<f32>(dd + q, load<f32>(m + q) > 0 ? load<f32>(s + q) : 0);
        }
      }
    }
    zero_fill(d + (<usize>c1 << 2), wp - c1);
    d += rs;
    o += <usize>w << 2;
  }
  zero_fill(d, (hp - r1) * wp);
}

/**
 * db[o] = beta·db[o] + Σ_{i < n, p < P} dY[i, o, p] for dY [n, co, P] (db_ptr == 0: nothing). Each image's
 * plane sums in f32x4 (two accumulators), the planes add up in f64; beta 0 overwrites (db never read).
 */
export function bias_grad(n: i32, co: i32, P: i32, dy_ptr: usize, db_ptr: usize, beta: f32): void {
  if (!db_ptr) return;
  const ys = <usize>(co * P) << 2, ps = <usize>P << 2;
  for (let o = 0; o < co; o++) {
    let s: f64 = 0;
    for (let i = 0; i < n; i++) {
      const r = dy_ptr + <usize>i * ys + <usize>o * ps;
      let a0 = f32x4.splat(0), a1 = a0;
      let j = 0;
      for (; j + 8 <= P; j += 8) {
        a0 = f32x4.add(a0, v128.load(r + (<usize>j << 2)));
        a1 = f32x4.add(a1, v128.load(r + (<usize>j << 2), 16));
      }
      for (; j + 4 <= P; j += 4) a0 = f32x4.add(a0, v128.load(r + (<usize>j << 2)));
      const a = f32x4.add(a0, a1);
      let t = (<f64>f32x4.extract_lane(a, 0) + <f64>f32x4.extract_lane(a, 1)) + (<f64>f32x4.extract_lane(a, 2) + <f64>f32x4.extract_lane(a, 3));
      for (; j < P; j++) t += <f64>load<f32>(r + (<usize>j << 2));
      s += t;
    }
    const q = db_ptr + (<usize>o << 2);
    store<f32>(q, beta == 0 ? <f32>s : <f32>(<f64>beta * <f64>load<f32>(q) + s));
  }
}
