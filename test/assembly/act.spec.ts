// Activations vs scalar float64 references at tail-exercising sizes; the element just past n must stay
// untouched, and backward beta = 0 must not read the NaN-filled gradient.
import {
  relu_fwd_f32x4, relu_bwd_f32x4, leaky_relu_fwd_f32x4, leaky_relu_bwd_f32x4, sigmoid_fwd_f32x4, sigmoid_bwd_f32x4,
  tanh_fwd_f32x4, tanh_bwd_f32x4, gelu_fwd_f32x4, gelu_bwd_f32x4, exp_fwd_f32x4, silu_fwd_f32x4, silu_bwd_f32x4,
} from "../../assembly/kernels/act";

const SIZES: i32[] = [1, 3, 5, 17, 64, 130];
const SENT: f32 = 12345;

let seed: u32 = 777;
function sym(): f32 {
  seed = seed * 1664525 + 1013904223;
  return <f32>(seed >>> 8) / <f32>8388608.0 - 1;
}

function rand(n: i32, scale: f32): Float32Array {
  const x = new Float32Array(n + 1);
  for (let i = 0; i < n; i++) x[i] = scale * sym();
  x[n] = SENT;
  return x;
}

function nanbuf(n: i32): Float32Array {
  const x = new Float32Array(n + 1);
  for (let i = 0; i < n; i++) x[i] = NaN;
  x[n] = SENT;
  return x;
}

function erf64(x: f64): f64 {
  const a = Math.abs(x);
  let v: f64 = 0;
  if (a < 2.5) {
    const z = a * a;
    let term = a, sum = a;
    for (let k = 1; k < 200; k++) {
      term *= -z / <f64>k;
      sum += term / <f64>(2 * k + 1);
    }
    v = sum * 2 / Math.sqrt(Math.PI);
  } else {
    let f = a;
    for (let k = 120; k >= 1; k--) f = a + <f64>k / 2 / f;
    v = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
  }
  return x < 0 ? -v : v;
}

function sigmoid64(x: f64): f64 {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

function cdf64(x: f64): f64 {
  return 0.5 * (1 + erf64(x * 0.7071067811865476));
}

/** Reference forward by kernel id. */
function ref(k: i32, x: f64, alpha: f64): f64 {
  if (k == 0) return x > 0 ? x : 0;
  if (k == 1) return x > 0 ? x : alpha * x;
  if (k == 2) return sigmoid64(x);
  if (k == 3) return Math.tanh(x);
  if (k == 4) return x * cdf64(x);
  if (k == 6) return x * sigmoid64(x);
  return Math.exp(x);
}

/** Reference derivative by kernel id. */
function dref(k: i32, x: f64, alpha: f64): f64 {
  if (k == 0) return x > 0 ? 1 : 0;
  if (k == 1) return x > 0 ? 1 : alpha;
  if (k == 2) return sigmoid64(x) * (1 - sigmoid64(x));
  if (k == 3) return 1 - Math.tanh(x) * Math.tanh(x);
  if (k == 6) return sigmoid64(x) * (1 + x * (1 - sigmoid64(x)));
  return cdf64(x) + x * Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
}

function fwd(k: i32, n: i32, x: usize, y: usize, alpha: f32): void {
  if (k == 0) relu_fwd_f32x4(n, x, y);
  else if (k == 1) leaky_relu_fwd_f32x4(n, x, y, alpha);
  else if (k == 2) sigmoid_fwd_f32x4(n, x, y);
  else if (k == 3) tanh_fwd_f32x4(n, x, y);
  else if (k == 4) gelu_fwd_f32x4(n, x, y);
  else if (k == 6) silu_fwd_f32x4(n, x, y);
  else exp_fwd_f32x4(n, x, y);
}

function bwd(k: i32, n: i32, xy: usize, dy: usize, dx: usize, beta: f32, alpha: f32): void {
  if (k == 0) relu_bwd_f32x4(n, xy, dy, dx, beta);
  else if (k == 1) leaky_relu_bwd_f32x4(n, xy, dy, dx, beta, alpha);
  else if (k == 2) sigmoid_bwd_f32x4(n, xy, dy, dx, beta);
  else if (k == 3) tanh_bwd_f32x4(n, xy, dy, dx, beta);
  else if (k == 6) silu_bwd_f32x4(n, xy, dy, dx, beta);
  else gelu_bwd_f32x4(n, xy, dy, dx, beta);
}

const NAMES: string[] = ["relu", "leaky_relu", "sigmoid", "tanh", "gelu", "exp", "silu"];
const ALPHA: f32 = 0.1;

describe("act", () => {
  it("forward vs float64 reference", () => {
    for (let k = 0; k < 7; k++) {
      for (let s = 0; s < SIZES.length; s++) {
        const n = SIZES[s];
        const x = rand(n, 6);
        const y = rand(n, 0);
        fwd(k, n, x.dataStart, y.dataStart, ALPHA);
        let bad = 0;
        for (let i = 0; i < n; i++) {
          const r = ref(k, <f64>x[i], <f64>ALPHA);
          if (!(Math.abs(<f64>y[i] - r) <= 1e-6 * Math.abs(r) + 1e-30)) bad++;
        }
        expect(bad).toBe(0, NAMES[k] + " fwd n=" + n.toString());
        expect(y[n]).toBe(SENT, NAMES[k] + " fwd wrote past n");
      }
    }
  });
  it("backward vs analytic float64 derivative, beta 0 (NaN dx) and beta 1", () => {
    for (let k = 0; k < 7; k++) {
      if (k == 5) continue; // exp has no backward kernel
      for (let s = 0; s < SIZES.length; s++) {
        const n = SIZES[s];
        const x = rand(n, 4);
        const y = rand(n, 0);
        fwd(k, n, x.dataStart, y.dataStart, ALPHA);
        // relu, sigmoid, tanh read the forward output; leaky_relu and gelu the input
        const from = k == 0 || k == 2 || k == 3 ? y : x;
        const dy = rand(n, 1);
        const dx = nanbuf(n);
        bwd(k, n, from.dataStart, dy.dataStart, dx.dataStart, 0, ALPHA);
        let bad = 0;
        for (let i = 0; i < n; i++) {
          const r = <f64>dy[i] * dref(k, <f64>x[i], <f64>ALPHA);
          if (!(Math.abs(<f64>dx[i] - r) <= 2e-6 * Math.abs(<f64>dy[i]) + 1e-7)) bad++;
        }
        expect(bad).toBe(0, NAMES[k] + " bwd n=" + n.toString());
        expect(dx[n]).toBe(SENT, NAMES[k] + " bwd wrote past n");
        const acc = rand(n, 1);
        const old = acc.slice();
        bwd(k, n, from.dataStart, dy.dataStart, acc.dataStart, 1, ALPHA);
        bad = 0;
        for (let i = 0; i < n; i++) if (!(Mathf.abs(acc[i] - (old[i] + dx[i])) <= 1e-6)) bad++;
        expect(bad).toBe(0, NAMES[k] + " bwd beta=1 n=" + n.toString());
      }
    }
  });
  it("no NaN or inf for |x| up to 1e4", () => {
    const x = new Float32Array(8);
    x[0] = 1e4; x[1] = -1e4; x[2] = 200; x[3] = -200; x[4] = 90; x[5] = -90; x[6] = 1; x[7] = -1;
    for (let k = 2; k < 7; k++) {
      if (k == 5) continue;
      const y = new Float32Array(8);
      fwd(k, 8, x.dataStart, y.dataStart, 0);
      let bad = 0;
      for (let i = 0; i < 8; i++) if (!isFinite(y[i])) bad++;
      expect(bad).toBe(0, NAMES[k] + " saturation");
    }
  });
});
