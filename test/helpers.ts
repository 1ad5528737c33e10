// Shared test utilities: load the built artifact, a seeded RNG, float64 finite differences and
// closeness assertions that report the first offending index.
import { readFileSync } from "node:fs";
import * as assert from "uvu/assert";
import { fileURLToPath } from "node:url";
import { loadKernels, type Kernels } from "../src/runtime/load.ts";
import { Arena } from "../src/runtime/heap.ts";

/** The artifact under test; MTL_WASM overrides it (e.g. a private build while others edit assembly/). */
export const WASM_PATH = process.env.MTL_WASM ?? fileURLToPath(new URL("../build/mtl.wasm", import.meta.url));

let cached: Promise<WebAssembly.Module> | null = null;

/** A fresh instance of build/mtl.wasm (own memory) and an arena over it. Run `npm run build` first. */
export async function setup(): Promise<{ k: Kernels; arena: Arena; call: (name: string, ...args: number[]) => number }> {
  cached ??= WebAssembly.compile(readFileSync(WASM_PATH));
  const k = await loadKernels(await cached);
  const arena = new Arena(k);
  const call = (name: string, ...args: number[]) => {
    const f = k[name];
    if (typeof f !== "function") throw new Error(`kernel ${name} is not exported by build/mtl.wasm`);
    return (f as (...a: number[]) => number)(...args);
  };
  return { k, arena, call };
}

/** Seeded PRNG (mulberry32): the same seed gives the same stream everywhere. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(lo = -1, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  /** n values rounded to f32 (so the f64 reference sees exactly what wasm sees). */
  f32(n: number, gen: () => number = () => this.uniform()): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = gen();
    return a;
  }
}

/**
 * Central finite differences of a float64 scalar function: g[i] = (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h.
 * `x` is restored afterwards.
 */
export function finiteDiff(f: (x: Float64Array) => number, x: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i];
    x[i] = xi + h;
    const fp = f(x);
    x[i] = xi - h;
    const fm = f(x);
    x[i] = xi;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/** ‖a − b‖₂ / max(‖a‖₂, ‖b‖₂, floor): the relative error of two gradients. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-12): number {
  if (a.length !== b.length) throw new Error(`relErr: lengths ${a.length} and ${b.length} differ`);
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    na += a[i] ** 2;
    nb += b[i] ** 2;
  }
  return Math.sqrt(d) / Math.max(Math.sqrt(na), Math.sqrt(nb), floor);
}

/** Throw unless |a[i] − b[i]| ≤ atol + rtol·|b[i]| for every i; the message names the first failure. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, opts: { rtol?: number; atol?: number; name?: string } = {}): void {
  const { rtol = 1e-5, atol = 1e-6, name = "value" } = opts;
  if (actual.length !== expected.length) throw new Error(`${name}: length ${actual.length}, expected ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`${name}[${i}] = ${a}, expected ${e} (|diff| ${Math.abs(a - e)} > atol ${atol} + rtol ${rtol}·|expected|)`);
    }
  }
}

/** Throw unless relErr(actual, expected) ≤ tol. */
export function assertRelErr(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, name = "gradient"): void {
  const e = relErr(actual, expected);
  if (!(e <= tol)) throw new Error(`${name}: relative error ${e.toExponential(3)} > ${tol}`);
}

export const toF64 = (a: ArrayLike<number>) => Float64Array.from(a);

/** Run `fn`, which must throw; the message must contain every part. Returns the message. */
export function throwsWith(fn: () => unknown, ...parts: string[]): string {
  try {
    fn();
  } catch (e) {
    const m = (e as Error).message;
    for (const p of parts) assert.ok(m.includes(p), `message ${JSON.stringify(m)} lacks ${JSON.stringify(p)}`);
    return m;
  }
  assert.unreachable("expected an error");
  return "";
}

/** Await `p`, which must reject; the message must contain every string part and match every RegExp. Returns it. */
export async function rejects(p: Promise<unknown>, ...parts: (string | RegExp)[]): Promise<string> {
  try {
    await p;
  } catch (e) {
    const msg = (e as Error).message;
    for (const part of parts) {
      if (typeof part === "string" ? !msg.includes(part) : !part.test(msg)) assert.unreachable(`message ${JSON.stringify(msg)} lacks ${part}`);
    }
    return msg;
  }
  assert.unreachable("expected an error");
  return "";
}

/** Sentinel elements written after every output buffer of a kernel test, and their value. */
export const GUARD = 8;
export const SENTINEL = 12345.5;

/**
 * Output buffers with a sentinel guard for kernel tests: `out(n, fill)` allocates n elements (filled with `fill`;
 * NaN = garbage a kernel must not read) plus GUARD sentinels; `guardIntact(p, n, name)` fails if a kernel wrote past n.
 */
export function guarded(arena: Arena): { out(n: number, fill?: number | Float32Array): number; guardIntact(p: number, n: number, name: string): void } {
  return {
    out(n, fill = NaN) {
      const p = arena.alloc(n + GUARD);
      const v = arena.f32(p, n + GUARD);
      if (typeof fill === "number") v.fill(fill, 0, n);
      else v.set(fill);
      v.fill(SENTINEL, n);
      return p;
    },
    guardIntact(p, n, name) {
      const g = arena.readF32(p + 4 * n, GUARD);
      for (let i = 0; i < GUARD; i++) assert.is(g[i], SENTINEL, `${name}: wrote past its end (guard ${i} = ${g[i]})`);
    },
  };
}
