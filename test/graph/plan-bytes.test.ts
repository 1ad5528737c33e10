// planBytes / planMemory (src/graph/compile.ts): the memory a program would take, planned without allocating.
//   - for hps, mmoe, cgc, ple and cross-stitch models (layer norm, dropout, gelu/tanh/silu, multiclass, a grouped head, a relation,
//     uncertainty weighting), in training and inference, at several batch sizes: planBytes equals exactly what
//     Model.program → compile() allocates (the arena's `used` difference) and the program's own `bytes`;
//   - planMemory's parts add up (block + gradients + scratch), its tensors are sorted largest first, and planning
//     itself neither allocates nor grows wasm memory;
//   - compile() called directly with its own targets (a dense chain, inference and training) matches planMemory
//     with the same targets;
//   - a plan far beyond 4 GiB (a [65536, 1000000] activation) is computed in well under a second, exact enough to be
//     refused (no 32-bit wrap of the sizes).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup } from "../helpers.ts";
import { Graph, numel, type Value } from "../../src/graph/graph.ts";
import { compile, planBytes, planMemory } from "../../src/graph/compile.ts";
import type { HostState } from "../../src/graph/op.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import type { Preprocessing } from "../../src/data/preprocess.ts";

const { k, arena } = await setup();

const ARCHS: [string, unknown][] = [
  ["hps", { type: "hps", layers: [{ units: 12, layernorm: true, dropout: 0.2 }, { units: 8, activation: "gelu" }] }],
  ["mmoe", { type: "mmoe", experts: 3, layers: [{ units: 6, activation: "tanh", layernorm: true }, 5] }],
  ["cgc", { type: "cgc", shared_experts: 2, task_experts: 1, layers: [{ units: 5, activation: "silu", dropout: 0.1 }] }],
  ["ple", { type: "ple", levels: 2, shared_experts: 1, task_experts: 1, layers: [{ units: 5, activation: "tanh", dropout: 0.1 }] }],
  ["cross_stitch", { type: "cross_stitch", layers: [{ units: 6, layernorm: true }, { units: 4, dropout: 0.1 }] }],
];

function model(architecture: unknown, weighting = "static"): Model {
  const spec = validateSpec({
    inputs: { numeric: ["a", "b", "c"], categorical: [{ column: "c0", dim: 3 }], tensor: 2 },
    architecture,
    tasks: [
      { name: "bin", type: "binary", label: "yb", tower: [{ units: 4, activation: "tanh" }] },
      { name: "cls", type: "multiclass", label: "yc", classes: ["p", "q", "r"], tower: [{ units: 3, layernorm: true }] },
      { name: "reg", type: "regression", label: "yr", tower: [{ units: 3, activation: "relu" }] },
      { name: "grp", type: "regression", label: "yg", group_by: "g" },
    ],
    training: { relations: [{ tasks: ["bin", "reg"], lambda: 0.5 }], weighting: { type: weighting } },
  });
  const pre: Preprocessing = {
    numeric: spec.inputs.numeric.map((column) => ({ column, mean: 0, std: 1 })),
    categorical: [{ column: "c0", vocab: ["u", "v", "w"] }],
    tasks: spec.tasks.map((t) => ({ name: t.name, classes: t.classes, groups: t.group_by ? ["g0", "g1", "g2"] : null, target: null })),
  };
  return new Model(spec, pre, k);
}

for (const [name, architecture] of ARCHS) {
  for (const weighting of ["static", "uncertainty"]) {
    test(`${name} (${weighting}): planBytes equals the bytes compile() allocates, training and inference`, () => {
      const m = model(architecture, weighting);
      try {
        for (const batch of [1, 3, 16, 64]) {
          for (const training of [true, false]) {
            const what = `${name}, batch ${batch}, ${training ? "training" : "inference"}`;
            const before = arena.used;
            const plan = planMemory({ graph: m.graph, batch, training });
            assert.is(arena.used, before, `${what}: planning allocated`);
            assert.is(planBytes(m.graph, batch, training), plan.bytes, what);
            const { program } = m.program(batch, training);
            assert.is(arena.used - before, plan.bytes, `${what}: arena used grew by ${arena.used - before}, planned ${plan.bytes}`);
            assert.is(program.bytes, plan.bytes, `${what}: program.bytes`);
            assert.is(plan.block + plan.gradients + plan.scratch, plan.bytes, `${what}: parts`);
            if (!training) assert.is(plan.gradients, 0, what);
            else assert.ok(plan.gradients > 0 && plan.scratch > 0, what);
            for (let i = 1; i < plan.tensors.length; i++) assert.ok(plan.tensors[i - 1].bytes >= plan.tensors[i].bytes, `${what}: tensors sorted`);
          }
        }
      } finally {
        m.dispose();
      }
    });
  }
}

test("compile() with its own targets matches planMemory with the same targets (a dense chain)", () => {
  const g = new Graph("chain");
  let h = g.input("x", "f32", ["N", 8]);
  for (let i = 0; i < 4; i++) {
    const W = g.param(`l${i}.weight`, [8, 8], { kind: "uniform", limit: 0.3 }, "shared");
    const b = g.param(`l${i}.bias`, [8], { kind: "zeros" }, "shared");
    h = g.add1("dense", [h, W, b], { act: i % 2 ? "relu" : "none" }, `l${i}`);
  }
  h = g.add1("tanh", [h], {}, "out");
  const offs = new Map<Value, number>();
  let at = 0;
  for (const v of g.params()) {
    offs.set(v, at);
    at += Math.ceil((numel(v.shape, 1) * 4) / 16) * 16;
  }
  const block = arena.allocBytes(2 * at);
  const host: HostState = { losses: new Float64Array(0), relations: new Float64Array(0), scales: new Float64Array(0), validCount: { value: 0 }, rows: { value: 0 }, rng: { seedLo: 1, seedHi: 2, counter: 0 } };
  try {
    for (const training of [false, true]) {
      for (const batch of [1, 5, 32]) {
        const region = arena.region();
        const before = arena.used;
        const planned = planMemory({ graph: g, batch, training, targets: [h], roots: training ? [h] : [] });
        const p = compile({ graph: g, k, batch, training, targets: [h], roots: training ? [h] : [], param: (v) => ({ p: block + offs.get(v)!, g: block + at + offs.get(v)! }), memory: region, host });
        try {
          assert.is(arena.used - before, planned.bytes, `batch ${batch}, ${training ? "training" : "inference"}`);
          assert.is(p.bytes, planned.bytes);
        } finally {
          p.dispose();
          region.dispose();
        }
      }
    }
  } finally {
    arena.free(block);
  }
});

test("a plan of many gigabytes is computed quickly, exactly, without allocating", () => {
  const g = new Graph("huge");
  const x = g.input("x", "f32", ["N", 135]);
  const W = g.param("big.weight", [135, 1_000_000], { kind: "zeros" }, "shared");
  const b = g.param("big.bias", [1_000_000], { kind: "zeros" }, "shared");
  const y = g.add1("dense", [x, W, b], { act: "relu" }, "big");
  const grown = k.memory.buffer.byteLength, used = arena.used;
  const t0 = performance.now();
  const plan = planMemory({ graph: g, batch: 65536, training: true, targets: [y], roots: [y] });
  const ms = performance.now() - t0;
  assert.ok(ms < 1000, `${ms} ms`);
  assert.is(k.memory.buffer.byteLength, grown);
  assert.is(arena.used, used);
  const act = 65536 * 1_000_000 * 4;
  assert.is(plan.tensors[0].name, "big");
  assert.equal(plan.tensors[0].dims, [65536, 1_000_000]);
  assert.is(plan.tensors[0].bytes, act);
  // block: x and y (both live to the end); gradient of y; relu's dZ scratch.
  assert.is(plan.block, 65536 * 135 * 4 + act);
  assert.is(plan.gradients, act);
  assert.is(plan.scratch, act);
  assert.ok(plan.bytes > 2 ** 32 * 100);
});

test.run();
