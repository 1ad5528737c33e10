// Size limits (src/model/spec.ts) and memory limits (src/model/model.ts, src/runtime/heap.ts):
//   - every size a spec sets is capped: the SpecError names the path and the limit (batch_size 2**53 used to hang
//     the feeder, experts 1e308 threw a bare "Invalid array length"), and sizes must be integers (not 1.5, NaN,
//     Infinity); every config in models/ is within the caps;
//   - a model whose planned memory (parameters × 4 + the training program at batch_size + an inference program)
//     is above 4 GiB is refused by the constructor in well under a second, naming the largest tensors, with no wasm
//     memory growth (a 1,000,000-unit layer used to allocate gigabytes and trap "memory access out of bounds");
//     likewise a batch_size at the cap, and a model over the `maxMemory` option; program() checks each new program;
//   - an arena request the memory cannot grow to is a clear error naming the bytes requested and the current size.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync, readdirSync } from "node:fs";
import { setup } from "../helpers.ts";
import * as S from "../../src/model/spec.ts";
import { validateSpec, SpecError } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { Arena } from "../../src/runtime/heap.ts";
import type { Kernels } from "../../src/runtime/load.ts";
import type { Preprocessing } from "../../src/data/preprocess.ts";

const { k, arena } = await setup();

const base = (): any => ({
  inputs: { numeric: ["a", "b"], categorical: [{ column: "c", dim: 3 }] },
  architecture: { type: "hps", layers: [8] },
  tasks: [
    { name: "t1", type: "binary", label: "y1", tower: [4] },
    { name: "t2", type: "regression", label: "y2" },
  ],
});

function rejects(mutate: (s: any) => void, path: string, text: string | RegExp) {
  const s = base();
  mutate(s);
  try {
    validateSpec(s);
  } catch (e) {
    assert.instance(e, SpecError, String(e));
    const msg = (e as Error).message;
    assert.is((e as SpecError).path, path, msg);
    if (typeof text === "string") assert.is(msg, `${path}: ${text}`);
    else assert.match(msg, text);
    return;
  }
  assert.unreachable(`expected an error at ${path}`);
}

const above = (v: number | string, limit: number, min = 1) => `${v} is above the limit of ${limit} (must be an integer in [${min}, ${limit}])`;

// ---- spec caps --------------------------------------------------------------------------------------------------

test("the caps are exported, and sane", () => {
  assert.is(S.MAX_BATCH_SIZE, 65536);
  assert.is(S.MAX_EXPERTS, 1024);
  assert.ok(S.MAX_UNITS >= 1_000_000, "a 1,000,000-unit layer is refused by the memory plan, not the spec");
  for (const name of ["MAX_EPOCHS", "MAX_PATIENCE", "MAX_STEPS", "MAX_LAYERS", "MAX_EMBEDDING_DIM", "MAX_MIN_COUNT", "MAX_TENSOR_WIDTH", "MAX_INPUT_COLUMNS", "MAX_TASKS", "MAX_LABELS", "MAX_CLASSES", "MAX_RELATIONS"]) {
    const v = (S as Record<string, unknown>)[name];
    assert.ok(Number.isSafeInteger(v) && (v as number) > 0, `${name} = ${String(v)}`);
  }
});

test("training.batch_size: 2**53 is refused naming the limit (it used to hang)", () => {
  rejects((s) => (s.training = { batch_size: 2 ** 53 }), "training.batch_size", above(9007199254740992, 65536));
  rejects((s) => (s.training = { batch_size: 65537 }), "training.batch_size", above(65537, 65536));
  assert.is(validateSpec({ ...base(), training: { batch_size: 65536 } }).training.batch_size, 65536);
});

test("architecture.experts: 1e308 is refused naming the limit (it used to throw a bare RangeError)", () => {
  rejects((s) => (s.architecture = { type: "mmoe", experts: 1e308, layers: [4] }), "architecture.experts", above("1e+308", 1024));
  rejects((s) => (s.architecture = { type: "mmoe", experts: 1025, layers: [4] }), "architecture.experts", above(1025, 1024));
  rejects((s) => (s.architecture = { type: "cgc", shared_experts: 2000, task_experts: 1, layers: [4] }), "architecture.shared_experts", above(2000, 1024, 0));
  rejects((s) => (s.architecture = { type: "cgc", shared_experts: 1, task_experts: 1e9, layers: [4] }), "architecture.task_experts", above(1e9, 1024, 0));
  assert.is(validateSpec({ ...base(), architecture: { type: "mmoe", experts: 1024, layers: [4] } }).architecture.experts, 1024);
});

test("every other size is capped, naming its path and limit", () => {
  const U = S.MAX_UNITS;
  rejects((s) => (s.architecture.layers = [U + 1]), "architecture.layers[0]", `${U + 1} is above the limit of ${U} (a layer width must be an integer in [1, ${U}])`);
  rejects((s) => (s.architecture.layers = [4, { units: 1e12 }]), "architecture.layers[1].units", above(1e12, U));
  rejects((s) => (s.tasks[0].tower = [{ units: U + 1 }]), "tasks[0].tower[0].units", above(U + 1, U));
  rejects((s) => (s.tasks[1].tower = [2, 1e20]), "tasks[1].tower[1]", /^tasks\[1\]\.tower\[1\]: 100000000000000000000 is above the limit of 1048576/);
  rejects((s) => (s.architecture.layers = Array(S.MAX_LAYERS + 1).fill(2)), "architecture.layers", `${S.MAX_LAYERS + 1} layers is above the limit of ${S.MAX_LAYERS}`);
  rejects((s) => (s.tasks[0].tower = Array(S.MAX_LAYERS + 1).fill(2)), "tasks[0].tower", `${S.MAX_LAYERS + 1} layers is above the limit of ${S.MAX_LAYERS}`);
  rejects((s) => (s.inputs.embedding_dim = 1e6), "inputs.embedding_dim", above(1e6, S.MAX_EMBEDDING_DIM));
  rejects((s) => (s.inputs.categorical[0].dim = 65537), "inputs.categorical[0].dim", above(65537, S.MAX_EMBEDDING_DIM));
  rejects((s) => (s.inputs.categorical[0].min_count = 2 ** 31), "inputs.categorical[0].min_count", above(2 ** 31, S.MAX_MIN_COUNT));
  rejects((s) => (s.inputs.tensor = 2 ** 40), "inputs.tensor", above(2 ** 40, S.MAX_TENSOR_WIDTH, 0));
  rejects((s) => (s.inputs.numeric = Array.from({ length: S.MAX_INPUT_COLUMNS + 1 }, (_, i) => `n${i}`)), "inputs.numeric", `${S.MAX_INPUT_COLUMNS + 1} numeric columns is above the limit of ${S.MAX_INPUT_COLUMNS}`);
  rejects((s) => (s.inputs.categorical = Array.from({ length: S.MAX_INPUT_COLUMNS + 1 }, (_, i) => `c${i}`)), "inputs.categorical", `${S.MAX_INPUT_COLUMNS + 1} categorical columns is above the limit of ${S.MAX_INPUT_COLUMNS}`);
  rejects((s) => (s.tasks = Array.from({ length: S.MAX_TASKS + 1 }, (_, i) => ({ name: `t${i}`, type: "binary", label: `y${i}` }))), "tasks", `${S.MAX_TASKS + 1} tasks is above the limit of ${S.MAX_TASKS}`);
  rejects((s) => (s.tasks[1] = { name: "t2", type: "regression", labels: Array.from({ length: S.MAX_LABELS + 1 }, (_, i) => `r${i}`) }), "tasks[1].labels", `${S.MAX_LABELS + 1} label columns is above the limit of ${S.MAX_LABELS}`);
  rejects((s) => (s.tasks[0] = { name: "m", type: "multiclass", label: "ym", classes: Array.from({ length: S.MAX_CLASSES + 1 }, (_, i) => `k${i}`) }), "tasks[0].classes", `${S.MAX_CLASSES + 1} classes is above the limit of ${S.MAX_CLASSES}`);
  rejects((s) => (s.training = { epochs: 1e7 }), "training.epochs", above(1e7, S.MAX_EPOCHS, 0));
  rejects((s) => (s.training = { schedule: { type: "step", step_size: 2 ** 32 } }), "training.schedule.step_size", above(2 ** 32, S.MAX_STEPS));
  rejects((s) => (s.training = { schedule: { type: "cosine", warmup_steps: 2 ** 53 } }), "training.schedule.warmup_steps", above(2 ** 53, S.MAX_STEPS, 0));
  rejects((s) => (s.training = { early_stopping: { patience: 1e9 } }), "training.early_stopping.patience", above(1e9, S.MAX_PATIENCE));
  rejects(
    (s) => (s.training = { relations: Array.from({ length: S.MAX_RELATIONS + 1 }, () => ({ tasks: ["t1", "t2"], lambda: 1 })) }),
    "training.relations",
    `${S.MAX_RELATIONS + 1} relations is above the limit of ${S.MAX_RELATIONS}`,
  );
});

test("sizes must be integers: not 1.5, NaN or Infinity", () => {
  for (const bad of [1.5, NaN, Infinity, -Infinity]) {
    rejects((s) => (s.training = { batch_size: bad }), "training.batch_size", `must be an integer in [1, 65536], got ${bad}`);
    rejects((s) => (s.architecture = { type: "mmoe", experts: bad, layers: [4] }), "architecture.experts", `must be an integer in [1, 1024], got ${bad}`);
    rejects((s) => (s.architecture.layers = [{ units: bad }]), "architecture.layers[0].units", `must be an integer in [1, ${S.MAX_UNITS}], got ${bad}`);
    rejects((s) => (s.architecture.layers = [bad]), "architecture.layers[0]", /layer width must be a positive integer/);
    rejects((s) => (s.training = { epochs: bad }), "training.epochs", `must be an integer in [0, ${S.MAX_EPOCHS}], got ${bad}`);
    rejects((s) => (s.inputs.categorical[0].dim = bad), "inputs.categorical[0].dim", `must be an integer in [1, ${S.MAX_EMBEDDING_DIM}], got ${bad}`);
  }
  rejects((s) => (s.training = { batch_size: "64" }), "training.batch_size", 'must be an integer in [1, 65536], got "64"');
  rejects((s) => (s.training = { batch_size: 0 }), "training.batch_size", "must be an integer in [1, 65536], got 0");
});

test("every config in models/ validates, within the caps", () => {
  const dir = new URL("../../models/", import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith(".json"));
  assert.ok(files.length >= 5, files.join(", "));
  for (const f of files) {
    const spec = validateSpec(JSON.parse(readFileSync(new URL(f, dir), "utf8")));
    assert.ok(spec.training.batch_size <= S.MAX_BATCH_SIZE && spec.training.epochs <= S.MAX_EPOCHS, f);
  }
});

// ---- the memory plan ----------------------------------------------------------------------------------------------

function preFor(spec: S.ModelSpec): Preprocessing {
  return {
    numeric: spec.inputs.numeric.map((column) => ({ column, mean: 0, std: 1 })),
    categorical: spec.inputs.categorical.map((c) => ({ column: c.column, vocab: ["u", "v", "w"] })),
    tasks: spec.tasks.map((t) => ({ name: t.name, classes: t.classes, groups: null, target: t.type === "regression" ? [{ mean: 0, std: 1 }] : null })),
  };
}

/** Build a model that must be refused: returns the message; checks the time and that memory did not move. */
function refused(json: unknown, opts?: { maxMemory?: number }): string {
  const spec = validateSpec(json);
  const grown = k.memory.buffer.byteLength, used = arena.used;
  const t0 = performance.now();
  let msg = "";
  try {
    new Model(spec, preFor(spec), k, opts).dispose();
  } catch (e) {
    msg = (e as Error).message;
  }
  const ms = performance.now() - t0;
  assert.ok(msg, "expected the model to be refused");
  assert.ok(ms < 1000, `refused after ${ms} ms`);
  assert.is(k.memory.buffer.byteLength, grown, "wasm memory grew");
  assert.is(arena.used, used, "arena bytes were left allocated");
  return msg;
}

test("a 1,000,000-unit layer is refused in the constructor, naming the largest tensors, without growing memory", () => {
  const json = { ...base(), name: "census-mmoe", inputs: { numeric: Array.from({ length: 135 }, (_, i) => `x${i}`) }, architecture: { type: "mmoe", experts: 2, layers: [1_000_000] } };
  const msg = refused(json);
  assert.match(msg, /^model census-mmoe needs [\d.]+ GB of wasm memory \(limit 4 GiB(, [^)]* already in use)?\): largest tensors /);
  // The experts' stack at the inference batch, then each expert's first weight (4 copies: values, gradient, moments).
  assert.match(msg, /: largest tensors experts \[512, 2, 1000000\] 4\.1 GB, expert\.0\.0\.weight \[135, 1000000\] 540 MB ×4, expert\.1\.0\.weight \[135, 1000000\] 540 MB ×4, …; /);
  assert.match(msg, /parameters [\d.]+ GB \(4 copies\), training program at batch 256 [\d.]+ GB, inference program at batch 512 [\d.]+ GB$/);
});

test("a batch_size at the cap is refused when its program cannot fit, naming the largest tensors", () => {
  const msg = refused({ ...base(), name: "wide", architecture: { type: "hps", layers: [20_000] }, training: { batch_size: 65536 } });
  assert.match(msg, /^model wide needs [\d.]+ GB of wasm memory \(limit 4 GiB[^)]*\): largest tensors shared\.0 \[65536, 20000\] 5\.2 GB, gradient of shared\.0 \[65536, 20000\] 5\.2 GB, /);
  assert.match(msg, /training program at batch 65536 [\d.]+ GB/);
});

test("maxMemory: a model needing more is refused; one within it is built; program() keeps to it", () => {
  const json = { ...base(), name: "small" };
  const spec = validateSpec(json);
  const probe = new Model(spec, preFor(spec), k);
  const used0 = arena.used;
  probe.program(spec.training.batch_size, true);
  probe.program(512, false);
  const need = arena.used - used0 + 4 * Math.ceil((probe.store.total * 4) / 16) * 16;
  probe.dispose();

  const msg = refused(json, { maxMemory: need - 1 });
  assert.match(msg, /^model small needs [\d.]+ [kKMG]i?B of wasm memory \(limit max_memory = [\d.]+ [kKMG]i?B\): largest tensors /);
  assert.throws(() => new Model(spec, preFor(spec), k, { maxMemory: 0 }), /maxMemory must be a positive number of bytes, got 0/);

  const ok = new Model(spec, preFor(spec), k, { maxMemory: need });
  try {
    ok.program(spec.training.batch_size, true);
    ok.program(512, false);
    const before = arena.used;
    assert.throws(() => ok.program(1024, false), (e: Error) => /^model small: the inference program at batch 1024 needs [\d.]+ [kKMG]i?B of wasm memory \(limit max_memory = [\d.]+ [kKMG]i?B, the model holds [\d.]+ [kKMG]i?B\): largest tensors /.test(e.message));
    assert.is(arena.used, before);
  } finally {
    ok.dispose();
  }
});

test("program(): a batch whose plan exceeds 4 GiB is refused before compiling", () => {
  const spec = validateSpec({ ...base(), name: "p", architecture: { type: "hps", layers: [4096] } });
  const m = new Model(spec, preFor(spec), k);
  try {
    const grown = k.memory.buffer.byteLength, used = arena.used;
    assert.throws(() => m.program(400_000, true), (e: Error) => /^model p: the training program at batch 400000 needs [\d.]+ GB of wasm memory \(limit 4 GiB, [^)]+ already in use\): largest tensors shared\.0 \[400000, 4096\] 6\.6 GB/.test(e.message));
    assert.throws(() => m.program(1.5, false), /batch size must be a positive integer, got 1\.5/);
    assert.is(k.memory.buffer.byteLength, grown);
    assert.is(arena.used, used);
  } finally {
    m.dispose();
  }
});

// ---- arena growth -------------------------------------------------------------------------------------------------

test("Arena: a request above the wasm32 limit is a clear error, and memory does not grow", () => {
  const grown = k.memory.buffer.byteLength, used = arena.used;
  assert.throws(
    () => arena.allocBytes(2 ** 32),
    (e: Error) => e instanceof RangeError && /^Arena: cannot allocate 4 GiB \(4294967296 bytes\): wasm memory is .* \(\d+ pages, .* live\) and would have to grow by \d+ pages to .*; that is above the wasm32 limit of 4 GiB$/.test(e.message),
  );
  // 3 GB used to be rounded with a 32-bit mask into a 16-byte block.
  assert.throws(() => arena.allocBytes(3e9 + 8 + 2 ** 32), /cannot allocate 7\.3 GB/);
  assert.is(k.memory.buffer.byteLength, grown);
  assert.is(arena.used, used);
});

test("Arena: memory.grow refusing (a memory with a maximum) becomes an error naming the request and the size", () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 2 });
  const fake = { memory, heap_base: () => 1024, abi_version: () => 2 } as unknown as Kernels;
  const a = new Arena(fake);
  const p = a.allocBytes(1000);
  assert.throws(
    () => a.allocBytes(3 * 65536),
    (e: Error) => /^Arena: cannot allocate 192 KiB \(196608 bytes\): wasm memory is 64 KiB \(1 pages, 1\.0 kB live\) and would have to grow by 3 pages to 256 KiB; the engine refused to grow it \(.+\)$/.test(e.message),
  );
  assert.is(memory.buffer.byteLength, 65536);
  assert.is(a.used, 1008);
  a.free(p);
  assert.ok(a.allocBytes(65536) > 0, "a request that fits still works after the failure");
});

test.run();
