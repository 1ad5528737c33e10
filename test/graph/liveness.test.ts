// The scheduler's memory plan (src/graph/compile.ts): activation buffers are reused once their last reader has
// run (inference), while training programs keep every value a backward reads (the ops' `saves`).
//   - a chain of 8 equal-width dense layers: the inference program's block is a small multiple of one activation,
//     far below the sum of all activations, and its outputs are bit-identical to a training program's forward;
//   - an independent check of the plan: walking the schedule, no node writes into the bytes of a value that is
//     still to be read (by a later node, a caller — targets —, or, in training programs, a backward that saves it),
//     except where an op declares an alias. Checked on the chain, a residual net, and whole models (hps, mmoe, cgc)
//     in both modes;
//   - a value in `saves` survives to the backward: dropping tanh's `saves` entry (patched on the registered OpDef
//     for the duration of one test, then restored) lets its output's buffer be reused, which the checker reports and
//     the gradients show.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, relErr } from "../helpers.ts";
import { Graph, type Value, type Node } from "../../src/graph/graph.ts";
import { DTYPE_BYTES, numel } from "../../src/graph/shape.ts";
import { opDef } from "../../src/graph/registry.ts";
import type { Program } from "../../src/graph/compile.ts";
import type { OpDef } from "../../src/graph/op.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import type { Preprocessing } from "../../src/data/preprocess.ts";
import { Rig, mse64, type Feed } from "./harness.ts";

const { k, arena } = await setup();

/**
 * Every clobber in `program`'s plan: a node's output whose bytes overlap a value that is still live when the node
 * runs. Live: inputs and constants (always), activations from their producer until their last reader among the
 * program's nodes, or to the end for `targets` and (training) every value some node's `saves` lists (`saves` is
 * passed in so a test can check a program against the contract rather than against a patched op).
 */
function clobbers(graph: Graph, program: Program, batch: number, training: boolean, targets: readonly Value[], roots: readonly Value[], saves: (n: Node) => Value[]): string[] {
  const nodes = graph.needed([...targets, ...roots]);
  const end = new Map<Value, number>(), start = new Map<Value, number>();
  const alias = new Map<Value, Value>(); // output → the input whose buffer it shares
  for (const v of graph.values) if (v.kind === "input" || v.kind === "const") {
    start.set(v, -1);
    end.set(v, Infinity);
  }
  nodes.forEach((n, i) => {
    for (const [o, inp] of opDef(n.op).alias?.(n, training) ?? []) alias.set(n.outputs[o], n.inputs[inp]);
    for (const v of n.outputs) if (v.kind === "act") {
      start.set(v, i);
      end.set(v, i);
    }
    for (const v of n.inputs) if (end.has(v)) end.set(v, Math.max(end.get(v)!, i));
  });
  for (const v of targets) if (end.has(v)) end.set(v, Infinity);
  if (training) for (const n of nodes) for (const v of saves(n)) if (end.has(v)) end.set(v, Infinity);
  // An alias keeps its source alive as long as itself.
  const root = (v: Value): Value => (alias.has(v) ? root(alias.get(v)!) : v);
  for (const [o] of alias) end.set(root(o), Math.max(end.get(root(o))!, end.get(o)!));
  const range = (v: Value): [number, number] => {
    const a = program.addr(v);
    return [a, a + numel(v.shape, batch) * DTYPE_BYTES[v.dtype]];
  };
  const bad: string[] = [];
  nodes.forEach((n, i) => {
    for (const o of n.outputs) {
      if (o.kind !== "act") continue;
      const [a0, a1] = range(o);
      for (const [u, s] of start) {
        if (u === o || root(u) === root(o) || s >= i || end.get(u)! < i) continue;
        if (u.kind === "const" && u.data === undefined) continue;
        const [b0, b1] = range(u);
        if (a0 < b1 && b0 < a1) bad.push(`${n.name} (${n.op}, node ${i}) writes ${o.name} [${a0}, ${a1}) over ${u.name} [${b0}, ${b1}), live until ${end.get(u) === Infinity ? "the end" : `node ${end.get(u)}`}`);
      }
    }
  });
  return bad;
}

const realSaves = (n: Node) => opDef(n.op).saves(n);

// ---- a chain of 8 dense layers ---------------------------------------------------------------------------------

const WIDTH = 32, DEPTH = 8, B = 16;

function chain(act: "relu" | "none") {
  const g = new Graph(`chain-${act}`);
  const rng = new Rng(3);
  const x = g.input("x", "f32", ["N", WIDTH]);
  const t = g.input("t", "f32", ["N", WIDTH]), mask = g.input("mask", "f32", ["N"]);
  let h = x;
  const acts: Value[] = [];
  for (let i = 0; i < DEPTH; i++) {
    h = g.add1("dense", [h, g.param(`l${i}.weight`, [WIDTH, WIDTH], { kind: "zeros" }, "shared"), g.param(`l${i}.bias`, [WIDTH], { kind: "zeros" }, "shared")], { act }, `l${i}`);
    acts.push(h);
  }
  const loss = g.add1("mse", [h, t, mask], { task: 0 }, "loss");
  const feeds = new Map<Value, Feed>([
    [x, rng.f32(B * WIDTH, () => rng.normal())],
    [t, rng.f32(B * WIDTH, () => rng.normal())],
    [mask, new Float32Array(B).fill(1)],
  ]);
  const init = (v: Value) => {
    const r = new Rng(v.id + 11);
    return r.f32(numel(v.shape, 1), () => r.uniform() * Math.sqrt(6 / WIDTH));
  };
  return { g, x, out: h, acts, loss, feeds, init };
}

for (const act of ["relu", "none"] as const) {
  test(`chain of ${DEPTH} dense layers (act ${act}): inference reuses buffers, training keeps what the backward reads; outputs bit-identical`, () => {
    const c = chain(act);
    const actBytes = B * WIDTH * 4, inputBytes = actBytes + B * WIDTH * 4 + 16 * Math.ceil((B * 4) / 16); // x, t, mask
    const inf = new Rig({ graph: c.g, k, arena, batch: B, training: false, targets: [c.out], feeds: c.feeds, init: c.init });
    const trn = new Rig({ graph: c.g, k, arena, batch: B, training: true, targets: [c.out, c.loss], roots: [c.loss], feeds: c.feeds, init: c.init });
    try {
      const sum = DEPTH * actBytes;
      if (process.env.GRAPH_DEBUG) console.log(`chain ${act}: inference ${inf.program.bytes} B, training ${trn.program.bytes} B, inputs ${inputBytes} B, all activations ${sum} B`);
      // Inference: the inputs, the output, and at most two activations in flight.
      assert.ok(inf.program.bytes <= inputBytes + 3 * actBytes, `inference program holds ${inf.program.bytes} bytes; the inputs are ${inputBytes}, one activation ${actBytes}, all ${DEPTH} activations ${sum}`);
      const addrs = new Set(c.acts.map((v) => inf.program.addr(v)));
      assert.ok(addrs.size <= 3, `inference uses ${addrs.size} distinct activation buffers for ${DEPTH} layers`);
      // Training: every layer's input (dense saves x; relu also y) stays; the block also holds the gradients.
      const tAddrs = new Set(c.acts.map((v) => trn.program.addr(v)));
      assert.is(tAddrs.size, DEPTH, "training keeps every activation (each is the next layer's saved input)");
      assert.ok(trn.program.bytes >= inputBytes + sum, `training program holds only ${trn.program.bytes} bytes`);
      assert.equal(clobbers(c.g, inf.program, B, false, [c.out], [], realSaves), []);
      assert.equal(clobbers(c.g, trn.program, B, true, [c.out, c.loss], [c.loss], realSaves), []);
      inf.forward();
      trn.forward();
      const a = inf.read(c.out), b = trn.read(c.out);
      assert.ok(a.some((v) => v !== 0), "the output is not trivially zero");
      assert.equal(Array.from(a), Array.from(b), "inference and training forward differ");
      // And the program is reusable: a second forward gives the same bits.
      inf.forward();
      assert.equal(Array.from(inf.read(c.out)), Array.from(b));
    } finally {
      inf.dispose();
      trn.dispose();
    }
  });
}

// ---- a residual net: tanh's output is read only by an add, so only its `saves` entry keeps it -----------------

function residual() {
  const g = new Graph("residual");
  const W = 8;
  const rng = new Rng(5);
  const x = g.input("x", "f32", ["N", W]), t = g.input("t", "f32", ["N", W]), mask = g.input("mask", "f32", ["N"]);
  let h = x;
  for (let i = 0; i < 5; i++) {
    const z = g.add1("dense", [h, g.param(`r${i}.weight`, [W, W], { kind: "zeros" }, "shared"), g.param(`r${i}.bias`, [W], { kind: "zeros" }, "shared")], {}, `r${i}`);
    const a = g.add1("tanh", [z], {}, `r${i}.tanh`);
    h = g.add1("add", [a, h], {}, `r${i}.res`);
  }
  const out = g.add1("dense", [h, g.param("out.weight", [W, W], { kind: "zeros" }, "task:a")], {}, "out");
  const loss = g.add1("mse", [out, t, mask], { task: 0 }, "loss");
  const tv = rng.f32(B * W, () => rng.normal()), mv = Float32Array.from({ length: B }, (_, r) => (r % 5 === 4 ? 0 : 1));
  const feeds = new Map<Value, Feed>([
    [x, rng.f32(B * W, () => rng.normal())],
    [t, tv],
    [mask, mv],
  ]);
  const init = (v: Value) => {
    const r = new Rng(v.id * 7 + 1);
    return r.f32(numel(v.shape, 1), () => 0.9 * r.uniform());
  };
  return { g, out, loss, feeds, init, objective: (rig: Rig) => mse64(rig.read(out), tv, mv, W) };
}

function gradients(rig: Rig): Float32Array[] {
  rig.poisonGrads(NaN);
  rig.forward();
  rig.run(rig.program.backward);
  return rig.params.map((p) => rig.readGrad(p));
}

test("residual net: the plan never overwrites a live or saved value; gradients equal finite differences", () => {
  const c = residual();
  const trn = new Rig({ graph: c.g, k, arena, batch: B, training: true, targets: [c.out, c.loss], roots: [c.loss], feeds: c.feeds, init: c.init });
  const inf = new Rig({ graph: c.g, k, arena, batch: B, training: false, targets: [c.out], feeds: c.feeds, init: c.init });
  try {
    assert.equal(clobbers(c.g, trn.program, B, true, [c.out, c.loss], [c.loss], realSaves), []);
    assert.equal(clobbers(c.g, inf.program, B, false, [c.out], [], realSaves), []);
    assert.ok(inf.program.bytes < trn.program.bytes / 2, `inference ${inf.program.bytes} bytes, training ${trn.program.bytes}`);
    inf.forward();
    trn.forward();
    assert.equal(Array.from(inf.read(c.out)), Array.from(trn.read(c.out)));
    const g = gradients(trn);
    // Spot-check against finite differences: the first and the last layers' weights.
    for (const p of [trn.params[0], trn.params[trn.params.length - 1]]) {
      const i = trn.params.indexOf(p);
      const p0 = trn.readParam(p), fd = new Float64Array(p0.length), cur = p0.slice();
      for (let e = 0; e < p0.length; e++) {
        cur[e] = p0[e] + 4e-3;
        const up = cur[e];
        trn.writeParam(p, cur);
        trn.forward();
        const jp = c.objective(trn);
        cur[e] = p0[e] - 4e-3;
        const dn = cur[e];
        trn.writeParam(p, cur);
        trn.forward();
        const jm = c.objective(trn);
        cur[e] = p0[e];
        fd[e] = (jp - jm) / (up - dn);
      }
      trn.writeParam(p, p0);
      const e = relErr(g[i], fd);
      assert.ok(e < 2e-3, `${p.name}: relative error ${e.toExponential(2)}`);
    }
  } finally {
    trn.dispose();
    inf.dispose();
  }
});

test("a value in `saves` survives to the backward: without tanh's entry its buffer is reused and the gradients go wrong", () => {
  const c = residual();
  const ref = new Rig({ graph: c.g, k, arena, batch: B, training: true, targets: [c.out, c.loss], roots: [c.loss], feeds: c.feeds, init: c.init });
  const good = gradients(ref);
  const tanh = opDef("tanh") as { -readonly [K in keyof OpDef]: OpDef[K] };
  const saves = tanh.saves;
  let planted: Rig | null = null;
  try {
    tanh.saves = () => [];
    planted = new Rig({ graph: c.g, k, arena, batch: B, training: true, targets: [c.out, c.loss], roots: [c.loss], feeds: c.feeds, init: c.init });
  } finally {
    tanh.saves = saves;
  }
  try {
    // The contract says tanh saves its output: the planted program breaks it, and the checker says where.
    const bad = clobbers(c.g, planted.program, B, true, [c.out, c.loss], [c.loss], realSaves);
    assert.ok(bad.some((s) => /over r\d\.tanh /.test(s)), `the checker did not see the reuse of a tanh output:\n${bad.join("\n")}`);
    const wrong = gradients(planted);
    const worst = Math.max(...good.map((g, i) => relErr(wrong[i], g)));
    assert.ok(worst > 1e-2, `gradients without tanh's saves are still right (worst relative difference ${worst.toExponential(2)})`);
    // The registry is intact again.
    const again = new Rig({ graph: c.g, k, arena, batch: B, training: true, targets: [c.out, c.loss], roots: [c.loss], feeds: c.feeds, init: c.init });
    try {
      assert.equal(clobbers(c.g, again.program, B, true, [c.out, c.loss], [c.loss], realSaves), []);
      const g2 = gradients(again);
      g2.forEach((g, i) => assert.equal(Array.from(g), Array.from(good[i])));
    } finally {
      again.dispose();
    }
  } finally {
    planted.dispose();
    ref.dispose();
  }
});

// ---- whole models ------------------------------------------------------------------------------------------------

const ARCHS: [string, unknown][] = [
  ["hps", { type: "hps", layers: [{ units: 12, layernorm: true, dropout: 0.2 }, { units: 8, activation: "gelu" }] }],
  ["mmoe", { type: "mmoe", experts: 3, layers: [{ units: 6, activation: "tanh", layernorm: true }] }],
  ["cgc", { type: "cgc", shared_experts: 2, task_experts: 1, layers: [{ units: 5, activation: "silu" }] }],
];

for (const [name, architecture] of ARCHS) {
  test(`${name} model: neither the training nor the inference plan overwrites a live or saved value`, () => {
    const spec = validateSpec({
      inputs: { numeric: ["a", "b", "c"], categorical: [{ column: "c0", dim: 3 }] },
      architecture,
      tasks: [
        { name: "bin", type: "binary", label: "yb", tower: [{ units: 4, activation: "tanh" }] },
        { name: "cls", type: "multiclass", label: "yc", classes: ["p", "q", "r"] },
        { name: "reg", type: "regression", label: "yr", tower: [{ units: 3, activation: "relu" }] },
        { name: "grp", type: "regression", label: "yg", group_by: "g" },
      ],
      training: { relations: [{ tasks: ["bin", "reg"], lambda: 0.5 }] },
    });
    const pre: Preprocessing = {
      numeric: spec.inputs.numeric.map((column) => ({ column, mean: 0, std: 1 })),
      categorical: [{ column: "c0", vocab: ["u", "v", "w"] }],
      tasks: spec.tasks.map((t) => ({ name: t.name, classes: t.classes, groups: t.group_by ? ["g0", "g1"] : null, target: null })),
    };
    const model = new Model(spec, pre, k);
    try {
      const g = model.graph;
      const outputs = g.tasks.map((t) => t.output);
      const roots = [...g.tasks.map((t) => t.loss!), ...g.relations];
      for (const batch of [1, 6, 16]) {
        const trn = model.program(batch, true).program, inf = model.program(batch, false).program;
        const targets = [...outputs, ...roots, ...g.tasks.map((t) => t.representation)];
        assert.equal(clobbers(g, trn, batch, true, targets, roots, realSaves), [], `${name}, batch ${batch}, training`);
        assert.equal(clobbers(g, inf, batch, false, outputs, [], realSaves), [], `${name}, batch ${batch}, inference`);
        if (batch === 16) assert.ok(inf.bytes < trn.bytes, `inference ${inf.bytes} bytes ≥ training ${trn.bytes}`);
      }
    } finally {
      model.dispose();
    }
  });
}

test.run();
