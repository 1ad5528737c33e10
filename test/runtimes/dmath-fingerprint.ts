// A cross-engine check of src/util/dmath.ts: every function on a fixed seeded sample of arguments (ordinary ranges,
// random bit patterns, huge arguments for sin/cos), hashed. Every runtime must produce Node's hash (tools/runtimes.mjs
// compares them); the same sample through the host's Math.* counts how often the engine's own functions differ from
// dmath (0 on Node 20, whose Math.* is the same fdlibm; not 0 on engines with another libm): the reason dmath exists.
import * as dmath from "../../src/util/dmath.ts";
import { mulberry32 } from "../../src/data/split.ts";
import { sha256Hex } from "./scenario.ts";

export const FINGERPRINT_SAMPLES = 20000;

export interface DmathFingerprint {
  sha256: string;
  samples: number;
  /** Per function: in how many samples the host's Math.<fn> differs from dmath.<fn> (bitwise). */
  mathDiffers: Record<string, number>;
}

export async function dmathFingerprint(n = FINGERPRINT_SAMPLES): Promise<DmathFingerprint> {
  const next = mulberry32(0x0d3a7);
  const f64 = new Float64Array(1), u32 = new Uint32Array(f64.buffer);
  const uniform = (lo: number, hi: number) => lo + (hi - lo) * (next() / 4294967296);
  const bits = () => {
    u32[0] = next();
    u32[1] = next();
    return f64[0];
  };
  const fns: [keyof typeof dmath & keyof Math, () => number][] = [
    ["exp", () => uniform(-50, 50)],
    ["log", () => (next() & 1 ? uniform(0, 4) : Math.abs(bits()))],
    ["log1p", () => uniform(-0.999, 8)],
    ["expm1", () => uniform(-5, 5)],
    ["tanh", () => uniform(-20, 20)],
    ["sin", () => (next() & 1 ? uniform(-10, 10) : bits())],
    ["cos", () => (next() & 1 ? uniform(-10, 10) : bits())],
  ];
  const out = new Float64Array(n * fns.length);
  const mathDiffers: Record<string, number> = {};
  fns.forEach(([name, gen], k) => {
    const ours = dmath[name] as (x: number) => number, host = Math[name] as (x: number) => number;
    let differ = 0;
    for (let i = 0; i < n; i++) {
      const x = gen(), y = ours(x), z = host(x);
      out[k * n + i] = y === y ? y : 12345.678; // NaN's bit pattern in a Float64Array is engine-defined: hash a stand-in
      if (!Object.is(y, z) && !(y !== y && z !== z)) differ++;
    }
    mathDiffers[name] = differ;
  });
  return { sha256: await sha256Hex(new Uint8Array(out.buffer)), samples: n, mathDiffers };
}
