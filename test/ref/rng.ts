// Reference for the counter-based RNG (assembly/kernels/rng.ts): Philox-4x32-10 in plain TS and the
// exact mapping from (seed, element counter) to uniform / dropout / normal values. Uniform and dropout
// values are reproduced bit-exactly (their f32 arithmetic is emulated with Math.fround); normals are
// returned in float64 (the kernel's f64 log may differ from V8's in the last bit).

const M0 = 0xd2511f53, M1 = 0xcd9e8d57, W0 = 0x9e3779b9, W1 = 0xbb67ae85;

/** [hi, lo] 32-bit halves of the 64-bit product of two u32. */
function mulhilo(a: number, b: number): [number, number] {
  const lo = Math.imul(a, b) >>> 0;
  const ah = a >>> 16, al = a & 0xffff, bh = b >>> 16, bl = b & 0xffff;
  const ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  const hi = (hh + (lh >>> 16) + (hl >>> 16) + Math.floor(mid / 65536)) >>> 0;
  return [hi, lo];
}

/** Philox-4x32-10 of counter [c0, c1, c2, c3] under key [k0, k1] (Random123's definition). */
export function philox4x32_10(ctr: readonly number[], key: readonly number[]): number[] {
  let [c0, c1, c2, c3] = ctr.map((v) => v >>> 0);
  let [k0, k1] = key.map((v) => v >>> 0);
  for (let r = 0; r < 10; r++) {
    const [hi0, lo0] = mulhilo(M0, c0);
    const [hi1, lo1] = mulhilo(M1, c2);
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  return [c0, c1, c2, c3];
}

/** The u32 word behind uniform/dropout element counter c (c = u32(offset) + i, exact below 2^53). */
export function uniformWord(seedLo: number, seedHi: number, c: number): number {
  const b = Math.floor(c / 4);
  return philox4x32_10([b >>> 0, Math.floor(b / 2 ** 32) >>> 0, 0, 0], [seedLo, seedHi])[c % 4];
}

/** u = (w >>> 8)·2⁻²⁴. */
export const unit = (w: number) => (w >>> 8) * 2 ** -24;

/** The largest f32 below h. */
export function prevF32(h: number): number {
  const f = new Float32Array([h]);
  const u = new Uint32Array(f.buffer);
  if (h > 0) u[0] -= 1;
  else if (h === 0) u[0] = 0x80000001;
  else u[0] += 1;
  return f[0];
}

/** Bit-exact rng_uniform_f32. */
export function uniformRef(n: number, seedLo: number, seedHi: number, offset: number, lo: number, hi: number): Float32Array {
  const out = new Float32Array(n);
  const f = Math.fround;
  lo = f(lo);
  hi = f(hi);
  const d = f(hi - lo);
  for (let i = 0; i < n; i++) {
    let r = f(lo + f(d * unit(uniformWord(seedLo, seedHi, (offset >>> 0) + i))));
    if (hi > lo && r >= hi) r = prevF32(hi);
    out[i] = r;
  }
  return out;
}

/** Bit-exact dropout mask: (u ≥ p) ? 1/(1 − p) (in f32) : 0. */
export function dropoutMaskRef(n: number, seedLo: number, seedHi: number, offset: number, p: number): Float32Array {
  const f = Math.fround;
  p = f(p);
  const scale = p < 1 ? f(1 / f(1 - p)) : 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = unit(uniformWord(seedLo, seedHi, (offset >>> 0) + i)) >= p ? scale : 0;
  return out;
}

/** rng_normal_f32 in float64 (before the final rounding to f32). */
export function normalRef(n: number, seedLo: number, seedHi: number, offset: number, mean: number, std: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = (offset >>> 0) + i;
    const b = Math.floor(c / 2);
    const w = philox4x32_10([b >>> 0, Math.floor(b / 2 ** 32) >>> 0, 1, 0], [seedLo, seedHi]);
    const h = c % 2;
    const u1 = (w[2 * h] + 1) * 2 ** -32;
    const u2 = w[2 * h + 1] * 2 ** -32;
    out[i] = Math.fround(mean) + Math.fround(std) * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  return out;
}
