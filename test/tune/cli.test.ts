// mtl tune end to end on a tiny synthetic CSV (lr log-uniform, units int): the schedule in tune.csv (6 trials → 2 at
// the last rung), reproducibility (same seed → same rows; --threads 2 → the same rows), best.json validates and,
// trained by train() for the full epochs on one thread, reproduces the tuned metric; named errors.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WASM_PATH } from "../helpers.ts";
import { main } from "../../src/cli/main.ts";
import { train } from "../../src/api/train.ts";
import { validateSpec } from "../../src/model/spec.ts";

const compiled = WebAssembly.compile(readFileSync(WASM_PATH));
const dir = mkdtempSync(join(tmpdir(), "mtl-tune-"));

async function run(argv: string[]) {
  const out: string[] = [], err: string[] = [];
  const code = await main(argv, () => compiled, { log: (s) => out.push(s), error: (s) => err.push(s) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

// 400 seeded rows: y = 1 when x0 + 0.5·x1 + noise > 0.
let s = 11;
const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0), s / 2 ** 32);
const lines = ["x0,x1,x2,y"];
for (let i = 0; i < 400; i++) {
  const x0 = rnd() * 2 - 1, x1 = rnd() * 2 - 1, x2 = rnd();
  lines.push([x0.toFixed(4), x1.toFixed(4), x2.toFixed(4), x0 + 0.5 * x1 + 0.3 * (rnd() - 0.5) > 0 ? 1 : 0].join(","));
}
const csv = join(dir, "data.csv");
writeFileSync(csv, lines.join("\n") + "\n");

const SPEC = {
  name: "tiny",
  data: { format: "csv", path: csv },
  inputs: { numeric: ["x0", "x1", "x2"] },
  architecture: { type: "hps", layers: [{ int: [2, 8] }] },
  tasks: [{ name: "y", type: "binary", label: "y", positive: "1", metrics: ["auc", "logloss"] }],
  training: { epochs: 3, batch_size: 32, seed: 1, validation: 0.25, optimizer: { lr: { log_uniform: [1e-3, 1e-1] } }, early_stopping: { metric: "y.auc", patience: 5 } },
};
const config = (name: string, spec: unknown) => {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(spec));
  return p;
};
const cfg = config("tiny.json", SPEC);
type Row = Record<string, string>;
const readCsv = (p: string): Row[] => {
  const [h, ...rs] = readFileSync(p, "utf8").trim().split("\n");
  const cols = h.split(",");
  return rs.map((r) => Object.fromEntries(r.split(",").map((v, i) => [cols[i], v])));
};
const noTime = (rows: Row[]) => rows.map(({ seconds, ...r }) => (void seconds, r));

test("6 trials, η 3, 3 epochs: rungs 1 and 3 epochs, 6 → 2 trials; the rows, the leaderboard and best.json", async () => {
  const r = await run(["tune", cfg, "--trials", "6", "--out", join(dir, "a"), "--seed", "5", "--quiet"]);
  assert.is(r.code, 0, r.err);
  const rows = readCsv(join(dir, "a", "tune.csv"));
  assert.equal(Object.keys(rows[0]), ["trial", "rung", "epochs", "architecture.layers[0]", "training.optimizer.lr", "metric", "status", "seconds"]);
  const r0 = rows.filter((x) => x.rung === "0"), r1 = rows.filter((x) => x.rung === "1");
  assert.is(r0.length, 6);
  assert.is(r1.length, 2);
  assert.ok(r0.every((x) => x.epochs === "1") && r1.every((x) => x.epochs === "3"));
  // The two promoted are the two best AUCs of rung 0 (computed here), and every sample is inside its range.
  const top2 = [...r0].sort((a, b) => +b.metric - +a.metric || +a.trial - +b.trial).slice(0, 2).map((x) => x.trial).sort();
  assert.equal(r1.map((x) => x.trial).sort(), top2);
  assert.equal(r0.filter((x) => x.status === "promoted").map((x) => x.trial).sort(), top2);
  for (const x of r0) {
    const u = +x["architecture.layers[0]"], lr = +x["training.optimizer.lr"];
    assert.ok(Number.isInteger(u) && u >= 2 && u <= 8, `units ${u}`);
    assert.ok(lr >= 1e-3 && lr < 1e-1, `lr ${lr}`);
  }
  const best = [...r1].sort((a, b) => +b.metric - +a.metric || +a.trial - +b.trial)[0];
  assert.ok(r.out.includes(`best: trial ${best.trial}, y.auc ${(+best.metric).toFixed(5)} at 3 epochs`), r.out);
  // best.json: the best trial's concrete values, valid, and training it for the full epochs on one thread gives the tuned metric.
  const bestJson = JSON.parse(readFileSync(join(dir, "a", "best.json"), "utf8"));
  const spec = validateSpec(bestJson);
  assert.is(spec.training.optimizer.lr, +best["training.optimizer.lr"]);
  assert.equal(bestJson.architecture.layers, [+best["architecture.layers[0]"]]);
  const kernels = await compiled;
  const trained = await train(bestJson, readFileSync(csv, "utf8"), { kernels, threads: 1, onWarning: () => {} });
  assert.ok(Math.abs(trained.metrics.y.auc - +best.metric) < 1e-12, `train() ${trained.metrics.y.auc} vs tune ${best.metric}`);
  await trained.dispose();
  // mtl train accepts it.
  const t = await run(["train", join(dir, "a", "best.json"), "--out", join(dir, "best-run"), "--threads", "1", "--quiet"]);
  assert.is(t.code, 0, t.err);
});

test("mtl report on a tune folder writes its Tuning page: the leaderboard's best row first, every run's metric", async () => {
  const r = await run(["report", join(dir, "a")]);
  assert.is(r.code, 0, r.err);
  const html = readFileSync(join(dir, "a", "report.html"), "utf8");
  assert.match(html, /<h2>Tuning<\/h2>/);
  const rows = readCsv(join(dir, "a", "tune.csv"));
  const best = rows.filter((x) => x.rung === "1").sort((a, b) => +b.metric - +a.metric || +a.trial - +b.trial)[0];
  assert.match(html, new RegExp(`<tr class="best"><td>1</td><td>${best.trial}</td><td>3</td>`));
  for (const x of rows) assert.ok(html.includes(`<td>${(+x.metric).toFixed(5)}</td>`), `trial ${x.trial} rung ${x.rung}`);
  assert.is(html.match(/<h3>Rung /g)!.length, 2);
});

test("reproducible: the same config and --seed give the same rows; another seed other samples; --threads 2 the same rows", async () => {
  const a = noTime(readCsv(join(dir, "a", "tune.csv")));
  assert.is((await run(["tune", cfg, "--trials", "6", "--out", join(dir, "b"), "--seed", "5", "--quiet"])).code, 0);
  assert.equal(noTime(readCsv(join(dir, "b", "tune.csv"))), a);
  assert.is((await run(["tune", cfg, "--trials", "6", "--out", join(dir, "c"), "--seed", "6", "--quiet"])).code, 0);
  assert.not.equal(noTime(readCsv(join(dir, "c", "tune.csv"))).map((x) => x["training.optimizer.lr"]), a.map((x) => x["training.optimizer.lr"]));
  const t = await run(["tune", cfg, "--trials", "6", "--out", join(dir, "d"), "--seed", "5", "--threads", "2", "--quiet"]);
  assert.is(t.code, 0, t.err);
  assert.equal(noTime(readCsv(join(dir, "d", "tune.csv"))), a);
});

test("named errors: no range, mtl train on ranges, a sampled value validateSpec rejects, a range on the split, --trials", async () => {
  const plain = config("plain.json", { ...SPEC, architecture: { type: "hps", layers: [4] }, training: { ...SPEC.training, optimizer: { lr: 0.01 } } });
  let r = await run(["tune", plain, "--trials", "3"]);
  assert.is(r.code, 2);
  assert.match(r.err, /plain\.json: no search range to tune/);
  r = await run(["train", cfg, "--out", join(dir, "x")]);
  assert.is(r.code, 2);
  assert.match(r.err, /tiny\.json: architecture\.layers\[0\] is a search range; search it with `mtl tune/);
  const zero = config("zero.json", { ...SPEC, architecture: { type: "hps", layers: [{ int: [0, 1] }] } });
  r = await run(["tune", zero, "--trials", "6", "--seed", "1"]);
  assert.is(r.code, 2);
  assert.match(r.err, /zero\.json: trial \d \(architecture\.layers\[0\] = 0, training\.optimizer\.lr = [\d.e-]+\): architecture\.layers\[0\]/);
  const seeded = config("seeded.json", { ...SPEC, training: { ...SPEC.training, seed: { int: [1, 5] } } });
  r = await run(["tune", seeded, "--trials", "2"]);
  assert.match(r.err, /training\.seed: is a search range.*split/);
  const ep = config("ep.json", { ...SPEC, training: { ...SPEC.training, epochs: { int: [1, 5] } } });
  r = await run(["tune", ep, "--trials", "2"]);
  assert.match(r.err, /training\.epochs: is a search range, but the rungs/);
  r = await run(["tune", cfg]);
  assert.match(r.err, /--trials N is required/);
  r = await run(["tune", cfg, "--trials", "0"]);
  assert.match(r.err, /--trials must be an integer in \[1, 10000\], found 0/);
});

test.run();
