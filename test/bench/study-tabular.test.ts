// `npm run study:tabular`'s split export (bench/study/tabular-export.ts) on the real School data and config: the
// exported split is the one `mtl train --seed S` makes (splitRows, and a real `mtl train --epochs 1` run checked by
// bench/study/tabular-ours.ts: row counts, training means, `mtl evaluate` on the exported validation rows), the
// exported cells are the file's own (read here with a plain line split, independent of the Table reader), and
// bench/study/sklearn_ref.py reads the same rows (SKIP when Debian's python3-sklearn is missing); with --ensemble, member 0 is the
// single run and the report puts it beside the ensemble. Not the study.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { innerSplit, loadDataset, withSeed, writeSplit, writeTable, type Dataset } from "../../bench/study/tabular-export.ts";
import { checkSameRows, trainOurs } from "../../bench/study/tabular-ours.ts";
import { tabularMarkdown, type DatasetResult } from "../../bench/study/tabular-report.ts";
import { splitRows } from "../../src/data/load.ts";
import { needFile, skipOrFail } from "../skip.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CSV = join(ROOT, "../shared/data/school/school.shared.csv");
const PY = "/usr/bin/python3";
const SEED = 2;

let d: Dataset | null = null;
const work = mkdtempSync(join(tmpdir(), "study-tabular-test-"));
/** The raw CSV, independent of the Table reader: header fields and each data row's fields (data row r at r − 1). */
let header: string[] = [], raw: string[][] = [];

test.before(async () => {
  if (!needFile(CSV, "study:tabular split export")) return;
  d = await loadDataset("school", "models/school.json", ROOT);
  const lines = readFileSync(CSV, "utf8").split(/\r?\n/).filter((l) => l !== "");
  header = lines[0].split(",");
  raw = lines.slice(1).map((l) => l.split(","));
});
test.after(() => rmSync(work, { recursive: true, force: true }));

test("the exported split is splitRows' for the seed, and its cells are the file's rows", () => {
  if (!d) return;
  const tablePath = writeTable(d, work);
  const s = writeSplit(d, SEED, work, true);
  const ref = splitRows(withSeed(d.spec, SEED), d.table);
  const other = splitRows(withSeed(d.spec, SEED + 1), d.table);
  const split = JSON.parse(readFileSync(s.path, "utf8"));
  assert.equal(split.train, Array.from(ref.train));
  assert.equal(split.validation, Array.from(ref.validation));
  assert.not.equal(split.validation, Array.from(other.validation), "another seed gives another split");
  assert.is(split.train.length + split.validation.length, raw.length);

  // Every exported cell is the raw file's cell of the row it names (data row r = raw line r).
  const t = JSON.parse(readFileSync(tablePath, "utf8"));
  assert.is(t.rows, raw.length);
  const col = (name: string) => header.indexOf(name);
  for (const i of [...split.validation.slice(0, 50), ...split.train.slice(-50)]) {
    const r = raw[t.row_ids[i] - 1];
    for (const c of d.spec.inputs.numeric) assert.is(t.numeric[c][i], Number(r[col(c)]), `row ${i} column ${c}`);
    assert.is(t.group.values[i], r[col("school")]);
    assert.is(t.targets.score[i], Number(r[col("exam_score")]));
  }
  // The hash names the validation rows by data row, one per line.
  const h = createHash("sha256").update(split.validation.map((i: number) => `${t.row_ids[i]}\n`).join("")).digest("hex");
  assert.is(split.validation_sha256, h);

  // The inner split covers the training rows only, stratified by school: every school keeps inner-training rows.
  const inner = innerSplit(d, ref.train, SEED);
  assert.equal([...inner.train, ...inner.validation].sort((a, b) => a - b), Array.from(ref.train));
  const schools = (rows: number[]) => new Set(rows.map((i) => t.group.values[i]));
  assert.is(schools(inner.train).size, schools(Array.from(ref.train)).size);
  const frac = inner.validation.length / ref.train.length;
  assert.ok(frac > 0.17 && frac < 0.23, `inner validation fraction ${frac}`);
});

test("mtl train --seed trains and validates on the exported rows (counts, means, mtl evaluate)", () => {
  if (!d) return;
  if (!existsSync(join(ROOT, "dist/cli.mjs"))) return skipOrFail("study:tabular vs mtl train", "dist/cli.mjs not built (npm run build)");
  const s = writeSplit(d, SEED, work, false);
  const r = trainOurs(d, s, work, 1);
  assert.is(r.checks.length, 3);
  assert.ok(r.validation.score.rmse > 5 && r.validation.score.rmse < 20, `rmse ${r.validation.score.rmse}`);
  // A split of another seed is not what `mtl train --seed 2` used: the checks must refuse it.
  // Same counts, other rows: the means (or mtl evaluate) must tell.
  // One training row and one validation row with other numeric cells trade places.
  const cells = (i: number) => d!.spec.inputs.numeric.map((c) => d!.table.stringColumn(c)[i]).join();
  const v0 = s.validation.find((v) => cells(v) !== cells(s.train[0]))!;
  const other = { train: Uint32Array.from(s.train, (i) => (i === s.train[0] ? v0 : i)).sort(), validation: Uint32Array.from(s.validation, (i) => (i === v0 ? s.train[0] : i)).sort() };
  assert.is(other.validation.length, s.validation.length);
  const dir = join(work, `mtl-seed${SEED}`);
  assert.throws(() => checkSameRows(d!, { ...s, ...other }, dir, work), /not the same training rows/);
  // The right training rows with other validation rows of the same count: only mtl evaluate can tell.
  const swapped = Uint32Array.from(s.validation);
  swapped[0] = s.train[0];
  assert.throws(() => checkSameRows(d!, { ...s, validation: swapped }, dir, work), /not the same validation rows/);
});

test("--ensemble: member 0 is the single run of the seed, its rows are checked, and the report puts it beside the ensemble", () => {
  if (!d) return;
  if (!existsSync(join(ROOT, "dist/cli.mjs"))) return skipOrFail("study:tabular --ensemble", "dist/cli.mjs not built (npm run build)");
  const s = writeSplit(d, SEED, work, false);
  const single = trainOurs(d, s, join(work, "single"), 1);
  const ens = trainOurs(d, s, join(work, "ensemble"), 1, 2);
  assert.is(ens.members!.length, 2);
  // bit for bit: member 0 trains with the seed, split and preprocessing of the single run
  assert.is(ens.members![0].score.rmse, single.validation.score.rmse);
  assert.is.not(ens.members![1].score.rmse, ens.members![0].score.rmse);
  // the ensemble's outputs are the members' mean, a value of its own
  assert.is.not(ens.validation.score.rmse, ens.members![0].score.rmse);
  assert.ok(ens.checks.some((c) => c.startsWith("member 0: rows")) && ens.checks.some((c) => c.startsWith("the ensemble's model.onnx")), ens.checks.join("; "));
  const result: DatasetResult = {
    key: "school", title: "School", config: "models/school.json", rows: d.table.rowCount,
    seeds: [{ seed: SEED, train: s.train.length, validation: s.validation.length, sha256: s.validationSha256, copies: 0 }],
    tasks: [{ name: "score", metric: "rmse" }],
    refs: [{ seed: SEED, model: "ridge", task: "score", metric: "rmse", value: 99, seconds: 1, info: { alpha: 1, alpha_at_grid_edge: false } }, { seed: SEED, model: "hgb", task: "score", metric: "rmse", value: 98, seconds: 1, info: { early_stopping: false, n_iter: 100 } }],
    ours: [ens],
  };
  const md = tabularMarkdown([result], { command: "x", quick: true, ensemble: 2, epochs: { school: 1 }, commit: "c", when: "w", wall: 1, load: 0, ompThreads: "1" });
  const row = md.split("\n").find((l) => l.startsWith("| school · score |"))!;
  const cells = row.split("|").map((c) => c.trim());
  // columns: linear, HGB, member 0, ensemble, gap, target
  assert.match(cells[5], ens.members![0].score.rmse.toFixed(3));
  assert.match(cells[6], ens.validation.score.rmse.toFixed(3));
  assert.match(md, "mtl-wasm ensemble of 2 (config)");
  assert.match(md, `${ens.members![0].score.rmse.toFixed(3)} · ${ens.validation.score.rmse.toFixed(3)}`);
});

test("sklearn_ref.py reads the exported rows: counts, validation hash, target and feature sums", () => {
  if (!d) return;
  const probe = spawnSync(PY, ["-c", "import sklearn, numpy, scipy"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) return skipOrFail("sklearn_ref.py rows", `${PY} with sklearn is not available (Debian: python3-sklearn)`);
  const tablePath = writeTable(d, work);
  const s = writeSplit(d, SEED, work, true);
  const r = spawnSync(PY, [join(ROOT, "bench/study/sklearn_ref.py"), tablePath, s.path, "--rows"], { encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout.trim());
  assert.is(got.seed, SEED);
  assert.is(got.train, s.train.length);
  assert.is(got.validation, s.validation.length);
  assert.is(got.validation_sha256, s.validationSha256);
  // Sums over the validation rows, from the raw file (float64, exact for these integer cells).
  const t = JSON.parse(readFileSync(tablePath, "utf8"));
  const rows = Array.from(s.validation, (i) => raw[t.row_ids[i] - 1]);
  const sum = (c: string) => rows.reduce((a, f) => a + Number(f[header.indexOf(c)]), 0);
  assert.is(got.validation_target_sums.score, sum("exam_score"));
  assert.equal(got.validation_numeric_sums, d.spec.inputs.numeric.map(sum));
});

test.run();
