// Float64 references for the NCHW 2-D convolution (assembly/kernels/conv.ts): the direct 7-loop sum,
// written from the definition (no im2col), and its adjoints by the same loops run backwards.

/** Dims of a convolution, as in abi.ts Conv2dParams. */
export interface ConvDims {
  n: number; c_in: number; h: number; w: number; c_out: number; kh: number; kw: number;
  stride_h: number; stride_w: number; pad_top: number; pad_left: number; pad_bottom: number; pad_right: number;
  dil_h: number; dil_w: number; h_out: number; w_out: number;
}

/** The field order of Conv2dParams (abi.ts): the i32 words the kernels read. */
export const CONV_FIELDS = ["n", "c_in", "h", "w", "c_out", "kh", "kw", "stride_h", "stride_w", "pad_top", "pad_left", "pad_bottom", "pad_right", "dil_h", "dil_w", "h_out", "w_out"] as const;

export type Padding = "valid" | "same" | [number, number, number, number]; // explicit: [top, left, bottom, right]

/**
 * Resolve padding and output sizes (what the TS side does): valid = no padding; same = output ⌈in/stride⌉
 * with the total padding split evenly, the extra one at the end (bottom/right, as ONNX SAME_UPPER / TF).
 */
export function convDims(n: number, c_in: number, h: number, w: number, c_out: number, kh: number, kw: number, stride: [number, number], dil: [number, number], padding: Padding): ConvDims {
  const [sh, sw] = stride, [dh, dw] = dil;
  let pads: [number, number, number, number];
  if (padding === "valid") pads = [0, 0, 0, 0];
  else if (padding === "same") {
    const tot = (len: number, k: number, s: number, d: number) => Math.max(0, (Math.ceil(len / s) - 1) * s + d * (k - 1) + 1 - len);
    const th = tot(h, kh, sh, dh), tw = tot(w, kw, sw, dw);
    pads = [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
  } else pads = padding;
  const [pt, pl, pb, pr] = pads;
  const h_out = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const w_out = Math.floor((w + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  return { n, c_in, h, w, c_out, kh, kw, stride_h: sh, stride_w: sw, pad_top: pt, pad_left: pl, pad_bottom: pb, pad_right: pr, dil_h: dh, dil_w: dw, h_out, w_out };
}

/** Y = act(conv(X, W) + b): X [n, c_in, h, w], W [c_out, c_in, kh, kw], b [c_out] or null. */
export function convFwd(d: ConvDims, x: ArrayLike<number>, wt: ArrayLike<number>, b: ArrayLike<number> | null, act: 0 | 1): Float64Array {
  const y = new Float64Array(d.n * d.c_out * d.h_out * d.w_out);
  for (let i = 0; i < d.n; i++)
    for (let o = 0; o < d.c_out; o++)
      for (let oy = 0; oy < d.h_out; oy++)
        for (let ox = 0; ox < d.w_out; ox++) {
          let s = b ? b[o] : 0;
          for (let c = 0; c < d.c_in; c++)
            for (let ky = 0; ky < d.kh; ky++) {
              const iy = oy * d.stride_h + ky * d.dil_h - d.pad_top;
              if (iy < 0 || iy >= d.h) continue;
              for (let kx = 0; kx < d.kw; kx++) {
                const ix = ox * d.stride_w + kx * d.dil_w - d.pad_left;
                if (ix < 0 || ix >= d.w) continue;
                s += x[((i * d.c_in + c) * d.h + iy) * d.w + ix] * wt[((o * d.c_in + c) * d.kh + ky) * d.kw + kx];
              }
            }
          y[((i * d.c_out + o) * d.h_out + oy) * d.w_out + ox] = act === 1 ? Math.max(s, 0) : s;
        }
  return y;
}

/** The gradients of Σ dY ⊙ conv(X, W) + b: dX [n, c_in, h, w], dW [c_out, c_in, kh, kw], db [c_out]. */
export function convBwd(d: ConvDims, x: ArrayLike<number>, wt: ArrayLike<number>, dy: ArrayLike<number>): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const dx = new Float64Array(d.n * d.c_in * d.h * d.w), dw = new Float64Array(d.c_out * d.c_in * d.kh * d.kw), db = new Float64Array(d.c_out);
  for (let i = 0; i < d.n; i++)
    for (let o = 0; o < d.c_out; o++)
      for (let oy = 0; oy < d.h_out; oy++)
        for (let ox = 0; ox < d.w_out; ox++) {
          const g = dy[((i * d.c_out + o) * d.h_out + oy) * d.w_out + ox];
          db[o] += g;
          for (let c = 0; c < d.c_in; c++)
            for (let ky = 0; ky < d.kh; ky++) {
              const iy = oy * d.stride_h + ky * d.dil_h - d.pad_top;
              if (iy < 0 || iy >= d.h) continue;
              for (let kx = 0; kx < d.kw; kx++) {
                const ix = ox * d.stride_w + kx * d.dil_w - d.pad_left;
                if (ix < 0 || ix >= d.w) continue;
                const xi = ((i * d.c_in + c) * d.h + iy) * d.w + ix, wi = ((o * d.c_in + c) * d.kh + ky) * d.kw + kx;
                dx[xi] += g * wt[wi];
                dw[wi] += g * x[xi];
              }
            }
        }
  return { dx, dw, db };
}

/** Σ r ⊙ act(conv(X, W) + b): the scalar objective whose gradients the backward kernels compute. */
export function convObjective(d: ConvDims, x: ArrayLike<number>, wt: ArrayLike<number>, b: ArrayLike<number>, act: 0 | 1, r: ArrayLike<number>): number {
  const y = convFwd(d, x, wt, b, act);
  let s = 0;
  for (let i = 0; i < y.length; i++) s += r[i] * y[i];
  return s;
}
