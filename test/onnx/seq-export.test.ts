// Export parity for a tiny sequence encoder with both kinds of head: int64 tokens → seq_ids → embed_seq → conv1d
// (relu) → bigru → seq_pool (max) → dense (the sentence head), and a per-token linear head (conv1d with k = 1,
// i.e. a dense per token, masked). The ONNX export (Gather, Conv between Transposes, GRU with sequence_lens,
// ReduceMax/ReduceSum with the mask) run by onnxruntime-web and by the mtl engine (the export imported back)
// equals our own wasm forward within 1e-5, over rows of different lengths. The sequence length is symbolic in
// the ONNX graph: onnxruntime-web runs the same bytes at a second length too (the mtl engine fixes every
// dimension but the batch when it imports, so it runs the length the model was exported with).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng } from "../helpers.ts";
import { Graph, type Value } from "../../src/graph/graph.ts";
import { opDef } from "../../src/graph/registry.ts";
import type { OnnxCtx } from "../../src/graph/op.ts";
import { GraphBuilder } from "../../src/onnx/builder.ts";
import { encodeModel, decodeModel } from "../../src/onnx/model.ts";
import { importOnnx } from "../../src/onnx/import.ts";
import { ONNX_IR_VERSION, ONNX_OPSET } from "../../src/onnx/export.ts";
import { MtlRunner } from "../../src/infer/runner.ts";
import { createOrtRunner } from "../../src/infer/ort.ts";
import { Rig, type Feed } from "../graph/harness.ts";

const { k, arena } = await setup();
const V = 11, E = 6, C = 5, H = 4, INTENTS = 3, TAGS = 4, B = 6;

/** The encoder at sequence length L; parameters by name (the same values at every L). */
function build(L: number) {
  const g = new Graph(`seq-${L}`);
  const tokens = g.input("tokens", "i64", ["N", L]), mask = g.input("mask", "f32", ["N", L]);
  const p = (name: string, shape: number[]) => g.param(name, shape, { kind: "zeros" }, "shared");
  const e = g.add1("embed_seq", [p("table", [V, E]), g.add1("seq_ids", [tokens], { limit: V })]);
  const c = g.add1("conv1d", [e, mask, p("conv.W", [C, E, 3]), p("conv.b", [C])], { act: "relu", dilation: 1 });
  const h = g.add1("bigru", [c, mask, p("gru.W", [2, 3 * H, C]), p("gru.R", [2, 3 * H, H]), p("gru.B", [2, 6 * H])]);
  const intent = g.add1("dense", [g.add1("seq_pool", [h, mask], { mode: "max" }), p("intent.W", [2 * H, INTENTS]), p("intent.b", [INTENTS])]);
  const tags = g.add1("conv1d", [h, mask, p("tag.W", [TAGS, 2 * H, 1]), p("tag.b", [TAGS])]);
  return { g, tokens, mask, intent, tags };
}

const rng = new Rng(7);
const values = new Map<string, Float32Array>();
const init = (v: Value) => {
  if (!values.has(v.name)) values.set(v.name, rng.f32((v.shape as number[]).reduce((a, b) => a * b, 1), () => 0.7 * rng.uniform()));
  return values.get(v.name)!;
};

/** Rows of lengths L, 1, 3, L − 1, 0 (all padding), L (right padding with id 0); ids 1..V−1 at real tokens. */
function feedsOf(L: number) {
  const lens = [L, 1, 3, L - 1, 0, L];
  const ids = BigInt64Array.from({ length: B * L }, (_, e) => (e % L < lens[Math.floor(e / L)] ? BigInt(1 + rng.int(V - 1)) : 0n));
  const mask = Float32Array.from(ids, (id) => (id ? 1 : 0));
  return { ids, mask };
}

/** Lower the graph's nodes through the ops' onnx (as src/onnx/export.ts does); outputs "intent" and "tags". */
function toOnnx(m: ReturnType<typeof build>, rig: Rig, symbolic: boolean): Uint8Array {
  const g = new GraphBuilder(m.g.name);
  const names = new Map<Value, string>();
  const L = symbolic ? "L" : (m.tokens.shape[1] as number);
  names.set(m.tokens, g.input("tokens", "int64", ["N", L]));
  names.set(m.mask, g.input("mask", "float", ["N", L]));
  const outs = new Map<Value, string>([[m.intent, "intent"], [m.tags, "tags"]]);
  const ctx: OnnxCtx = {
    g,
    name(v) {
      let n = names.get(v);
      if (n !== undefined) return n;
      if (v.kind !== "param") throw new Error(`${v.name} is used before the node that computes it`);
      n = g.initializer(v.name, rig.readParam(v), v.shape as number[]);
      names.set(v, n);
      return n;
    },
    bind: (v, n) => void names.set(v, n),
    outName: (v) => outs.get(v),
    f32: (name, vals, dims) => g.initializer(g.uniqueName(name), Float32Array.from(vals), dims ?? [vals.length]),
    i64: (name, vals) => g.initializer(g.uniqueName(name), BigInt64Array.from(vals.map(BigInt)), [vals.length]),
    i64Scalar: (name, value) => g.initializer(g.uniqueName(name), BigInt64Array.of(BigInt(value)), []),
  };
  for (const n of m.g.needed([m.intent, m.tags])) (opDef(n.op).onnx as (e: OnnxCtx, n: unknown) => void)(ctx, n);
  g.output("intent", "float", ["N", INTENTS]);
  g.output("tags", "float", ["N", L, TAGS]);
  return encodeModel(g.toModel({ producerName: "seq-export.test", irVersion: ONNX_IR_VERSION, opset: ONNX_OPSET }));
}

function ours(L: number, f: ReturnType<typeof feedsOf>) {
  const m = build(L);
  const feeds = new Map<Value, Feed>([[m.tokens, f.ids], [m.mask, f.mask]]);
  const rig = new Rig({ graph: m.g, k, arena, batch: B, training: false, targets: [m.intent, m.tags], feeds, init });
  rig.forward();
  return { m, rig, intent: rig.read(m.intent), tags: rig.read(m.tags) };
}

function worst(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.is(a.length, b.length);
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return w;
}

test("the export uses ONNX's own operators (Gather, Conv, GRU, ReduceMax) and imports back to the sequence ops", () => {
  const f = feedsOf(7), o = ours(7, f);
  try {
    const model = decodeModel(toOnnx(o.m, o.rig, false));
    const types = new Set(model.graph.node.map((n) => n.opType));
    for (const t of ["Gather", "Conv", "GRU", "ReduceMax", "Transpose"]) assert.ok(types.has(t), `no ${t} in the export`);
    const ops = importOnnx(model, "seq").graph.nodes.map((n) => n.op);
    for (const op of ["seq_ids", "embed_seq", "conv1d", "bigru", "seq_pool", "dense"]) assert.ok(ops.includes(op), `the import has no ${op} (ops: ${ops.join(", ")})`);
  } finally {
    o.rig.dispose();
  }
});

test("onnxruntime-web and the mtl engine equal the in-wasm forward within 1e-5 (sentence and per-token heads)", async () => {
  const L = 7, f = feedsOf(L), o = ours(L, f);
  try {
    // the forward is not trivially zero, and padding positions of the tag logits are 0
    assert.ok(o.tags.some((v) => Math.abs(v) > 1e-2) && o.intent.some((v) => Math.abs(v) > 1e-2), "a degenerate forward");
    for (let e = 0; e < B * L; e++) if (!f.mask[e]) for (let j = 0; j < TAGS; j++) assert.is(o.tags[e * TAGS + j], 0, "tag logits at padding");
    const feeds = { tokens: { type: "int64" as const, data: f.ids, dims: [B, L] }, mask: { type: "float32" as const, data: f.mask, dims: [B, L] } };
    const ort = await createOrtRunner(toOnnx(o.m, o.rig, true));
    try {
      const got = await ort.run(feeds);
      assert.ok(worst(got.intent, o.intent) <= 1e-5, `onnxruntime-web intent differs by ${worst(got.intent, o.intent).toExponential(2)}`);
      assert.ok(worst(got.tags, o.tags) <= 1e-5, `onnxruntime-web tags differ by ${worst(got.tags, o.tags).toExponential(2)}`);
    } finally {
      ort.dispose();
    }
    const runner = MtlRunner.create(toOnnx(o.m, o.rig, false), k, "seq");
    try {
      const got = runner.run(feeds);
      assert.ok(worst(got.intent, o.intent) <= 1e-5, `mtl engine intent differs by ${worst(got.intent, o.intent).toExponential(2)}`);
      assert.ok(worst(got.tags, o.tags) <= 1e-5, `mtl engine tags differ by ${worst(got.tags, o.tags).toExponential(2)}`);
    } finally {
      runner.dispose();
    }
  } finally {
    o.rig.dispose();
  }
});

test("symbolic sequence length: the same ONNX bytes run by onnxruntime-web at another length equal our forward there", async () => {
  const f7 = feedsOf(7), o7 = ours(7, f7);
  const bytes = toOnnx(o7.m, o7.rig, true);
  o7.rig.dispose();
  const L = 10, f = feedsOf(L), o = ours(L, f);
  const ort = await createOrtRunner(bytes);
  try {
    const got = await ort.run({ tokens: { type: "int64", data: f.ids, dims: [B, L] }, mask: { type: "float32", data: f.mask, dims: [B, L] } });
    assert.ok(worst(got.intent, o.intent) <= 1e-5, `intent at L = ${L} differs by ${worst(got.intent, o.intent).toExponential(2)}`);
    assert.ok(worst(got.tags, o.tags) <= 1e-5, `tags at L = ${L} differ by ${worst(got.tags, o.tags).toExponential(2)}`);
  } finally {
    ort.dispose();
    o.rig.dispose();
  }
});

test.run();
