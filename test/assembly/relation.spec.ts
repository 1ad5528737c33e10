// Relation loss kernels vs scalar references at tail-exercising sizes, with and without a row mask.
import { relation_fwd_f32x4, relation_bwd_f32x4 } from "../../assembly/kernels/relation";

const SIZES: i32[] = [1, 3, 5, 17, 64, 130];

let seed: u32 = 777;
function sym(): f32 {
  seed = seed * 1664525 + 1013904223;
  return <f32>(seed >>> 8) / <f32>8388608.0 - 1; // [-1, 1)
}

function close(a: f64, b: f64, rtol: f64, atol: f64): bool {
  return Math.abs(a - b) <= atol + rtol * Math.abs(b);
}

let bad: i32 = 0;
let firstBad: string = "";
let ctxM: i32 = 0, ctxN: i32 = 0;
function chk(ok: bool, tag: string, idx: i32, got: f64, want: f64): void {
  if (ok) return;
  if (bad == 0) firstBad = tag + " m=" + ctxM.toString() + " n=" + ctxN.toString() + " at " + idx.toString() + ": got " + got.toString() + ", want " + want.toString();
  bad++;
}
function done(): void {
  const b = bad, msg = firstBad;
  bad = 0;
  firstBad = "";
  expect(b).toBe(0, msg);
}

function check(m: i32, n: i32, masked: bool): void {
  ctxM = m; ctxN = n;
  const len = m * n;
  const a = new Float32Array(len), b = new Float32Array(len);
  for (let i = 0; i < len; i++) { a[i] = sym(); b[i] = sym(); }
  const k = new Float32Array(m);
  for (let i = 0; i < m; i++) k[i] = !masked ? 1 : i % 3 == 1 ? 0 : i % 3 == 2 ? 0.5 : 1;
  if (masked) for (let i = 0; i < m; i++) if (k[i] == 0) for (let j = 0; j < n; j++) { a[i * n + j] = NaN; b[i * n + j] = NaN; }
  const kp = masked ? k.dataStart : 0;
  let want: f64 = 0;
  for (let i = 0; i < m; i++) {
    if (!(k[i] > 0)) continue;
    for (let j = 0; j < n; j++) {
      const d = <f64>a[i * n + j] - <f64>b[i * n + j];
      want += 0.5 * <f64>k[i] * d * d;
    }
  }
  const got = relation_fwd_f32x4(m, n, a.dataStart, b.dataStart, kp);
  chk(close(<f64>got, want, 1e-5, 1e-7), "fwd", 0, got, want);
  const da = new Float32Array(len), db = new Float32Array(len);
  da.fill(NaN);
  db.fill(NaN);
  const scale: f32 = 0.4;
  relation_bwd_f32x4(m, n, a.dataStart, b.dataStart, kp, da.dataStart, db.dataStart, scale, 0);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    const e: f64 = k[i] > 0 ? <f64>scale * <f64>k[i] * (<f64>a[i * n + j] - <f64>b[i * n + j]) : 0;
    chk(close(<f64>da[i * n + j], e, 1e-6, 1e-7), "da", i * n + j, da[i * n + j], e);
    chk(close(<f64>db[i * n + j], -e, 1e-6, 1e-7), "db", i * n + j, db[i * n + j], -e);
  }
  // beta = 1 on the a side only; the b side (pointer 0) is skipped.
  const da1 = new Float32Array(len);
  for (let i = 0; i < len; i++) da1[i] = sym();
  const old = da1.slice();
  relation_bwd_f32x4(m, n, a.dataStart, b.dataStart, kp, da1.dataStart, 0, scale, 1);
  for (let i = 0; i < len; i++) chk(close(<f64>da1[i], <f64>old[i] + <f64>da[i], 1e-6, 1e-7), "da beta=1", i, da1[i], <f64>old[i] + <f64>da[i]);
  done();
}

describe("relation loss", () => {
  it("unmasked at tail sizes", () => {
    for (let s = 0; s < SIZES.length; s++) { check(2, SIZES[s], false); check(SIZES[s], 1, false); }
  });
  it("masked (missing rows hold NaN) at tail sizes", () => {
    for (let s = 0; s < SIZES.length; s++) { check(5, SIZES[s], true); check(SIZES[s], 1, true); check(SIZES[s], 3, true); }
  });
});
