// Task affinity from the command line: `mtl train` with training.affinity writes DIR/affinity.json (one entry per
// epoch, kept up to the checkpoint on --resume) and names the most conflicting pair in the epoch line;
// `mtl affinity` prints both matrices with task names and a grouping, or JSON; threads are refused.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng, WASM_PATH } from "../helpers.ts";
import { main } from "../../src/cli/main.ts";
import { affinityText, sig } from "../../src/cli/affinity.ts";
import { bestGrouping } from "../../src/train/affinity.ts";

const dir = mkdtempSync(join(tmpdir(), "mtl-affinity-"));
const compiled = WebAssembly.compile(readFileSync(WASM_PATH));

// up and down are one signal with opposite signs, side another (separate heads can absorb a sign, so the signs of
// the cosines are not asserted here; their values are checked against float64 references in test/train/affinity.test.ts).
const rng = new Rng(5);
const lines = ["x0,x1,c,up,down,side"];
for (let i = 0; i < 400; i++) {
  const x0 = rng.normal(), x1 = rng.normal(), c = rng.int(2);
  lines.push([x0.toFixed(4), x1.toFixed(4), c ? "p" : "q", (2 * x0 + 0.1 * rng.normal()).toFixed(4), (-2 * x0 + 0.1 * rng.normal()).toFixed(4), x1 > 0 ? "yes" : "no"].join(","));
}
writeFileSync(join(dir, "data.csv"), lines.join("\n") + "\n");
const config = (affinity: unknown) => ({
  name: "aff",
  data: { format: "csv", path: join(dir, "data.csv") },
  inputs: { numeric: ["x0", "x1"], categorical: [{ column: "c", dim: 2 }] },
  architecture: { type: "hps", layers: [8] },
  tasks: [
    { name: "up", type: "regression", label: "up" },
    { name: "down", type: "regression", label: "down" },
    { name: "side", type: "binary", label: "side", positive: "yes", tower: [4] },
  ],
  training: { epochs: 2, batch_size: 32, seed: 1, optimizer: { type: "sgd", lr: 0.05 }, affinity },
});
writeFileSync(join(dir, "on.json"), JSON.stringify(config({ every: 4 })));
writeFileSync(join(dir, "off.json"), JSON.stringify(config(null)));

async function run(argv: string[]) {
  const out: string[] = [], err: string[] = [];
  const code = await main(argv, () => compiled, { log: (s) => out.push(s), error: (s) => err.push(s) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

test("train writes DIR/affinity.json per epoch and the epoch line names the most conflicting pair", async () => {
  const r = await run(["train", join(dir, "on.json"), "--out", join(dir, "m")]);
  assert.is(r.code, 0, r.err);
  const a = JSON.parse(readFileSync(join(dir, "m", "affinity.json"), "utf8"));
  assert.equal(a.tasks, ["up", "down", "side"]);
  assert.is(a.every, 4);
  assert.equal(a.epochs.map((e: { epoch: number }) => e.epoch), [1, 2]);
  // 320 training rows / 32 = 10 steps: indices 0, 4, 8 sampled.
  assert.equal(a.epochs.map((e: { steps: number }) => e.steps), [3, 3]);
  for (const e of a.epochs) {
    assert.is(e.cosine.length, 3);
    for (let i = 0; i < 3; i++) {
      assert.is(e.cosine[i][i], 1);
      for (let j = 0; j < 3; j++) assert.is(e.cosine[i][j], e.cosine[j][i]);
    }
    for (let i = 0; i < 3; i++) assert.ok(e.tag[i][i] > 0, `a step on task ${i} lowers its own loss: Z = ${e.tag[i][i]}`);
    for (const v of e.tag.flat()) assert.ok(Number.isFinite(v));
  }
  // The epoch line names the pair with the lowest mean cosine of that epoch.
  const names = ["up", "down", "side"];
  const epochLines = r.out.split("\n").filter((l) => l.startsWith("epoch "));
  assert.is(epochLines.length, 2);
  epochLines.forEach((l, n) => {
    const c = a.epochs[n].cosine;
    const [i, j] = [[0, 1], [0, 2], [1, 2]].reduce((b, p) => (c[p[0]][p[1]] < c[b[0]][b[1]] ? p : b));
    assert.ok(l.endsWith(`  conflict ${names[i]}~${names[j]} cos ${c[i][j].toFixed(2)}`), l);
  });
  // The history in metrics.json carries the same epoch summaries.
  const m = JSON.parse(readFileSync(join(dir, "m", "metrics.json"), "utf8"));
  assert.equal(m.history[1].affinity.cosine, a.epochs[1].cosine);
});

test("--resume keeps the entries up to the checkpoint; a fresh run without affinity drops the file", async () => {
  const r = await run(["train", join(dir, "on.json"), "--out", join(dir, "m"), "--epochs", "3", "--resume", "--quiet"]);
  assert.is(r.code, 0, r.err);
  const a = JSON.parse(readFileSync(join(dir, "m", "affinity.json"), "utf8"));
  const before = JSON.parse(readFileSync(join(dir, "m", "metrics.json"), "utf8"));
  assert.equal(a.epochs.map((e: { epoch: number }) => e.epoch), [1, 2, 3]);
  assert.equal(before.history[0].affinity.cosine, a.epochs[2].cosine, "the resumed epoch's entry is appended");
  const off = await run(["train", join(dir, "off.json"), "--out", join(dir, "m"), "--epochs", "1", "--quiet"]);
  assert.is(off.code, 0, off.err);
  assert.not.ok(existsSync(join(dir, "m", "affinity.json")));
});

test("mtl affinity prints the cosine and TAG matrices with task names and a suggested grouping", async () => {
  const r = await run(["affinity", join(dir, "off.json"), "--epochs", "1"]);
  assert.is(r.code, 0, r.err);
  const lines = r.out.split("\n");
  const at = lines.findIndex((l) => l.startsWith("cosine similarity"));
  assert.ok(at >= 0, r.out);
  assert.match(lines[at], /mean over 10 sampled steps/);
  assert.equal(lines[at + 1].trim().split(/\s+/), ["up", "down", "side"]);
  // The same run as JSON: the printed matrices and grouping are its values.
  const j = await run(["affinity", join(dir, "off.json"), "--epochs", "1", "--json"]);
  assert.is(j.code, 0, j.err);
  const o = JSON.parse(j.out);
  assert.equal(o.tasks, ["up", "down", "side"]);
  assert.is(o.steps, 10);
  assert.is(o.every, 1);
  assert.is(o.history.length, 1);
  const row = (name: string, from: number) => lines.slice(from + 2).find((l) => l.startsWith(name + " "))!.trim().split(/\s+/);
  assert.equal(row("down", at), ["down", ...o.cosine[1].map((v: number) => v.toFixed(3))]);
  assert.is(row("up", at)[1], "1.000");
  const tagAt = lines.findIndex((l) => l.startsWith("TAG lookahead affinity"));
  assert.ok(tagAt > at);
  assert.equal(lines[tagAt + 1].trim().split(/\s+/), ["up", "down", "side"]);
  row("side", tagAt).slice(1).forEach((v, c) => assert.ok(Math.abs(Number(v) - o.tag[2][c]) <= 0.006 * Math.abs(o.tag[2][c]), `${v} vs ${o.tag[2][c]}`));
  // Grouping: 1 group (reference) and the best split into 2; 3 only from 4 tasks.
  assert.equal(o.groupings.map((g: { k: number }) => g.k), [1, 2]);
  const best = bestGrouping(o.tag, 2);
  assert.equal(o.groupings[1].groups, best.groups.map((g) => g.map((t) => o.tasks[t])));
  assert.ok(lines.includes(`  2 groups: ${o.groupings[1].groups.map((g: string[]) => `{${g.join(", ")}}`).join(" ")}  score ${sig(best.score)}`), r.out);
  assert.not.ok(lines.some((l) => l.startsWith("  3 groups:")));

  const e = await run(["affinity", join(dir, "off.json"), "--epochs", "1", "--every", "3", "--json"]);
  assert.is(JSON.parse(e.out).steps, 4, "steps 0, 3, 6, 9 of 10");
});

test("errors: threads, a one-task model, bad flags", async () => {
  const t = await run(["train", join(dir, "on.json"), "--out", join(dir, "t"), "--threads", "2"]);
  assert.is(t.code, 2);
  assert.match(t.err, /training\.affinity is recorded on one thread.*drop --threads or set training\.affinity to null/);
  const one = { ...config(null), tasks: [config(null).tasks[0]] };
  writeFileSync(join(dir, "one.json"), JSON.stringify(one));
  const o = await run(["affinity", join(dir, "one.json")]);
  assert.is(o.code, 2);
  assert.match(o.err, /has 1 task; affinity needs at least 2/);
  const e = await run(["affinity", join(dir, "off.json"), "--every", "0"]);
  assert.is(e.code, 2);
  assert.match(e.err, /--every must be at least 1/);
});

test("affinityText keeps matrix rows on one line and parses back", () => {
  const v = { a: [[1, null], [-0.5, 2e-7]], names: ["x, y", "z"], nested: { e: [] , o: {} } };
  const s = affinityText(v);
  assert.match(s, /\[1, null\],\n/);
  assert.match(s, /"names": \["x, y", "z"\]/);
  assert.equal(JSON.parse(s), v);
});

test.run();
