// The search space: ranges found with their paths, checked with named errors, sampled as their kinds promise
// (log-uniform uniform in log space, int with both ends included, choice uniform), seeded per trial.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { drawValue, findRanges, firstRangePath, resolveRanges, sampleTrial } from "../../src/tune/space.ts";

const spec = {
  name: "s",
  architecture: { type: "hps", layers: [{ int: [4, 8] }] },
  training: { optimizer: { lr: { log_uniform: [1e-4, 1e-2] } }, weighting: { choice: [{ type: "static" }, { type: "uw" }, { type: "dwa" }] }, clip_grad_norm: { uniform: [-1, 3] } },
};

test("ranges are found in document order with SpecError-style paths, and resolved into a copy", () => {
  const rs = findRanges(spec);
  assert.equal(rs.map((r) => r.path), ["architecture.layers[0]", "training.optimizer.lr", "training.weighting", "training.clip_grad_norm"]);
  const c = resolveRanges(spec, rs, [5, 0.001, { type: "uw" }, 2]) as typeof spec & { training: { optimizer: { lr: number } } };
  assert.equal(c.architecture.layers, [5]);
  assert.is(c.training.optimizer.lr, 0.001);
  assert.equal(c.training.weighting, { type: "uw" });
  assert.equal(spec.architecture.layers, [{ int: [4, 8] }], "the input is not modified");
  assert.is(firstRangePath(spec), "architecture.layers[0]");
  assert.is(firstRangePath({ a: [1, { b: 2 }] }), null);
});

test("the sampled values honour each range's distribution", () => {
  const rs = findRanges(spec), N = 6000;
  const draws = Array.from({ length: N }, (_, i) => sampleTrial(rs, 7, i));
  // int [4, 8]: integers, both ends included, each ≈ 1/5.
  const counts = new Map<number, number>();
  for (const d of draws) counts.set(d[0] as number, (counts.get(d[0] as number) ?? 0) + 1);
  assert.equal([...counts.keys()].sort((a, b) => a - b), [4, 5, 6, 7, 8]);
  for (const c of counts.values()) assert.ok(Math.abs(c / N - 0.2) < 0.025, `int frequency ${c / N}`);
  // log_uniform [1e-4, 1e-2]: log10 uniform on [-4, -2): mean -3, half the draws below 1e-3 (a linear uniform gives ~9%).
  const l = draws.map((d) => Math.log10(d[1] as number));
  assert.ok(l.every((x) => x >= -4 && x < -2), "log_uniform inside [low, high)");
  const mean = l.reduce((a, b) => a + b, 0) / N, below = l.filter((x) => x < -3).length / N;
  assert.ok(Math.abs(mean + 3) < 0.03, `mean log10 ${mean}`);
  assert.ok(Math.abs(below - 0.5) < 0.03, `fraction below 1e-3: ${below}`);
  const varL = l.reduce((a, x) => a + (x - mean) ** 2, 0) / N; // uniform on an interval of 2: variance 4/12
  assert.ok(Math.abs(varL - 1 / 3) < 0.02, `variance of log10 ${varL}`);
  // choice: each ≈ 1/3. uniform [-1, 3): mean 1.
  for (const t of ["static", "uw", "dwa"]) assert.ok(Math.abs(draws.filter((d) => (d[2] as { type: string }).type === t).length / N - 1 / 3) < 0.03, t);
  const u = draws.map((d) => d[3] as number);
  assert.ok(u.every((x) => x >= -1 && x < 3));
  assert.ok(Math.abs(u.reduce((a, b) => a + b, 0) / N - 1) < 0.05);
});

test("the ends of each range: u = 0 gives low, u → 1 gives int's high (inclusive) and stays below the others' high", () => {
  const [units, lr, , clip] = findRanges(spec);
  const top = 1 - 2 ** -53;
  assert.is(drawValue(units, 0), 4);
  assert.is(drawValue(units, top), 8);
  assert.ok(Math.abs((drawValue(lr, 0) as number) - 1e-4) < 1e-18);
  assert.ok((drawValue(lr, top) as number) <= 1e-2);
  assert.is(drawValue(clip, 0), -1);
});

test("trials are seeded: the same (seed, trial) gives the same values, another seed or trial others", () => {
  const rs = findRanges(spec);
  assert.equal(sampleTrial(rs, 3, 5), sampleTrial(rs, 3, 5));
  assert.not.equal(sampleTrial(rs, 3, 5), sampleTrial(rs, 4, 5));
  assert.not.equal(sampleTrial(rs, 3, 5), sampleTrial(rs, 3, 6));
});

test("bad ranges are named errors with the field and what was expected", () => {
  const bad = (range: unknown, at: (r: unknown) => unknown, re: RegExp) => assert.throws(() => findRanges(at(range)), re);
  const lr = (r: unknown) => ({ training: { optimizer: { lr: r } } });
  bad({ log_uniform: [0, 1] }, lr, /training\.optimizer\.lr.*low > 0/);
  bad({ uniform: [2, 1] }, lr, /training\.optimizer\.lr.*low < high/);
  bad({ int: [1.5, 3] }, lr, /training\.optimizer\.lr.*two integers/);
  bad({ uniform: [1] }, lr, /two finite numbers/);
  bad({ choice: [] }, lr, /at least one value/);
  bad({ choice: 3 }, lr, /expected an array/);
  bad({ int: [1, 9] }, (r) => ({ training: { seed: r } }), /training\.seed.*split/);
  bad({ uniform: [0.1, 0.3] }, (r) => ({ training: { validation: r } }), /training\.validation.*split/);
  bad({ choice: ["a.csv", "b.csv"] }, (r) => ({ data: { path: r } }), /data\.path.*split/);
});

test.run();
