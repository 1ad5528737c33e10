// The gradient accumulation planner (src/graph/grad-plan.ts), against an independent model, and inside compile:
//
//   unit: for scripted and random sequences of beta / accumulate / betaAll calls over a few values (some without
//   a gradient buffer, address 0), the returned betas and the zero fills it inserts equal what "the first writer
//   of a value overwrites, later writers accumulate; an accumulate-only first writer, and the first-written values
//   of a betaAll whose values disagree, get a zero fill" implies. Every sequence is also executed against simulated
//   gradient buffers that start as garbage (NaN): each buffer must end as the exact sum of what was written into it,
//   and no buffer may be filled that did not need it. `unwritten` fills exactly the parameters not written (with the
//   caller's addresses), never a `weighting` parameter.
//
//   compile: an embedding table read twice (accumulate), a value read by three heads (beta 0 then 1, 1), a weight
//   shared by two heads with their own biases (a mixed betaAll), a layer norm (betaAll, all first) and a `weighting`
//   parameter. After NaN-poisoning every gradient buffer, the full backward equals finite differences of the whole
//   objective, and backwardFor([loss_t]) gives task t's gradient only: shared parameters equal the finite differences
//   of that task's loss, other tasks' heads are zero, the weighting parameter's gradient is left alone.
//
// This file is the mutation-testing target of src/graph/grad-plan.ts (tools/mutate.mjs, group "planner").
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng } from "../helpers.ts";
import { GradPlan } from "../../src/graph/grad-plan.ts";
import { Graph, type Role, type Value } from "../../src/graph/graph.ts";
import type { Step } from "../../src/graph/op.ts";
import { Rig, mse64, hasNaN, type Feed } from "./harness.ts";
import { relErr } from "../helpers.ts";

// ---- unit tests ----------------------------------------------------------------------------------------------

/** A value as the planner sees it: identity and role only. */
const val = (id: number, role: Role = "shared"): Value => ({ id, name: `v${id}`, dtype: "f32", shape: [id + 1], kind: "param", producer: null, role, requiresGrad: true }) as Value;

interface Fixture {
  plan: GradPlan;
  vs: Value[];
  addr: Map<Value, number>;
  size: Map<Value, number>;
  /** Every fill call made so far: [n, ptr, value]. */
  fills: [number, number, number][];
  /** Run steps (the fills the planner returned). */
  run(steps: Step[]): void;
}

/** Values v0…v(n−1); those listed in `zero` have no gradient buffer (address 0). Sizes differ, addresses are 1000·(i+1). */
function fixture(n: number, zero: number[] = [], roles: Role[] = []): Fixture {
  const vs = Array.from({ length: n }, (_, i) => val(i, roles[i]));
  const addr = new Map(vs.map((v, i) => [v, zero.includes(i) ? 0 : 1000 * (i + 1)]));
  const size = new Map(vs.map((v, i) => [v, 3 + 2 * i]));
  const fills: [number, number, number][] = [];
  const plan = new GradPlan({ addr: (v) => addr.get(v)!, size: (v) => size.get(v)! }, (count, ptr, value) => {
    fills.push([count, ptr, value]);
    return 0;
  });
  return { plan, vs, addr, size, fills, run: (steps) => steps.forEach((s) => s()) };
}

/** The fill the planner must make for v: [size, address, 0]. */
const fillOf = (f: Fixture, v: Value): [number, number, number] => [f.size.get(v)!, f.addr.get(v)!, 0];

test("beta: the first writer overwrites (0), every later writer accumulates (1)", () => {
  const f = fixture(3);
  const [a, b] = f.vs;
  assert.is(f.plan.has(a), false);
  assert.is(f.plan.beta(a), 0);
  assert.is(f.plan.has(a), true);
  assert.is(f.plan.beta(a), 1);
  assert.is(f.plan.beta(a), 1);
  assert.is(f.plan.has(b), false, "writing a marks only a");
  assert.is(f.plan.beta(b), 0);
  assert.is(f.plan.beta(b), 1);
  assert.is(f.plan.has(f.vs[2]), false);
  const p = f.plan.takePending();
  assert.is(p.length, 0, "beta never plans a fill");
  f.run(p);
  assert.equal(f.fills, []);
});

test("beta: a value without a gradient buffer is never written: beta 0 every time, not marked", () => {
  const f = fixture(2, [0]);
  const [z, a] = f.vs;
  assert.is(f.plan.beta(z), 0);
  assert.is(f.plan.beta(z), 0, "a second writer of a value without a buffer still gets 0");
  assert.is(f.plan.has(z), false);
  assert.is(f.plan.beta(a), 0);
  assert.is(f.plan.takePending().length, 0);
  // Not marked: a parameter without a buffer in this backward is still unwritten (zero-filled at the caller's address).
  const steps = f.plan.unwritten([z, a], () => 777);
  f.run(steps);
  assert.equal(f.fills, [[f.size.get(z)!, 777, 0]]);
});

test("accumulate: zero-fills before the first writer only, then later writers accumulate", () => {
  const f = fixture(3);
  const [a, b, c] = f.vs;
  f.plan.accumulate(a);
  assert.is(f.plan.has(a), true);
  const p1 = f.plan.takePending();
  assert.is(p1.length, 1);
  assert.equal(f.fills, [], "fills are steps: nothing is filled at planning time");
  f.run(p1);
  assert.equal(f.fills, [fillOf(f, a)]);
  f.plan.accumulate(a); // a second accumulate-only writer: no second fill
  assert.is(f.plan.takePending().length, 0);
  assert.is(f.plan.beta(a), 1, "after an accumulate-only writer, a beta writer accumulates");
  // Written first by a beta writer: no fill for a later accumulate-only writer.
  assert.is(f.plan.beta(b), 0);
  f.plan.accumulate(b);
  assert.is(f.plan.takePending().length, 0);
  // Running the same planned steps again fills again (steps run every backward).
  f.plan.accumulate(c);
  const p3 = f.plan.takePending();
  f.fills.length = 0;
  f.run(p3);
  f.run(p3);
  assert.equal(f.fills, [fillOf(f, c), fillOf(f, c)]);
});

test("accumulate: a value without a gradient buffer gets no fill and is not marked", () => {
  const f = fixture(2, [1]);
  const [a, z] = f.vs;
  f.plan.accumulate(z);
  assert.is(f.plan.has(z), false);
  assert.is(f.plan.takePending().length, 0);
  f.plan.accumulate(z);
  assert.is(f.plan.takePending().length, 0);
  assert.is(f.plan.beta(a), 0, "other values are unaffected");
  assert.equal(f.fills, []);
});

test("betaAll: all first → 0 and no fill; every value is then written", () => {
  const f = fixture(3);
  const [a, b, c] = f.vs;
  assert.is(f.plan.betaAll([a, b]), 0);
  assert.is(f.plan.takePending().length, 0);
  assert.ok(f.plan.has(a) && f.plan.has(b) && !f.plan.has(c));
  assert.is(f.plan.beta(a), 1);
  assert.is(f.plan.beta(b), 1);
  // All written already → 1, no fill.
  assert.is(f.plan.betaAll([a, b]), 1);
  assert.is(f.plan.takePending().length, 0);
  assert.equal(f.fills, []);
});

test("betaAll: values that disagree → 1, after zero-filling the first-written ones only (in order)", () => {
  const f = fixture(4);
  const [a, b, c, d] = f.vs;
  assert.is(f.plan.beta(b), 0);
  assert.is(f.plan.betaAll([a, b, c]), 1);
  assert.ok(f.plan.has(a) && f.plan.has(c) && !f.plan.has(d));
  const p = f.plan.takePending();
  assert.is(p.length, 2);
  f.run(p);
  assert.equal(f.fills, [fillOf(f, a), fillOf(f, c)]);
  assert.is(f.plan.beta(a), 1);
  assert.is(f.plan.beta(c), 1);
  // Only the last one unwritten.
  f.fills.length = 0;
  assert.is(f.plan.betaAll([a, b, c, d]), 1);
  f.run(f.plan.takePending());
  assert.equal(f.fills, [fillOf(f, d)]);
});

test("betaAll: values without a gradient buffer are ignored (none live → 0; they never force a fill or get one)", () => {
  const f = fixture(4, [0, 2]);
  const [z0, a, z2, b] = f.vs;
  assert.is(f.plan.betaAll([]), 0);
  assert.is(f.plan.betaAll([z0, z2]), 0);
  assert.is(f.plan.betaAll([z0, z2]), 0, "still 0: nothing was marked");
  assert.ok(!f.plan.has(z0) && !f.plan.has(z2));
  assert.is(f.plan.takePending().length, 0);
  // A live first value with a dead one: all (live) first → 0, the dead one stays unmarked.
  assert.is(f.plan.betaAll([z0, a]), 0);
  assert.ok(f.plan.has(a) && !f.plan.has(z0));
  // A written live value with a dead one: 1, and no fill for the dead one.
  assert.is(f.plan.betaAll([a, z2]), 1);
  assert.is(f.plan.takePending().length, 0);
  // Mixed: written a, first b, dead z0 → fill b only.
  assert.is(f.plan.betaAll([z0, a, b]), 1);
  f.run(f.plan.takePending());
  assert.equal(f.fills, [fillOf(f, b)]);
  assert.ok(!f.plan.has(z0) && !f.plan.has(z2));
});

test("betaAll: a value listed twice counts once", () => {
  const f = fixture(2);
  const [a, b] = f.vs;
  assert.is(f.plan.betaAll([a, a]), 0);
  assert.is(f.plan.betaAll([b, b, a]), 1);
  f.run(f.plan.takePending());
  assert.equal(f.fills, [fillOf(f, b)]);
});

test("takePending: starts empty, returns the fills planned since the last call exactly once", () => {
  const f = fixture(3);
  const [a, b, c] = f.vs;
  const empty = f.plan.takePending();
  assert.ok(Array.isArray(empty));
  assert.is(empty.length, 0);
  f.plan.accumulate(a);
  f.plan.accumulate(b);
  const p = f.plan.takePending();
  assert.is(p.length, 2);
  const again = f.plan.takePending();
  assert.is(again.length, 0, "pending fills are handed out once");
  f.plan.accumulate(c);
  const q = f.plan.takePending();
  assert.is(q.length, 1);
  f.run(p);
  f.run(q);
  assert.equal(f.fills, [fillOf(f, a), fillOf(f, b), fillOf(f, c)]);
  assert.is(f.plan.takePending().length, 0);
});

test("unwritten: fills exactly the unwritten parameters at the caller's addresses, in order; never weighting ones", () => {
  const roles: Role[] = ["shared", "task:a", "weighting", "gate:a", "shared", "weighting", "task:b"];
  const f = fixture(7, [4], roles);
  const [p0, p1, p2, p3, p4, p5, p6] = f.vs;
  f.plan.beta(p1);
  f.plan.accumulate(p3);
  f.plan.betaAll([p5]); // a weighting parameter written by a node: no fill either way
  f.run(f.plan.takePending());
  f.fills.length = 0;
  const at = (v: Value) => (v === p6 ? 0 : 50000 + 100 * v.id); // the caller's own addresses (p6: none)
  const steps = f.plan.unwritten(f.vs, at);
  assert.equal(f.fills, [], "unwritten returns steps; nothing filled yet");
  assert.is(steps.length, 2);
  f.run(steps);
  // p0: unwritten shared; p2: weighting (never); p4: no buffer in this backward but unwritten → filled at the caller's
  // address, with its size; p6: the caller has no address for it.
  assert.equal(f.fills, [
    [f.size.get(p0)!, at(p0), 0],
    [f.size.get(p4)!, at(p4), 0],
  ]);
  void p2;
  // An empty parameter list, or all written: no steps.
  assert.equal(f.plan.unwritten([], at), []);
  assert.equal(f.plan.unwritten([p1, p3], at), []);
  // A fresh plan: every non-weighting parameter with an address.
  const g = fixture(3, [], ["weighting", "task:x", "shared"]);
  const s = g.plan.unwritten(g.vs, (v) => 10 + v.id * 1000);
  g.run(s);
  assert.equal(g.fills, [
    [g.size.get(g.vs[1])!, 1010, 0],
    [g.size.get(g.vs[2])!, 2010, 0],
  ]);
});

/** The rule, stated independently: what the planner must answer and fill, given who wrote what so far. */
class Model {
  readonly written = new Set<Value>();
  constructor(private readonly live: (v: Value) => boolean) {}
  beta(v: Value): { beta: number; fill: Value[] } {
    if (!this.live(v)) return { beta: 0, fill: [] };
    const first = !this.written.has(v);
    this.written.add(v);
    return { beta: first ? 0 : 1, fill: [] };
  }
  accumulate(v: Value): { fill: Value[] } {
    if (!this.live(v) || this.written.has(v)) return { fill: [] };
    this.written.add(v);
    return { fill: [v] };
  }
  betaAll(vs: Value[]): { beta: number; fill: Value[] } {
    const live = [...new Set(vs)].filter(this.live);
    const fresh = live.filter((v) => !this.written.has(v));
    live.forEach((v) => this.written.add(v));
    if (fresh.length === live.length) return { beta: 0, fill: [] };
    return { beta: 1, fill: fresh };
  }
}

test("random sequences: betas and fills match the model; simulated buffers end as the exact sum of their writes", () => {
  const rng = new Rng(2024);
  let calls = 0, fillsSeen = 0, mixed = 0;
  for (let trial = 0; trial < 400; trial++) {
    const n = 2 + rng.int(5);
    const zero = Array.from({ length: n }, (_, i) => i).filter(() => rng.next() < 0.25);
    const roles: Role[] = Array.from({ length: n }, () => (["shared", "task:t", "gate:t", "weighting"] as Role[])[rng.int(4)]);
    const f = fixture(n, zero, roles);
    const model = new Model((v) => f.addr.get(v)! !== 0);
    const byPtr = new Map<number, Value>();
    for (const v of f.vs) if (f.addr.get(v)) byPtr.set(f.addr.get(v)!, v);
    // Simulated gradient buffers: garbage at the start; what each should hold: the sum of the writes.
    const mem = new Map(f.vs.map((v) => [v, new Float64Array(f.size.get(v)!).fill(NaN)]));
    const want = new Map(f.vs.map((v) => [v, 0]));
    const touched = new Set<Value>();
    const write = (v: Value, beta: number, x: number) => {
      if (!f.addr.get(v)) return; // an op writes no gradient it has no buffer for
      const m = mem.get(v)!;
      for (let i = 0; i < m.length; i++) m[i] = beta === 0 ? x : beta * m[i] + x; // beta 0 overwrites (garbage included)
      want.set(v, want.get(v)! + x);
      touched.add(v);
    };
    const scatter = (v: Value, x: number) => {
      if (!f.addr.get(v)) return;
      const m = mem.get(v)!;
      for (let i = 0; i < m.length; i++) m[i] += x;
      want.set(v, want.get(v)! + x);
      touched.add(v);
    };
    /** Run the planned fills against simulated memory, checking them against the model's. */
    const applyFills = (expected: Value[], what: string) => {
      const steps = f.plan.takePending();
      assert.is(steps.length, expected.length, `${what}: fills planned`);
      const before = f.fills.length;
      f.run(steps);
      const made = f.fills.slice(before);
      assert.equal(made, expected.map((v) => fillOf(f, v)), `${what}: fills made`);
      for (const [count, ptr, value] of made) {
        const v = byPtr.get(ptr)!;
        assert.is(count, mem.get(v)!.length);
        mem.get(v)!.fill(value);
      }
      fillsSeen += made.length;
    };
    const len = 1 + rng.int(12);
    const script: string[] = [];
    for (let s = 0; s < len; s++) {
      calls++;
      const x = 1 + rng.int(9); // exact small integers: sums are exact in f64
      const kind = rng.int(3);
      if (kind === 0) {
        const v = f.vs[rng.int(n)];
        script.push(`beta(${v.name})`);
        const e = model.beta(v);
        const got = f.plan.beta(v);
        assert.is(got, e.beta, `trial ${trial}: ${script.join(", ")}: beta`);
        applyFills(e.fill, `trial ${trial}: ${script.join(", ")}`);
        write(v, got, x);
      } else if (kind === 1) {
        const v = f.vs[rng.int(n)];
        script.push(`accumulate(${v.name})`);
        const e = model.accumulate(v);
        f.plan.accumulate(v);
        applyFills(e.fill, `trial ${trial}: ${script.join(", ")}`);
        scatter(v, x);
      } else {
        const vs = Array.from({ length: 1 + rng.int(3) }, () => f.vs[rng.int(n)]);
        script.push(`betaAll(${vs.map((v) => v.name)})`);
        const e = model.betaAll(vs);
        if (e.fill.length) mixed++;
        const got = f.plan.betaAll(vs);
        assert.is(got, e.beta, `trial ${trial}: ${script.join(", ")}: betaAll`);
        applyFills(e.fill, `trial ${trial}: ${script.join(", ")}`);
        for (const v of new Set(vs)) write(v, got, x);
      }
      for (const v of f.vs) assert.is(f.plan.has(v), model.written.has(v), `trial ${trial}: ${script.join(", ")}: has(${v.name})`);
    }
    // Every buffer written holds exactly the sum of its writes; one never written is untouched (still garbage).
    for (const v of f.vs) {
      const m = mem.get(v)!;
      if (touched.has(v)) assert.equal(Array.from(m), new Array(m.length).fill(want.get(v)), `trial ${trial}: ${script.join(", ")}: ${v.name}'s buffer`);
      else assert.ok(m.every(Number.isNaN), `trial ${trial}: ${v.name} was filled but never written`);
    }
    // unwritten: the caller's addresses (some parameters have one even without a buffer in this backward).
    const callerAddr = (v: Value) => (v.id % 3 === 2 ? 0 : 90000 + 100 * v.id);
    const before = f.fills.length;
    f.run(f.plan.unwritten(f.vs, callerAddr));
    const expected = f.vs.filter((v) => v.role !== "weighting" && !model.written.has(v) && callerAddr(v) !== 0).map((v) => [f.size.get(v)!, callerAddr(v), 0]);
    assert.equal(f.fills.slice(before), expected, `trial ${trial}: ${script.join(", ")}: unwritten`);
  }
  assert.ok(calls > 2000 && fillsSeen > 200 && mixed > 50, `coverage: ${calls} calls, ${fillsSeen} fills, ${mixed} mixed betaAll`);
});

// ---- inside compile ----------------------------------------------------------------------------------------------

const { k, arena } = await setup();
const B = 6;
const VOCAB = 5;

interface Net {
  g: Graph;
  feeds: Map<Value, Feed>;
  losses: Value[];
  outs: Value[];
  labels: Float32Array[];
  masks: Float32Array[];
  h: Value;
  /** The three dense nodes' outputs that read h. */
  heads: Value[];
  /** A per-group output read only by group_gather (an accumulate-only activation gradient). */
  dev: Value;
  p: Record<string, Value>;
}

function net(): Net {
  const rng = new Rng(31);
  const g = new Graph("planner");
  const feeds = new Map<Value, Feed>();
  const inF = (name: string, w: number, data: Float32Array) => {
    const v = g.input(name, "f32", w ? ["N", w] : ["N"]);
    feeds.set(v, data);
    return v;
  };
  const inI = (name: string, data: number[]) => {
    const v = g.input(name, "i32", ["N"]);
    feeds.set(v, Int32Array.from(data));
    return v;
  };
  const param = (name: string, shape: number[], role: Role) => g.param(name, shape, { kind: "zeros" }, role);
  const x = inF("x", 4, rng.f32(B * 4, () => rng.normal()));
  const T = param("emb", [VOCAB, 3], "shared");
  const i1 = inI("i1", [0, 2, 4, 2, 1, 2]), i2 = inI("i2", [2, 3, 0, 2, 4, 4]);
  // One table read by two lookups: both scatter-add into its gradient (one zero fill, before the first).
  const e1 = g.add1("embedding", [T, i1]), e2 = g.add1("embedding", [T, i2]);
  const x0 = g.add1("concat", [x, e1, e2]);
  const p = {
    emb: T,
    Ws: param("trunk.weight", [10, 6], "shared"),
    bs: param("trunk.bias", [6], "shared"),
    lg: param("trunk.ln_scale", [6], "shared"),
    lb: param("trunk.ln_bias", [6], "shared"),
    W0: param("head0.weight", [6, 2], "task:t0"),
    b0: param("head0.bias", [2], "task:t0"),
    Wg: param("head0.groups.weight", [10, 6], "task:t0"),
    bg: param("head0.groups.bias", [6], "task:t0"),
    W1: param("head12.weight", [6, 2], "task:t1"), // shared by the heads of t1 and t2: a mixed betaAll
    b1: param("head1.bias", [2], "task:t1"),
    b2: param("head2.bias", [2], "task:t2"),
    Wv: param("weighting.mix", [4, 2], "weighting"), // read only on t1's path
  };
  const z = g.add1("dense", [x0, p.Ws, p.bs], {}, "trunk");
  // h = tanh(layernorm(z)): the layer norm writes dz, dg, db with one beta (all first).
  const h = g.add1("tanh", [g.add1("layernorm", [z, p.lg, p.lb], {}, "trunk.ln")], {}, "h");
  // x0 is read by the trunk and by task 0's group heads; h by the three heads.
  const dev = g.add1("dense", [x0, p.Wg, p.bg], {}, "head0.groups");
  const y0 = g.add1("dense", [h, p.W0, p.b0], {}, "head0");
  const y1 = g.add1("dense", [h, p.W1, p.b1], {}, "head1");
  const y2 = g.add1("dense", [h, p.W1, p.b2], {}, "head2");
  const y0b = g.add1("add", [y0, g.add1("group_gather", [dev, inI("grp", [2, 0, 1, 2, 2, 0])], { groups: 3 }, "head0.pick")], {}, "out0");
  const y1b = g.add1("add", [y1, g.add1("dense", [x, p.Wv], {}, "mix")], {}, "out1");
  const outs = [y0b, y1b, y2];
  const labels: Float32Array[] = [], masks: Float32Array[] = [];
  const losses = outs.map((y, t) => {
    const lab = rng.f32(B * 2, () => rng.normal()), mask = Float32Array.from({ length: B }, (_, r) => ((r + t) % 4 === 3 ? 0 : 1));
    labels.push(lab);
    masks.push(mask);
    return g.add1("mse", [y, inF(`label${t}`, 2, lab), inF(`mask${t}`, 0, mask)], { task: t }, `loss${t}`);
  });
  return { g, feeds, losses, outs, labels, masks, h, heads: [y0, y1, y2], dev, p };
}

/** The kernels with fill_f32x4 wrapped: every fill the program makes while `fills.on` is recorded as [n, ptr]. */
const fills = { on: false, log: [] as [number, number][] };
const kFill = (() => {
  const f = k.fill_f32x4 as (n: number, ptr: number, value: number) => number;
  return Object.assign(Object.create(null), k, {
    fill_f32x4: (n: number, ptr: number, value: number) => {
      if (fills.on) {
        assert.is(value, 0, "the planner only fills zeros");
        fills.log.push([n, ptr]);
      }
      return f(n, ptr, value);
    },
  }) as typeof k;
})();

const SCALES = [0.7, 1.3, 0.9];

function rigFor(n: Net): Rig {
  const rng = new Rng(8);
  return new Rig({
    graph: n.g,
    k: kFill,
    arena,
    batch: B,
    training: true,
    targets: [...n.outs, ...n.losses, n.h],
    roots: n.losses,
    feeds: n.feeds,
    init: (v) => {
      const size = (v.shape as number[]).reduce((a, c) => a * c, 1);
      return v.name.endsWith("ln_scale") ? rng.f32(size, () => 1 + 0.3 * rng.normal()) : rng.f32(size, () => 0.7 * rng.uniform());
    },
    scales: SCALES,
    tasks: 3,
  });
}

/** Per-task losses in float64 from the outputs of the last forward. */
const taskLosses = (n: Net, rig: Rig) => n.outs.map((y, t) => mse64(rig.read(y), n.labels[t], n.masks[t], 2));

/** Finite differences of every task's loss with respect to every parameter element: fd[param][task][i]. */
function fdAll(n: Net, rig: Rig, h = 4e-3): Map<Value, Float64Array[]> {
  const out = new Map<Value, Float64Array[]>();
  for (const v of rig.params) {
    const p0 = rig.readParam(v), cur = p0.slice();
    const per = n.losses.map(() => new Float64Array(p0.length));
    for (let i = 0; i < p0.length; i++) {
      cur[i] = p0[i] + h;
      const up = cur[i];
      rig.writeParam(v, cur);
      rig.forward();
      const lp = taskLosses(n, rig);
      cur[i] = p0[i] - h;
      const dn = cur[i];
      rig.writeParam(v, cur);
      rig.forward();
      const lm = taskLosses(n, rig);
      cur[i] = p0[i];
      lp.forEach((l, t) => (per[t][i] = (l - lm[t]) / (up - dn)));
    }
    rig.writeParam(v, p0);
    out.set(v, per);
  }
  rig.forward();
  return out;
}

const net0 = net();
const rig0 = rigFor(net0);
const FD = fdAll(net0, rig0);
const TOL = 2e-3;
const close = (got: ArrayLike<number>, want: ArrayLike<number>, what: string) => {
  assert.not.ok(hasNaN(got), `${what}: NaN (a gradient left unwritten or accumulated into garbage)`);
  const e = relErr(got, want, 1e-3 * Math.sqrt(got.length));
  assert.ok(e <= TOL, `${what}: relative error ${e.toExponential(2)} > ${TOL}: got [${Array.from(got, (x) => x.toFixed(5))}], fd [${Array.from(want, (x) => x.toFixed(5))}]`);
};

/** Σ_j dY_j·W_jᵀ for the three heads reading h, from their output gradients (float64). */
function hGradFromHeads(n: Net, rig: Rig, heads: number[]): Float64Array {
  const W = [rig.readParam(n.p.W0), rig.readParam(n.p.W1), rig.readParam(n.p.W1)];
  const out = new Float64Array(B * 6);
  for (const j of heads) {
    const dy = rig.readActGrad(n.heads[j]);
    for (let r = 0; r < B; r++) for (let i = 0; i < 6; i++) for (let c = 0; c < 2; c++) out[r * 6 + i] += dy[r * 2 + c] * W[j][i * 2 + c];
  }
  return out;
}

test("compile: after NaN-poisoning every gradient buffer, the full backward equals finite differences of Σ scale·loss", () => {
  const rig = rig0, n = net0;
  // A backward at another point first (stale values everywhere), then poison, then the checked one, twice:
  // a planned fill or overwrite that only happens once would show on the second run.
  rig.forward();
  rig.run(rig.program.backward);
  for (let rep = 0; rep < 2; rep++) {
    rig.poisonGrads(NaN);
    rig.forward();
    expectFills(rig, n, rig.program.backward, FILLS.all, "full backward");
    for (const v of rig.params) {
      const want = FD.get(v)!.reduce((acc, d, t) => acc.map((a, i) => a + SCALES[t] * d[i]), new Float64Array(FD.get(v)![0].length));
      close(rig.readGrad(v), want, `full backward (run ${rep + 1}): ${v.name}`);
    }
    // h is read by three heads: its gradient is the sum of all three contributions (first writer 0, then 1, 1).
    const dh = rig.readActGrad(n.h), ref = hGradFromHeads(n, rig, [0, 1, 2]);
    assert.ok(relErr(dh, ref) < 1e-5, `h's gradient ${relErr(dh, ref).toExponential(2)} from the sum of its three readers`);
  }
});

test("compile: stale gradients (not NaN) are overwritten, not accumulated into", () => {
  const rig = rig0;
  rig.poisonGrads(NaN);
  rig.forward();
  rig.run(rig.program.backward);
  const clean = rig.params.map((v) => rig.readGrad(v));
  for (const x of [1e3, -7]) {
    rig.poisonGrads(x);
    rig.forward();
    rig.run(rig.program.backward);
    rig.params.forEach((v, i) => assert.equal(Array.from(rig.readGrad(v)), Array.from(clean[i]), `${v.name} after pre-filling with ${x}`));
  }
});

const owner: Record<string, number[]> = { W0: [0], b0: [0], Wg: [0], bg: [0], W1: [1, 2], b1: [1], b2: [2], Wv: [1] };

/** Zero fills each backward must make (and no others): per task, and for the full backward (key "all"). */
const FILLS: Record<string, string[]> = {
  // The table (accumulate-only, read twice), the group heads' output (accumulate-only), b1 (head1's betaAll: W1 is
  // already written by head2).
  all: ["emb", "dev", "b1"],
  // Other tasks' parameters are unwritten (zero-filled), except the weighting one.
  t0: ["emb", "dev", "W1", "b1", "b2"],
  t1: ["emb", "W0", "b0", "Wg", "bg", "b2"],
  t2: ["emb", "W0", "b0", "Wg", "bg", "b1"],
  t0t2: ["emb", "dev", "b1"],
};

/** Run `steps` recording the zero fills, and compare them (as a set of [elements, address]) with `want`. */
function expectFills(rig: Rig, n: Net, steps: readonly Step[], want: string[], what: string): void {
  fills.log.length = 0;
  fills.on = true;
  try {
    rig.run(steps);
  } finally {
    fills.on = false;
  }
  const where = (key: string): [number, number] => (key === "dev" ? [rig.size(n.dev), rig.program.grad(n.dev)] : [rig.size(n.p[key]), rig.paramGradAddr(n.p[key])]);
  const names = new Map(["dev", ...Object.keys(n.p)].map((key) => [where(key).join("@"), key]));
  const got = fills.log.map(([c, ptr]) => names.get(`${c}@${ptr}`) ?? `${c} elements at ${ptr}`).sort();
  assert.equal(got, [...want].sort(), `${what}: zero fills`);
}

for (let t = 0; t < 3; t++) {
  test(`compile: backwardFor([loss${t}]) gives task ${t}'s gradient only (shared = fd of its loss; other heads zero; weighting untouched)`, () => {
    const rig = rig0, n = net0;
    const steps = rig.program.backwardFor([n.losses[t]]);
    assert.is(rig.program.backwardFor([n.losses[t]]), steps, "cached per root set");
    for (let rep = 0; rep < 2; rep++) {
      rig.poisonGrads(NaN);
      rig.forward();
      expectFills(rig, n, steps, FILLS[`t${t}`], `backwardFor([loss${t}])`);
      for (const [key, v] of Object.entries(n.p)) {
        const got = rig.readGrad(v);
        const tasks = owner[key];
        if (!tasks || tasks.includes(t)) {
          const want = FD.get(v)![t].map((d) => SCALES[t] * d);
          close(got, want, `backwardFor(loss${t}), run ${rep + 1}: ${v.name}`);
        } else if (v.role === "weighting") assert.ok(Array.from(got).every(Number.isNaN), `${v.name} (weighting role) was written by another task's backward: [${Array.from(got)}]`);
        else assert.equal(Array.from(got), new Array(got.length).fill(0), `${v.name} belongs to another task: zero in task ${t}'s backward`);
      }
      const dh = rig.readActGrad(n.h), ref = hGradFromHeads(n, rig, t === 0 ? [0] : t === 1 ? [1] : [2]);
      assert.ok(relErr(dh, ref) < 1e-5, `h's gradient in task ${t}'s backward: ${relErr(dh, ref).toExponential(2)}`);
    }
  });
}

test("compile: per-task backwards sum to the full backward", () => {
  const rig = rig0, n = net0;
  const sum = new Map(rig.params.map((v) => [v, new Float64Array(rig.size(v))]));
  for (let t = 0; t < 3; t++) {
    rig.poisonGrads(NaN);
    rig.forward();
    rig.run(rig.program.backwardFor([n.losses[t]]));
    for (const v of rig.params) {
      const gr = rig.readGrad(v);
      if (v.role === "weighting" && t !== 1) continue;
      sum.get(v)!.forEach((_, i, a) => (a[i] += gr[i]));
    }
  }
  rig.poisonGrads(NaN);
  rig.forward();
  rig.run(rig.program.backward);
  for (const v of rig.params) {
    const e = relErr(rig.readGrad(v), sum.get(v)!);
    assert.ok(e < 1e-5, `${v.name}: Σ per-task ${e.toExponential(2)} from the full backward`);
  }
  // Two roots at once: tasks 0 and 2.
  rig.poisonGrads(NaN);
  rig.forward();
  expectFills(rig, n, rig.program.backwardFor([n.losses[0], n.losses[2]]), FILLS.t0t2, "backwardFor([loss0, loss2])");
  for (const [key, v] of Object.entries(n.p)) {
    const got = rig.readGrad(v);
    if (key === "Wv") assert.ok(Array.from(got).every(Number.isNaN), "the weighting parameter is left alone");
    else if (key === "b1") assert.equal(Array.from(got), [0, 0]);
    else {
      const want = FD.get(v)![0].map((d, i) => SCALES[0] * d + SCALES[2] * FD.get(v)![2][i]);
      close(got, want, `backwardFor(loss0, loss2): ${v.name}`);
    }
  }
});

test("compile: backwardFor refuses values that are not roots, and inference programs have no backward", () => {
  const n = net0;
  assert.throws(() => rig0.program.backwardFor([n.h]), /not a loss or relation/);
  const inf = new Rig({ graph: n.g, k, arena, batch: B, training: false, targets: n.outs, feeds: n.feeds, init: (v) => rig0.readParam(v) });
  try {
    assert.equal(inf.program.backward, []);
    assert.throws(() => inf.program.backwardFor([n.losses[0]]), /no backward/);
  } finally {
    inf.dispose();
  }
});

test.run();
