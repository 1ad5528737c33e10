// Float64 references for 2-D max / average pooling over NCHW (assembly/kernels/pool.ts), from the
// definition: every window tap visited in row-major order, padding taps skipped.

export interface PoolDims {
  n: number; c: number; h: number; w: number; kh: number; kw: number; stride_h: number; stride_w: number;
  pad_top: number; pad_left: number; pad_bottom: number; pad_right: number; dil_h: number; dil_w: number; h_out: number; w_out: number;
}

/** The field order of Pool2dParams (abi.ts). */
export const POOL_FIELDS = ["n", "c", "h", "w", "kh", "kw", "stride_h", "stride_w", "pad_top", "pad_left", "pad_bottom", "pad_right", "dil_h", "dil_w", "h_out", "w_out"] as const;

export function poolDims(n: number, c: number, h: number, w: number, kh: number, kw: number, stride: [number, number], pads: [number, number, number, number] = [0, 0, 0, 0], dil: [number, number] = [1, 1]): PoolDims {
  const [pt, pl, pb, pr] = pads;
  const h_out = Math.floor((h + pt + pb - dil[0] * (kh - 1) - 1) / stride[0]) + 1;
  const w_out = Math.floor((w + pl + pr - dil[1] * (kw - 1) - 1) / stride[1]) + 1;
  return { n, c, h, w, kh, kw, stride_h: stride[0], stride_w: stride[1], pad_top: pt, pad_left: pl, pad_bottom: pb, pad_right: pr, dil_h: dil[0], dil_w: dil[1], h_out, w_out };
}

/** The in-input taps (plane index iy·w + ix) of window (oy, ox), in row-major window order. */
function taps(d: PoolDims, oy: number, ox: number): number[] {
  const t: number[] = [];
  for (let ky = 0; ky < d.kh; ky++) {
    const iy = oy * d.stride_h - d.pad_top + ky * d.dil_h;
    if (iy < 0 || iy >= d.h) continue;
    for (let kx = 0; kx < d.kw; kx++) {
      const ix = ox * d.stride_w - d.pad_left + kx * d.dil_w;
      if (ix >= 0 && ix < d.w) t.push(iy * d.w + ix);
    }
  }
  return t;
}

/** Max pool: y and the argmax plane index (first maximum in window order; a NaN beats numbers). */
export function maxPoolFwd(d: PoolDims, x: ArrayLike<number>): { y: Float64Array; idx: Int32Array } {
  const P = d.h_out * d.w_out, y = new Float64Array(d.n * d.c * P), idx = new Int32Array(d.n * d.c * P);
  for (let q = 0; q < d.n * d.c; q++)
    for (let oy = 0; oy < d.h_out; oy++)
      for (let ox = 0; ox < d.w_out; ox++) {
        let best = -Infinity, bi = -1;
        for (const t of taps(d, oy, ox)) {
          const v = x[q * d.h * d.w + t];
          if (bi < 0 || v > best || (Number.isNaN(v) && !Number.isNaN(best))) { best = v; bi = t; }
        }
        y[q * P + oy * d.w_out + ox] = best;
        idx[q * P + oy * d.w_out + ox] = bi;
      }
  return { y, idx };
}

/** Average pool; includePad: divide by kh·kw, else by the taps inside the input. */
export function avgPoolFwd(d: PoolDims, x: ArrayLike<number>, includePad: boolean): Float64Array {
  const P = d.h_out * d.w_out, y = new Float64Array(d.n * d.c * P);
  for (let q = 0; q < d.n * d.c; q++)
    for (let oy = 0; oy < d.h_out; oy++)
      for (let ox = 0; ox < d.w_out; ox++) {
        const t = taps(d, oy, ox);
        let s = 0;
        for (const j of t) s += x[q * d.h * d.w + j];
        const cnt = includePad ? d.kh * d.kw : t.length;
        y[q * P + oy * d.w_out + ox] = cnt ? s / cnt : 0;
      }
  return y;
}

/** Σ r ⊙ pool(x): the objective for finite differences. */
export function poolObjective(y: ArrayLike<number>, r: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += r[i] * y[i];
  return s;
}
