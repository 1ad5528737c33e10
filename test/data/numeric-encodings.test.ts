// Numeric encodings (src/data/numeric-encodings.ts, spec inputs.numeric_encodings) against float64 references written
// here: the normal quantile function against published values; the quantile transform against scikit-learn's
// QuantileTransformer formula (numpy-linear quantiles, np.interp averaged forwards and backwards, bounds to 0 and 1);
// piecewise-linear encoding against the paper's definition; missing cells and indicators; statistics from the
// training rows only; the spec's forms, defaults, errors and its normalization (unchanged for existing specs).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { Rng } from "../helpers.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { Table } from "../../src/data/table.ts";
import { encode, fitPreprocessing, dataDims } from "../../src/data/preprocess.ts";
import { normalQuantile } from "../../src/data/numeric-encodings.ts";

// ---- float64 references ---------------------------------------------------------------------------------------

/** numpy.percentile's default (linear) quantile of unsorted values. */
function npQuantile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b), h = (s.length - 1) * p, lo = Math.floor(h);
  return s[lo] + (h - lo) * (s[Math.min(lo + 1, s.length - 1)] - s[lo]);
}

/** numpy.interp(x, xp, fp) for increasing (possibly repeated) xp: the last segment whose left end is ≤ x. */
function npInterp(x: number, xp: number[], fp: number[]): number {
  if (x <= xp[0]) return fp[0];
  if (x >= xp[xp.length - 1]) return fp[fp.length - 1];
  let j = 0;
  while (xp[j + 1] <= x) j++;
  return fp[j] + ((x - xp[j]) * (fp[j + 1] - fp[j])) / (xp[j + 1] - xp[j]);
}

/** scikit-learn's QuantileTransformer(n_quantiles, output_distribution="uniform").transform of x, in float64. */
function sklearnUniform(train: number[], nq: number, x: number): number {
  const levels = Array.from({ length: nq }, (_, i) => i / (nq - 1));
  const q = levels.map((p) => npQuantile(train, p));
  if (x - 1e-7 < q[0]) return 0;
  if (x + 1e-7 > q[nq - 1]) return 1;
  const fwd = npInterp(x, q, levels);
  const bwd = -npInterp(-x, [...q].reverse().map((v) => -v), [...levels].reverse().map((v) => -v));
  return 0.5 * (fwd + bwd);
}

/** Piecewise-linear encoding (Gorishniy et al. 2022, eq. 2) of x over edges b_0 < … < b_T. */
function pleRef(b: number[], x: number): number[] {
  const T = b.length - 1;
  return Array.from({ length: T }, (_, i) => {
    const t = i + 1;
    if (x < b[t - 1] && t > 1) return 0;
    if (x >= b[t] && t < T) return 1;
    return (x - b[t - 1]) / (b[t] - b[t - 1]);
  });
}

const ids = (n: number) => Uint32Array.from({ length: n }, (_, i) => i);
const tableOf = (name: string, col: string, values: (number | string)[]) => Table.fromRecords(name, values.map((v) => ({ [col]: typeof v === "number" ? String(v) : v, y: "1" })));
const taskY = [{ name: "y", type: "binary", label: "y" }];

// ---- tests -------------------------------------------------------------------------------------------------------

test("normalQuantile equals Φ⁻¹ to 1e−9 (Python's statistics.NormalDist, Wichura's AS 241; tails included)", () => {
  const known: [number, number][] = [[0.5, 0], [0.975, 1.959963984540054], [0.995, 2.5758293035489004], [0.999, 3.090232306167813], [0.9, 1.2815515655446004], [0.75, 0.6744897501960817], [1e-7, -5.199337582192817], [0.01, -2.3263478740408408]];
  for (const [p, z] of known) {
    assert.ok(Math.abs(normalQuantile(p) - z) <= 1e-9 * Math.max(1, Math.abs(z)), `Φ⁻¹(${p}) = ${normalQuantile(p)}, expected ${z}`);
    assert.ok(Math.abs(normalQuantile(1 - p) + z) <= 1e-8 * Math.max(1, Math.abs(z)), `Φ⁻¹(${1 - p}) is not −Φ⁻¹(${p})`);
  }
  assert.throws(() => normalQuantile(0), /p must be in \(0, 1\), got 0/);
});

// Training values with point masses: many zeros (the minimum), a repeated interior value and a repeated maximum.
function massTrain(n: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const u = rng.next();
    return u < 0.35 ? 0 : u < 0.45 ? 7 : u < 0.5 ? 40 : Math.round(1000 * Math.exp(rng.normal())) / 100;
  });
}

test("quantile (uniform) equals scikit-learn's transform at every knot and inside every bin between distinct quantiles", () => {
  const train = massTrain(500, 1), nq = 50;
  const spec = validateSpec({ inputs: { numeric: [{ column: "x", encoding: "quantile", quantiles: nq }] }, tasks: taskY });
  const pre = fitPreprocessing(spec, tableOf("train", "x", train), ids(train.length));
  const s = pre.numeric[0];
  const levels = Array.from({ length: nq }, (_, i) => i / (nq - 1)), q = levels.map((p) => npQuantile(train, p));
  // Probes: each distinct quantile, the midpoints of bins whose ends are not repeated quantiles, and values outside.
  const probes: number[] = [...new Set(q.map(Math.fround))], mids: number[] = [];
  for (let i = 1; i < nq - 2; i++) if (q[i - 1] < q[i] && q[i] < q[i + 1] && q[i + 1] < q[i + 2]) mids.push((q[i] + q[i + 1]) / 2);
  assert.ok(mids.length >= 20, `only ${mids.length} interior bins`);
  const all = [...probes, ...mids, -5, 1e6];
  const enc = encode(spec, pre, tableOf("probe", "x", all.map((v) => String(v))));
  all.forEach((x, i) => {
    const want = sklearnUniform(train, nq, Math.fround(x));
    assert.ok(Math.abs(enc.numeric[i] - want) <= 2e-6, `x = ${x}: ${enc.numeric[i]}, scikit-learn ${want}`);
  });
  // The zeros (35% of the rows, the minimum) map to 0 as in scikit-learn; the interior mass 7 to its levels' midpoint.
  assert.is(enc.numeric[all.indexOf(0)], 0);
  assert.ok(s.knots!.includes(7) && s.knots!.every((v, i) => i === 0 || v > s.knots![i - 1]), "knots are the distinct quantiles");
});

test("quantile (normal) is Φ⁻¹ of the uniform level at the knots, linear between them, clipped at ±5.199", () => {
  const rng = new Rng(3), train = Array.from({ length: 300 }, () => rng.normal() * 4 + 1);
  const spec = validateSpec({ inputs: { numeric: ["x"], numeric_encoding: { type: "quantile", output: "normal", quantiles: 30 } }, tasks: taskY });
  const pre = fitPreprocessing(spec, tableOf("train", "x", train.map((v) => v.toFixed(4))), ids(300));
  const knots = pre.numeric[0].knots!;
  const read = train.map((v) => +v.toFixed(4));
  const probes = [...knots, (knots[3] + knots[4]) / 2, -100, 100];
  const enc = encode(spec, pre, tableOf("probe", "x", probes.map(String)));
  const z = (x: number) => normalQuantile(Math.min(1 - 1e-7, Math.max(1e-7, sklearnUniform(read, 30, x))));
  knots.forEach((x, i) => assert.ok(Math.abs(enc.numeric[i] - z(x)) <= 3e-6, `knot ${x}: ${enc.numeric[i]} vs ${z(x)}`));
  const mid = (z(knots[3]) + z(knots[4])) / 2;
  assert.ok(Math.abs(enc.numeric[knots.length] - mid) <= 3e-6, `between knots 3 and 4: ${enc.numeric[knots.length]} vs ${mid}`);
  assert.ok(Math.abs(enc.numeric[knots.length + 1] + 5.199337582) < 1e-5 && Math.abs(enc.numeric[knots.length + 2] - 5.199337582) < 1e-5, "outside the range: the clipped extremes");
});

test("ple equals the paper's piecewise-linear encoding over the training quantile edges (unbounded first and last bins)", () => {
  const rng = new Rng(5), train = Array.from({ length: 400 }, () => Math.round(rng.normal() * 1000) / 100);
  const spec = validateSpec({ inputs: { numeric: [{ column: "x", encoding: "ple", bins: 6 }] }, tasks: taskY });
  const pre = fitPreprocessing(spec, tableOf("train", "x", train.map(String)), ids(400));
  const edges = Array.from({ length: 7 }, (_, t) => Math.fround(npQuantile(train, t / 6)));
  assert.equal(pre.numeric[0].edges, edges);
  const probes = [-50, edges[0], -1.234, 0, edges[3], 0.5, 3.3, edges[6], 42];
  const enc = encode(spec, pre, tableOf("probe", "x", probes.map(String)));
  assert.is(dataDims(spec, pre).numeric, 6);
  probes.forEach((x, r) => {
    const want = pleRef(edges, Math.fround(x));
    want.forEach((v, t) => assert.ok(Math.abs(enc.numeric[r * 6 + t] - v) <= 1e-6 * Math.max(1, Math.abs(v)), `x = ${x}, bin ${t + 1}: ${enc.numeric[r * 6 + t]} vs ${v}`));
  });
  // Repeated quantiles merge: the 7 quantiles of this column are 1 (×4) and 5 (×3), one bin whatever `bins` says.
  const few = fitPreprocessing(spec, tableOf("train", "x", [1, 1, 1, 1, 1, 5, 5, 5, 5]), ids(9));
  assert.equal(few.numeric[0].edges, [1, 5]);
});

test("statistics come from the training rows only; a missing cell is encoded as the training mean", () => {
  const values = [1, 2, 3, 4, 5, 6, 7, 8, 100, 200];
  const spec = validateSpec({ inputs: { numeric: ["x"], numeric_encoding: { type: "ple", bins: 4 } }, tasks: taskY });
  const t = tableOf("t", "x", values);
  const pre = fitPreprocessing(spec, t, Uint32Array.of(0, 1, 2, 3, 4, 5, 6, 7));
  assert.equal(pre.numeric[0].edges, [1, 2.75, 4.5, 6.25, 8]);
  assert.is(pre.numeric[0].mean, 4.5);
  const enc = encode(spec, pre, tableOf("p", "x", ["?", 4.5]));
  assert.equal(Array.from(enc.numeric.subarray(0, 4)), Array.from(enc.numeric.subarray(4, 8)), "a missing cell encodes as the mean 4.5");
});

test("missing indicators: only columns that asked and have missing training cells; 1 where missing", () => {
  const spec = validateSpec({ inputs: { numeric: ["a", { column: "b", missing_indicator: false }, "c"], missing_indicator: true, missing: ["?"] }, tasks: taskY });
  assert.equal(spec.inputs.numeric_encodings!.map((e) => e.missing_indicator), [true, false, true]);
  const t = Table.fromRecords("t", [{ a: "1", b: "?", c: "3", y: "1" }, { a: "?", b: "2", c: "4", y: "0" }, { a: "3", b: "5", c: "5", y: "1" }]);
  const pre = fitPreprocessing(spec, t, ids(3));
  assert.equal(pre.numeric.map((s) => s.indicator ?? false), [true, false, false]);
  const enc = encode(spec, pre, t);
  // [a, b, c standardized | indicator of a]; a's missing cell is its mean 2, standardized 0.
  assert.is(dataDims(spec, pre).numeric, 4);
  assert.equal(Array.from(enc.numeric.filter((_, i) => i % 4 === 3)), [0, 1, 0]);
  assert.is(enc.numeric[4], 0);
  assert.is(enc.numeric[0], -1, "a = 1 standardized with the present values' mean 2 and std 1");
});

test("spec: defaults, per-column overrides, normalization round trip; existing specs normalize as before", () => {
  // The shipped census config encodes every numeric column periodically; without that line it is a plain spec.
  const shipped = JSON.parse(readFileSync("models/census-mmoe.json", "utf8"));
  assert.equal(validateSpec(shipped).inputs.numeric_encodings!.map((e) => e.encoding), shipped.inputs.numeric.map(() => "periodic"));
  const { numeric_encoding: _, ...plainInputs } = shipped.inputs;
  const census = { ...shipped, inputs: plainInputs };
  const plain = validateSpec(census);
  assert.not.ok("numeric_encodings" in plain.inputs, "a spec without encodings gets no numeric_encodings (model.json unchanged)");
  assert.equal(plain.inputs.numeric, census.inputs.numeric);
  assert.not.ok("numeric_encodings" in validateSpec({ ...census, inputs: { ...census.inputs, numeric_encoding: "standardize", missing_indicator: false } }).inputs);
  const s = validateSpec({ inputs: { numeric: ["a", { column: "b", encoding: "ple", bins: 3 }, { column: "c", encoding: "quantile" }, { column: "d", sigma: 2 }], numeric_encoding: { type: "periodic", frequencies: 4 } }, tasks: taskY });
  assert.equal(s.inputs.numeric, ["a", "b", "c", "d"]);
  assert.equal(s.inputs.numeric_encodings, [
    { column: "a", encoding: "periodic", frequencies: 4, sigma: 0.1, missing_indicator: false },
    { column: "b", encoding: "ple", bins: 3, missing_indicator: false },
    { column: "c", encoding: "quantile", quantiles: 1000, output: "uniform", missing_indicator: false },
    { column: "d", encoding: "periodic", frequencies: 4, sigma: 2, missing_indicator: false },
  ]);
  assert.equal(validateSpec(JSON.parse(JSON.stringify(s))), s, "the normalized spec validates to itself");
});

test("spec errors name the path and what was expected", () => {
  const bad = (inputs: Record<string, unknown>) => {
    try {
      validateSpec({ inputs, tasks: taskY });
    } catch (e) {
      return (e as Error).message;
    }
    return "no error";
  };
  assert.match(bad({ numeric: ["a"], numeric_encoding: "splines" }), /inputs\.numeric_encoding: "splines" is not one of standardize, quantile, ple, periodic/);
  assert.match(bad({ numeric: [{ column: "a", encoding: "quantile", bins: 4 }] }), /inputs\.numeric\[0\]\.bins: is not an option of encoding "quantile" \(its options: quantiles, output\)/);
  assert.match(bad({ numeric: [{ column: "a", encoding: "ple", bins: 0 }] }), /inputs\.numeric\[0\]\.bins: must be an integer in \[1, 4096\], got 0/);
  assert.match(bad({ numeric: [{ column: "a", encoding: "periodic", sigma: -1 }] }), /inputs\.numeric\[0\]\.sigma: must be > 0, found -1/);
  assert.match(bad({ numeric: [{ column: "a", encoding: "quantile", output: "gaussian" }] }), /inputs\.numeric\[0\]\.output: "gaussian" is not one of uniform, normal/);
  assert.match(bad({ numeric: [{ colum: "a" }] }), /inputs\.numeric\[0\]\.colum: unknown key/);
  assert.match(bad({ numeric: ["a", "b"], numeric_encodings: [{ column: "a", encoding: "ple", bins: 2 }] }), /inputs\.numeric_encodings: expected an array of 2 encodings, one per inputs\.numeric column, found 1/);
  assert.match(bad({ numeric: ["a"], numeric_encodings: [{ column: "b", encoding: "ple", bins: 2 }] }), /inputs\.numeric_encodings\[0\]\.column: is "b", but inputs\.numeric\[0\] is "a"/);
  assert.match(bad({ numeric: ["a", { column: "a", encoding: "ple" }] }), /inputs\.numeric\[1\]: column "a" is already used at inputs\.numeric\[0\]/);
});

test.run();
