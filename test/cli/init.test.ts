// mtl init on a generated CSV with one column of each kind: the printed decision and reason per column, the written
// spec (validated, and trained for one epoch through train()), the refusal to overwrite, sampling only the first N
// rows, and each named error. Then on real data (wine-quality, student-performance) when present.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { WASM_PATH } from "../helpers.ts";
import { needFile } from "../skip.ts";
import { main } from "../../src/cli/main.ts";
import { train } from "../../src/api/train.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { parseJsonc } from "../../src/util/jsonc.ts";

const compiled = WebAssembly.compile(readFileSync(WASM_PATH));
const dir = mkdtempSync(join(tmpdir(), "mtl-init-"));

async function run(argv: string[]) {
  const out: string[] = [], err: string[] = [];
  const code = await main(argv, () => compiled, { log: (s) => out.push(s), error: (s) => err.push(s) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

const HEADER = ["row", "id", "amount", "store", "colour", "const", "visits", "rating", "bin", "reg", "cls"];
/** n seeded rows with one column per kind; labels bin (yes/no, 1 in 4 yes), reg (float), cls (a/b/c). */
function makeCsv(n: number): string {
  let s = 7;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0), s / 2 ** 32);
  const lines = [HEADER.join(",")];
  for (let i = 0; i < n; i++) {
    const amount = i % 20 === 3 ? "" : (100 * rnd()).toFixed(2);
    const store = [3, 17, 42, 105, 230][Math.floor(5 * rnd())];
    const colour = ["red", "green", "blue"][i % 3];
    const visits = Math.floor(41 * rnd()), rating = 1 + (i % 5);
    const bin = i % 4 === 0 ? "yes" : "no";
    lines.push([i + 1, `c${String(i * 13).padStart(5, "0")}`, amount, store, colour, "x", visits, rating, bin, (2 * rating + visits / 10 + rnd()).toFixed(3), ["a", "b", "c"][(i + visits) % 3]].join(","));
  }
  return lines.join("\n") + "\n";
}
const csvPath = join(dir, "shop.csv");
writeFileSync(csvPath, makeCsv(300));
const tasks = ["--task", "buy:binary:bin", "--task", "spend:regression:reg", "--task", "kind:multiclass:cls"];

test("init: one line per column with the decision and its reason; the spec validates and trains for an epoch", async () => {
  const spec = join(dir, "shop.jsonc");
  const r = await run(["init", csvPath, ...tasks, "--out", spec]);
  assert.is(r.code, 0, r.err);
  const line = (col: string) => r.out.split("\n").find((l) => l.startsWith(`  ${col} `))?.replace(/\s+/g, " ").trim();
  assert.is(line("row"), "row not used row number: 300 distinct integers counting up by one in file order (1…300)");
  assert.is(line("id"), 'id not used id-like: all 300 non-missing values are distinct (e.g. "c00000")');
  assert.match(line("amount")!, /^amount numeric 100 % of 285 non-missing cells are numbers; \d+ distinct values; 15 missing; /);
  assert.match(line("store")!, /^store categorical code: 5 distinct integers spread over 3…230 \(not a dense scale\), read as categories; 100 % of 300 non-missing cells are numbers; 5 distinct values/);
  assert.is(line("colour"), 'colour categorical 0 % of 300 non-missing cells are numbers; 3 distinct values ("red" 100, "green" 100, "blue" 100)');
  assert.is(line("const"), 'const not used constant: every non-missing cell is "x" (300 cells)');
  assert.match(line("visits")!, /^visits numeric 100 % of 300 non-missing cells are numbers; (2[1-9]|3\d|41) distinct values; integers 0…40$/);
  assert.is(line("rating"), "rating numeric 100 % of 300 non-missing cells are numbers; 5 distinct values; integers 1…5, a dense scale (kept numeric; a code would be categorical)");
  for (const [c, t] of [["bin", "buy"], ["reg", "spend"], ["cls", "kind"]]) assert.is(line(c), `${c} label of task ${t}`);
  assert.match(r.out, 'task buy (binary, "bin"): binary: "no" 225, "yes" 75; "yes" → 1 (reads as yes; change tasks[].positive to flip)');
  assert.match(r.out, /task kind \(multiclass, "cls"\): multiclass: 3 classes \("[abc]" \d+, "[abc]" \d+, "[abc]" \d+\)/);
  assert.match(r.out, `${csvPath}: read all 300 rows, 11 columns, delimiter "," (detected: 10 × "," in the header)`);
  assert.match(r.out, `train it: npx mtl train ${spec} --out runs/shop`);

  const text = readFileSync(spec, "utf8");
  assert.match(text, /^\/\/ Made by: mtl init /);
  const json = parseJsonc(text) as Record<string, unknown>;
  const s = validateSpec(json);
  assert.equal(s.inputs.numeric, ["amount", "visits", "rating"]);
  assert.equal(s.inputs.categorical.map((c) => [c.column, c.dim, c.min_count]), [["store", 4, 1], ["colour", 3, 1]]);
  assert.equal(s.data, { format: "csv", path: relative(process.cwd(), csvPath), delimiter: ",", stratify: null });
  assert.equal(s.tasks.map((t) => [t.name, t.type, t.labels, t.positive]), [["buy", "binary", ["bin"], ["yes"]], ["spend", "regression", ["reg"], null], ["kind", "multiclass", ["cls"], null]]);
  // Inputs: 3 numeric + 4 + 3 embedding features = 10 → 2 × 10 rounded up to a power of two is 32, capped at the power
  // of two ≤ 240 training rows / 8 = 16: trunk [16, 8], towers of 8. Batch: 240 / 20 = 12 → 8, raised to the minimum 16.
  assert.equal(s.architecture.layers.map((l) => ("units" in l ? l.units : 0)), [16, 8]);
  assert.equal(s.tasks.map((t) => t.tower.map((l) => ("units" in l ? l.units : 0))), [[8], [8], [8]]);
  assert.equal([s.training.validation, s.training.batch_size, s.training.epochs, s.training.early_stopping], [0.2, 16, 100, { metric: "loss", patience: 10 }]);

  const trained = await train(json, readFileSync(csvPath, "utf8"), { kernels: await compiled, epochs: 1, onWarning: (w) => assert.unreachable(w.message) });
  assert.is(trained.history.length, 1);
  assert.equal(trained.rows.train + trained.rows.validation, 300);
  assert.equal(Object.keys(trained.metrics), ["buy", "spend", "kind"]);
  assert.ok(Number.isFinite(trained.metrics.spend.rmse) && trained.metrics.buy.auc >= 0 && trained.metrics.buy.auc <= 1);
  await trained.dispose();
});

test("init refuses to overwrite without --force, and overwrites with it", async () => {
  const spec = join(dir, "keep.jsonc");
  writeFileSync(spec, "// mine\n");
  const before = statSync(spec).mtimeMs;
  const r = await run(["init", csvPath, ...tasks, "--out", spec]);
  assert.is(r.code, 2);
  assert.is(r.err, `mtl init ${csvPath}: --out ${spec} exists; give --force to overwrite it, or another --out`);
  assert.is(readFileSync(spec, "utf8"), "// mine\n");
  assert.is(statSync(spec).mtimeMs, before);
  const f = await run(["init", csvPath, ...tasks, "--out", spec, "--force"]);
  assert.is(f.code, 0, f.err);
  assert.ok(validateSpec(parseJsonc(readFileSync(spec, "utf8"))).tasks.length === 3);
});

test("init reads only the first --sample rows: a bad row after them is never parsed", async () => {
  const path = join(dir, "long.csv");
  writeFileSync(path, makeCsv(300) + "1,2,3\n");
  const r = await run(["init", path, ...tasks, "--sample", "100", "--out", join(dir, "long.jsonc")]);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, `${path}: read the first 100 rows (the file holds more; --sample N reads more), 11 columns`);
  assert.match(readFileSync(join(dir, "long.jsonc"), "utf8"), "from the first 100 rows of");
  const all = await run(["init", path, ...tasks, "--out", join(dir, "long2.jsonc")]);
  assert.is(all.code, 1);
  assert.match(all.err, `${path}: data row 301 (line 302): expected 11 fields (as in the header), found 3`);
});

test("init errors name the file, the flag and what is wrong", async () => {
  const err = async (argv: string[], code = 2) => {
    const r = await run(["init", ...argv]);
    assert.is(r.code, code, `${argv.join(" ")}: ${r.err}`);
    return r.err;
  };
  const cols = `Columns (11): ${HEADER.map((c) => JSON.stringify(c)).join(", ")}`;
  assert.is(await err([csvPath, "--task", "buy:binary:biin"]), `mtl init ${csvPath}: --task buy:binary:biin: no label column "biin"; did you mean "bin"? ${cols}`);
  assert.is(await err([csvPath, "--task", "rge:regression"]), `mtl init ${csvPath}: --task rge:regression: no column "rge" (the label column: LABEL defaults to NAME; give NAME:TYPE:LABEL for another column); did you mean "reg"? ${cols}`);
  assert.is(await err([csvPath, "--task", "buy:binry:bin"]), `mtl init ${csvPath}: --task buy:binry:bin: TYPE "binry" is not a task type (did you mean "binary"?); expected NAME:TYPE[:LABEL] with TYPE one of binary, multiclass, multilabel, regression`);
  assert.is(await err([csvPath, "--task", "buy"]), `mtl init ${csvPath}: --task buy: no TYPE; expected NAME:TYPE[:LABEL] with TYPE one of binary, multiclass, multilabel, regression`);
  assert.match(await err([csvPath, "--task", "k:binary:cls"]), new RegExp(`^mtl init ${csvPath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: --task k:binary:cls: label column "cls" has 3 distinct values \\(.+\\); binary needs exactly two \\(use multiclass, or regression for a score\\) \\(in the 300 rows read\\)$`));
  assert.is(await err([csvPath, "--task", "a:regression:reg", "--task", "a:binary:bin"]), `mtl init ${csvPath}: --task a:binary:bin: a task named "a" is already given; task names must differ`);
  assert.is(await err([csvPath]), `mtl init ${csvPath}: give at least one --task NAME:TYPE[:LABEL] (TYPE: binary, multiclass, multilabel, regression)`);
  const empty = join(dir, "empty.csv"), headerOnly = join(dir, "header.csv");
  writeFileSync(empty, "");
  writeFileSync(headerOnly, "a,b,y\n");
  assert.is(await err([empty, "--task", "y:regression"]), `mtl init ${empty}: the file is empty (no header line); mtl init needs a header and data rows`);
  assert.is(await err([headerOnly, "--task", "y:regression"]), `mtl init ${headerOnly}: no data rows (the file holds a header line with 3 columns and nothing else)`);
  assert.is(await err([join(dir, "nope.csv"), "--task", "y:regression"]), `mtl init ${join(dir, "nope.csv")}: no such file (${join(dir, "nope.csv")})`);
  assert.is(await err([csvPath, ...tasks, "--out", join(dir, "no", "x.jsonc")]), `mtl init ${csvPath}: --out ${join(dir, "no", "x.jsonc")}: folder ${join(dir, "no")} does not exist`);
  const onlyLabels = join(dir, "labels.csv");
  writeFileSync(onlyLabels, "k,y\n" + Array.from({ length: 30 }, (_, i) => `z,${i % 2}`).join("\n") + "\n");
  assert.is(await err([onlyLabels, "--task", "y:binary"]), `mtl init ${onlyLabels}: no input column left: every column is a label or not used (see above)`);
});

test("init: L1+L2 labels (multilabel, multi-output regression), inf and n/a cells in a tab-separated file; JSON lines", async () => {
  let s = 3;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0), s / 2 ** 32);
  const rows = Array.from({ length: 200 }, (_, i) => {
    const x = rnd();
    return { x: i === 10 ? "n/a" : i === 20 ? "inf" : x.toFixed(3), g: ["p", "q"][i % 2], t1: String(+(x > 0.5)), t2: String(i % 2), r1: (3 * x).toFixed(3), r2: (i === 30 ? "Infinity" : (1 - x).toFixed(3)) };
  });
  const tsv = join(dir, "multi.tsv");
  writeFileSync(tsv, ["x\tg\tt1\tt2\tr1\tr2", ...rows.map((r) => Object.values(r).join("\t"))].join("\n") + "\n");
  const spec = join(dir, "multi.jsonc");
  const r = await run(["init", tsv, "--task", "tags:multilabel:t1+t2", "--task", "out:regression:r1+r2", "--out", spec]);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, 'delimiter "\\t" (detected: 5 × "\\t" in the header)');
  assert.match(r.out, /  x +numeric +99\.5 % of 200 non-missing cells are numbers; \d+ distinct values; 0\.\d+…0\.\d+; read as missing: "n\/a" ×1; 1 not finite \(inf, nan: read as missing\)\n/);
  assert.match(r.out, /"r2" mean [\d.]+, sd [\d.]+, range [\d.]+…[\d.]+, \d+ distinct, 1 not finite \(read as missing\)\n/);
  assert.match(r.out, /task tags \(multilabel, "t1" \+ "t2"\): multilabel: "t1" \d+\/200 ones, "t2" 100\/200 ones/);
  const json = parseJsonc(readFileSync(spec, "utf8"));
  const v = validateSpec(json);
  assert.equal(v.tasks.map((t) => t.labels), [["t1", "t2"], ["r1", "r2"]]);
  assert.equal(v.inputs.missing, ["", "?", "NA", "NaN", "n/a"]);
  assert.is(v.inputs.nonfinite, "missing");
  assert.is(v.data!.delimiter, "\t");
  // Without the added missing token and the nonfinite policy this data would stop training at row 11.
  const trained = await train(json, readFileSync(tsv, "utf8"), { kernels: await compiled, epochs: 1, onWarning: () => {} });
  assert.equal(trained.rows.train + trained.rows.validation, 200);
  await trained.dispose();
  const jl = join(dir, "multi.jsonl");
  writeFileSync(jl, rows.map((x) => JSON.stringify({ ...x, x: x.x === "n/a" ? null : x.x === "inf" ? 0 : +x.x, r2: +x.r2 || 0 })).join("\n") + "\n");
  const j = await run(["init", jl, "--task", "tags:multilabel:t1+t2", "--out", join(dir, "multi-jl.jsonc")]);
  assert.is(j.code, 0, j.err);
  const vj = validateSpec(parseJsonc(readFileSync(join(dir, "multi-jl.jsonc"), "utf8")));
  assert.equal([vj.data!.format, vj.inputs.numeric, vj.inputs.categorical.map((c) => c.column)], ["jsonl", ["x", "r1", "r2"], ["g"]]);
});

test("init on real data: wine-quality (;-separated, all numeric) and student-performance (mixed, two tasks)", async () => {
  const wine = "../shared/data/wine-quality/winequality-red.csv", student = "../shared/data/student-performance/student-por.csv";
  if (needFile(wine, "mtl init on wine-quality")) {
    const r = await run(["init", wine, "--task", "quality:regression", "--out", join(dir, "wine.jsonc")]);
    assert.is(r.code, 0, r.err);
    const s = validateSpec(parseJsonc(readFileSync(join(dir, "wine.jsonc"), "utf8")));
    assert.is(s.data!.delimiter, ";");
    assert.is(s.data!.path, wine);
    assert.equal([s.inputs.numeric.length, s.inputs.categorical.length], [11, 0]);
    assert.match(r.out, '"quality" mean 5.63602, sd 0.807317, range 3…8, 6 distinct');
  }
  if (needFile(student, "mtl init on student-performance")) {
    const r = await run(["init", student, "--task", "g3:regression:G3", "--task", "higher:binary", "--out", join(dir, "student.jsonc")]);
    assert.is(r.code, 0, r.err);
    const s = validateSpec(parseJsonc(readFileSync(join(dir, "student.jsonc"), "utf8")));
    // 33 columns − 2 labels: the 16 text columns categorical; ages, grades, absences and the 1…5 scales numeric.
    assert.equal([s.inputs.numeric.length, s.inputs.categorical.length], [15, 16]);
    for (const c of ["age", "Medu", "failures", "absences", "G1", "G2", "health"]) assert.ok(s.inputs.numeric.includes(c), c);
    for (const c of ["school", "sex", "Mjob", "guardian", "internet"]) assert.ok(s.inputs.categorical.some((x) => x.column === c), c);
    assert.equal(s.tasks[1].positive, ["yes"]);
  }
});

test.run();
