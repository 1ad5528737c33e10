// A text model end to end on real ATIS (issue 16): `mtl train` (seqtag folders, 1 epoch of a small conv1d + BiGRU
// encoder with max_length 24, so some test utterances are truncated), `mtl evaluate` on ATIS test (span F1, token
// accuracy, sentence accuracy, recomputed here from `mtl predict`'s CSV with an independent conlleval-style span
// count), `mtl predict` (intent and the space-separated tags per row; "O" past max_length) from the weights and
// from the export in both engines, and the export itself: session.run(raw strings) in onnxruntime-web and in the mtl
// engine equals the in-wasm forward within 1e-5 on real test utterances, onnxruntime-web runs the same bytes at
// another sequence length (L is symbolic), and the python3-onnx checker accepts it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setup, WASM_PATH } from "../helpers.ts";
import { main } from "../../src/cli/main.ts";
import { needFile } from "../skip.ts";
import { readTrainedDir } from "../../src/io/checkpoint-files.ts";
import { loadWeights } from "../../src/io/checkpoint.ts";
import { Model } from "../../src/model/model.ts";
import { encode } from "../../src/data/preprocess.ts";
import { readData } from "../../src/cli/files.ts";
import { createSession } from "../../src/infer/session.ts";
import { checkWithPython } from "../onnx/checker.ts";
import { skipOrFail } from "../skip.ts";

const ATIS = fileURLToPath(new URL("../../../shared/data/atis-snips/atis/", import.meta.url));
const { k } = await setup();
const compiled = WebAssembly.compile(readFileSync(WASM_PATH));
const dir = mkdtempSync(join(tmpdir(), "mtl-text-"));
const L = 24;

async function run(argv: string[]) {
  const out: string[] = [], err: string[] = [];
  const code = await main(argv, () => compiled, { log: (s) => out.push(s), error: (s) => err.push(s), progress: null });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** conlleval-style spans (B- starts, I- of the same type continues, anything else ends), as [start, end, type] keys. */
function spans(tags: string[]): Set<string> {
  const out = new Set<string>();
  let start = -1, type = "";
  const close = (end: number) => start >= 0 && out.add(`${start}:${end}:${type}`);
  tags.forEach((t, j) => {
    const [p, ty] = t === "O" ? ["O", ""] : [t.slice(0, t.indexOf("-")), t.slice(t.indexOf("-") + 1)];
    if (p === "I" && start >= 0 && ty === type) return;
    close(j - 1);
    start = p === "O" ? -1 : j;
    type = ty;
  });
  close(tags.length - 1);
  return out;
}

/** A CSV line's cells (the predict output quotes none of ours: tags and class names hold no comma). */
const cells = (line: string) => line.split(",");

if (needFile(ATIS, "ATIS end to end")) {
  const config = join(dir, "atis.json");
  writeFileSync(config, JSON.stringify({
    name: "atis-small",
    data: { format: "seqtag", path: join(ATIS, "train"), validation_path: join(ATIS, "dev") },
    inputs: { tokens: { column: "tokens", max_length: L, dim: 24 } },
    architecture: { type: "hps", layers: [{ type: "conv1d", filters: 24, kernel: 3 }, { type: "bigru", units: 16 }] },
    tasks: [{ name: "intent", type: "multiclass", label: "intent", unknown: true }, { name: "slots", type: "tagging", label: "slots" }],
    training: { epochs: 1, batch_size: 32, optimizer: { lr: 0.005 } },
  }));
  const out = join(dir, "run"), test_ = join(ATIS, "test");

  test("train: the epoch line shows span F1; metrics.json has span_f1, accuracy and sentence_accuracy; ORT agrees", async () => {
    const r = await run(["train", config, "--out", out, "--threads", "1"]);
    assert.is(r.code, 0, r.err);
    assert.match(r.out, /span_f1/);
    const m = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8"));
    const s = m.validation.slots;
    for (const key of ["span_f1", "accuracy", "sentence_accuracy"]) assert.ok(s[key] > 0 && s[key] <= 1, `slots.${key} = ${s[key]}`);
    assert.is(s.count, 500);
    assert.ok(s.span_f1 > 0.5 && m.validation.intent.accuracy > 0.7, `one epoch learns something: ${JSON.stringify(m.validation)}`);
    assert.ok(m.onnx.max_abs_diff <= 1e-5, `ort − wasm ${m.onnx.max_abs_diff}`);
  });

  test("evaluate and predict on ATIS test: metrics recomputed from the predicted CSV; engines write the same tags", async () => {
    const ev = await run(["evaluate", out, "--data", test_, "--json"]);
    assert.is(ev.code, 0, ev.err);
    const metrics = JSON.parse(ev.out).metrics;
    const p = await run(["predict", out, "--data", test_, "--out", join(dir, "pred.csv")]);
    assert.is(p.code, 0, p.err);
    const lines = readFileSync(join(dir, "pred.csv"), "utf8").trim().split("\n");
    const head = cells(lines[0]);
    assert.is(head[0], "intent");
    assert.is(head[1], "intent:<unk>");
    assert.is(head[head.length - 1], "slots");
    const words = readFileSync(join(test_, "seq.in"), "utf8").trim().split("\n").map((l) => l.trim().split(/\s+/));
    const gold = readFileSync(join(test_, "seq.out"), "utf8").trim().split("\n").map((l) => l.trim().split(/\s+/));
    const intents = readFileSync(join(test_, "label"), "utf8").trim().split("\n").map((l) => l.trim());
    assert.is(lines.length - 1, gold.length);
    let g = 0, pr = 0, ok = 0, tokens = 0, right = 0, sentences = 0, truncated = 0;
    lines.slice(1).forEach((line, r) => {
      const c = cells(line), tags = c[c.length - 1].split(" ");
      assert.is(tags.length, words[r].length, `row ${r + 1}: one tag per token`);
      if (words[r].length > L) {
        truncated++;
        assert.ok(tags.slice(L).every((t) => t === "O"), `row ${r + 1}: tags past max_length are O`);
      }
      const a = spans(gold[r]), b = spans(tags);
      g += a.size, pr += b.size;
      for (const x of b) if (a.has(x)) ok++;
      tokens += tags.length;
      tags.forEach((t, j) => (right += t === gold[r][j] ? 1 : 0));
      if (c[0] === intents[r] && tags.every((t, j) => t === gold[r][j])) sentences++;
    });
    assert.ok(truncated > 0, "some ATIS test utterances are longer than max_length");
    const P = ok / pr, R = ok / g;
    assert.ok(Math.abs(metrics.slots.span_f1 - (2 * P * R) / (P + R)) < 1e-12, `span_f1 ${metrics.slots.span_f1} vs ${(2 * P * R) / (P + R)}`);
    assert.ok(Math.abs(metrics.slots.accuracy - right / tokens) < 1e-12, "token accuracy");
    assert.ok(Math.abs(metrics.slots.sentence_accuracy - sentences / gold.length) < 1e-12, `sentence accuracy ${metrics.slots.sentence_accuracy} vs ${sentences / gold.length}`);
    for (const engine of ["ort", "mtl"]) {
      const q = await run(["predict", out, "--data", test_, "--out", join(dir, `pred-${engine}.csv`), "--engine", engine]);
      assert.is(q.code, 0, q.err);
      const other = readFileSync(join(dir, `pred-${engine}.csv`), "utf8").trim().split("\n");
      const strings = (ls: string[]) => ls.map((l) => `${cells(l)[0]} ${cells(l)[cells(l).length - 1]}`);
      assert.equal(strings(other), strings(lines), `${engine}: the same intents and tags`);
    }
  });

  test("session.run(raw strings) in both engines equals the in-wasm forward within 1e-5; symbolic L in ORT; checker", async () => {
    const { json: j, weights, weightsPath } = readTrainedDir(out);
    const model = new Model(j.spec, j.preprocessing, k);
    loadWeights(model, weights, weightsPath);
    const table = await readData(j.spec, test_);
    const rows = Array.from({ length: 64 }, (_, i) => 100 + i);
    const [intent, slots] = model.predict(encode(j.spec, j.preprocessing, table, rows, { labels: false }));
    const raw = rows.map((i) => ({ tokens: table.stringColumn("tokens")[i] }));
    const onnx = readFileSync(join(out, "model.onnx"));
    for (const engine of ["ort", "mtl"] as const) {
      const s = await createSession(onnx, { engine, kernels: k });
      try {
        assert.equal(s.inputNames, ["tokens"]);
        const got = await s.run(raw);
        const diff = (a: Float32Array, b: Float32Array) => (assert.is(a.length, b.length), a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0));
        assert.ok(diff(got.intent, intent) <= 1e-5 && diff(got.slots, slots) <= 1e-5, `${engine}: intent ${diff(got.intent, intent)}, slots ${diff(got.slots, slots)}`);
        if (engine === "ort") {
          // The same bytes at L = 40: ids of the untruncated rows; the first 24 positions' outputs of rows no longer
          // than 24 tokens equal the forward at L = 24 (a right-padded row's real tokens do not see its padding).
          const ids = s.meta!.pre.tokens!, V = new Map(ids.vocab.map((w, i) => [w, i + 2]));
          const data = new BigInt64Array(64 * 40);
          raw.forEach((r, n) => r.tokens.split(" ").slice(0, 40).forEach((w, t) => (data[n * 40 + t] = BigInt(V.get(w) ?? 1))));
          const wide = await s.run({ tokens: { type: "int64", data, dims: [64, 40] } });
          const C = j.preprocessing.tasks[1].classes!.length;
          let worst = 0, checked = 0;
          raw.forEach((r, n) => {
            if (r.tokens.split(" ").length > L) return;
            checked++;
            for (let e = 0; e < L * C; e++) worst = Math.max(worst, Math.abs(wide.slots[n * 40 * C + e] - slots[n * L * C + e]));
          });
          assert.ok(checked > 50 && worst <= 1e-5, `L = 40 vs 24: ${worst} over ${checked} rows`);
        } else {
          const bad = new BigInt64Array(2 * 30);
          const e = await s.run({ tokens: { type: "int64", data: bad, dims: [2, 30] } }).then(() => "", (x: Error) => x.message);
          assert.match(e, /runs this input at shape \[N, 24\]/);
        }
      } finally {
        await s.dispose();
      }
    }
    model.dispose();
    const r = checkWithPython([onnx]);
    if (!r.available) skipOrFail("python3-onnx checker on the ATIS export", `checker unavailable (${r.output})`);
    else assert.ok(r.ok, r.output);
  });

  test("--single-task: one model per task (the tagging one without sentence_accuracy, which needs the intent) and Δm", async () => {
    const cfg = join(dir, "atis-es.json");
    const spec = JSON.parse(readFileSync(config, "utf8"));
    spec.training.early_stopping = { metric: "slots.sentence_accuracy", patience: 3 };
    writeFileSync(cfg, JSON.stringify(spec));
    const o = join(dir, "single-run");
    const r = await run(["train", cfg, "--out", o, "--threads", "1", "--single-task"]);
    assert.is(r.code, 0, r.err);
    const m = JSON.parse(readFileSync(join(o, "metrics.json"), "utf8"));
    assert.ok(m.single_task.slots.span_f1 > 0 && m.single_task.intent.accuracy > 0, JSON.stringify(m.single_task));
    assert.is(m.single_task.slots.sentence_accuracy, undefined);
    // Δm (LibMTL's): per task the mean of ±(mtl − single)/single·100 over the metrics both report, then the mean over tasks.
    const up = new Set(["accuracy", "span_f1"]);
    const per = (task: string, metrics: string[]) => metrics.reduce((a, k) => a + (up.has(k) ? 1 : -1) * ((m.validation[task][k] - m.single_task[task][k]) / m.single_task[task][k]) * 100, 0) / metrics.length;
    const expected = (per("intent", ["accuracy", "logloss"]) + per("slots", ["span_f1", "accuracy"])) / 2;
    assert.ok(Math.abs(m.delta_m - expected) < 1e-9, `Δm ${m.delta_m} vs ${expected} recomputed without sentence_accuracy`);
  });

  test.after(() => rmSync(dir, { recursive: true, force: true }));
}

test.run();
