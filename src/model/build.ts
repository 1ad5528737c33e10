// Lowers a validated spec to a Program for batch size B: the input block, the trunk (hps, mmoe, cgc),
// per-task towers and heads, losses with row masks, and relation terms. Parameters come from a shared
// ParamStore, so a training program (B = batch_size) and an inference program (any B) use one set of weights.
import type { Activation, Layer, ModelSpec, Task } from "./spec.ts";
import type { Init, Param, ParamStore } from "./params.ts";
import { ProgramBuilder, type Program, type Tensor } from "./program.ts";
import type { Arena } from "../runtime/heap.ts";
import type { Kernels } from "../runtime/load.ts";

/** Sizes only the data can tell: vocabularies, class counts, groups. */
export interface DataDims {
  /** Numeric input columns (after the spec's list). */
  numeric: number;
  /** Vocabulary size (including the unknown bucket at index 0) of each categorical input, in spec order. */
  vocab: number[];
  /** Per task: output width (classes for multiclass, labels for multilabel/regression, 1 for binary). */
  outputs: number[];
  /** Per task: number of groups (group_by), or 0. */
  groups: number[];
}

/** Addresses the data loader fills for each batch, and where the program leaves its results. */
export interface ProgramIO {
  batch: number;
  /** X0 [B, D0]: numeric columns first (ld = x0.cols), then the tensor input, then embeddings (written by the program). */
  x0: Tensor;
  /** Column where the raw tensor input starts in X0. */
  tensorCol: number;
  /** One i32 [B] index vector per categorical input. */
  catIdx: number[];
  /** Valid-row mask f32 [B]: 1 for real rows, 0 for padding in the last batch. */
  valid: number;
  /** Number of valid rows in the current batch (set by the loader). */
  validCount: { value: number };
  tasks: TaskIO[];
  /** Loss values of the last forward, per task (masked means). */
  losses: Float64Array;
  /** Relation values of the last forward, per relation (½·Σ(a − b)² over valid rows, divided by the valid count). */
  relations: Float64Array;
  /** Per-task loss scales used by the next backward (the weighting strategy writes them). */
  scales: Float64Array;
}

export interface TaskIO {
  task: Task;
  width: number;
  groups: number;
  /** Labels: i32 [B] for multiclass, f32 [B, width] otherwise. */
  labels: number;
  /** f32 [B]: 1 where the label is present (and the row is valid). */
  mask: number;
  /** Grouped tasks: i32 [B] holding row·G + group. */
  gather: number;
  /** The task's prediction [B, width]: probabilities (binary, multiclass, multilabel) or values. */
  out: Tensor;
}

export interface Built {
  program: Program;
  io: ProgramIO;
}

/** Dropout seed and running counter, shared by all dropout layers of a program. */
export interface RngState {
  seedLo: number;
  seedHi: number;
  counter: number;
}

const initFor = (act: Activation, fanIn: number, fanOut: number): Init =>
  act === "relu" || act === "leaky_relu" || act === "gelu" ? { kind: "uniform", limit: Math.sqrt(6 / fanIn) } : { kind: "uniform", limit: Math.sqrt(6 / (fanIn + fanOut)) };

export function buildProgram(spec: ModelSpec, dims: DataDims, store: ParamStore, k: Kernels, arena: Arena, batch: number, training: boolean, rng: RngState): Built {
  const b = new ProgramBuilder(k, arena, batch, training);
  const K = {
    dense: b.call("dense_fwd_f32x4"),
    denseBx: b.call("dense_bwd_x_f32x4"),
    denseBw: b.call("dense_bwd_w_f32x4"),
    reluB: b.call("relu_bwd_f32x4"),
    fill: b.call("fill_f32x4"),
    copy: b.call("cols_copy_f32x4"),
  };
  const B = batch;
  const param = (name: string, shape: number[], init: Init, shared: boolean): Param => store.declare(name, shape, init, shared);
  // Parameter addresses are only known after allocation; programs are built after it (see Model).
  const P = (p: Param) => store.addr(p, "p");
  const G = (p: Param) => (training ? store.addr(p, "g") : 0);
  const pgrad = (p: Param) => ({ key: `param:${p.name}`, ptr: G(p), size: p.size });

  // ---- activations -------------------------------------------------------------------------------
  const actFwd: Record<Exclude<Activation, "none" | "relu">, string> = { leaky_relu: "leaky_relu", sigmoid: "sigmoid", tanh: "tanh", gelu: "gelu" };
  function activation(x: Tensor, act: Activation, name: string): Tensor {
    if (act === "none") return x;
    const y = b.tensor(name, x.cols, x.grad !== 0);
    const n = x.rows * x.cols;
    if (act === "relu") {
      const f = b.call("relu_fwd_f32x4"), g = K.reluB;
      b.node({ fwd: () => void f(n, x.ptr, y.ptr), writes: [b.gradOf(x)], bwd: (beta) => () => void g(n, y.ptr, y.grad, x.grad, beta(b.gradOf(x))) });
      return y;
    }
    const base = actFwd[act];
    const f = b.call(`${base}_fwd_f32x4`), g = b.call(`${base}_bwd_f32x4`);
    const alpha = 0.01;
    // Backward reads y (sigmoid, tanh) or x (leaky_relu, gelu): see assembly/kernels/act.ts.
    const usesX = act === "leaky_relu" || act === "gelu";
    b.node({
      fwd: act === "leaky_relu" ? () => void f(n, x.ptr, y.ptr, alpha) : () => void f(n, x.ptr, y.ptr),
      writes: [b.gradOf(x)],
      bwd: (beta) =>
        act === "leaky_relu"
          ? () => void g(n, x.ptr, y.grad, x.grad, beta(b.gradOf(x)), alpha)
          : () => void g(n, usesX ? x.ptr : y.ptr, y.grad, x.grad, beta(b.gradOf(x))),
    });
    return y;
  }

  /** Y = X·W + b with relu fused when possible; `out` receives the result when given. */
  function dense(x: Tensor, units: number, act: Activation, name: string, shared: boolean, out?: Tensor, init?: Init): Tensor {
    const W = param(`${name}.weight`, [x.cols, units], init ?? initFor(act, x.cols, units), shared);
    const bias = param(`${name}.bias`, [units], { kind: "zeros" }, shared);
    const fuse = act === "relu";
    const y = out && (fuse || act === "none") ? out : b.tensor(name, units, training);
    const m = B, kk = x.cols, n = units;
    b.node({
      fwd: () => void K.dense(m, kk, n, x.ptr, P(W), P(bias), y.ptr, fuse ? 1 : 0),
      writes: [pgrad(W), pgrad(bias), b.gradOf(x)],
      bwd: (beta) => () => {
        // relu: dZ = dY ⊙ [Y > 0], in place (dY is consumed only here).
        if (fuse) K.reluB(m * n, y.ptr, y.grad, y.grad, 0);
        K.denseBw(m, kk, n, x.ptr, y.grad, G(W), G(bias), beta(pgrad(W)));
        if (x.grad) K.denseBx(m, kk, n, y.grad, P(W), x.grad, beta(b.gradOf(x)));
      },
    });
    if (fuse || act === "none") return y;
    const a = activation(y, act, `${name}.act`);
    if (out) copyInto(a, out);
    return out ?? a;
  }

  function copyInto(src: Tensor, dst: Tensor): void {
    const m = src.rows, n = src.cols;
    b.node({
      fwd: () => void K.copy(m, n, src.ptr, n, dst.ptr, dst.cols, 0),
      writes: [b.gradOf(src)],
      bwd: (beta) => () => void (src.grad && K.copy(m, n, dst.grad, dst.cols, src.grad, n, beta(b.gradOf(src)))),
    });
  }

  function layernorm(x: Tensor, name: string, shared: boolean): Tensor {
    const g = param(`${name}.ln_scale`, [x.cols], { kind: "ones" }, shared);
    const be = param(`${name}.ln_bias`, [x.cols], { kind: "zeros" }, shared);
    const y = b.tensor(name, x.cols, training);
    const mean = arena.alloc(B), rstd = arena.alloc(B);
    const f = b.call("layernorm_fwd_f32x4"), bw = b.call("layernorm_bwd_f32x4");
    const m = B, n = x.cols;
    b.node({
      fwd: () => void f(m, n, x.ptr, P(g), P(be), y.ptr, mean, rstd, 1e-5),
      writes: [b.gradOf(x), pgrad(g), pgrad(be)],
      // One kernel writes dx, dg and db; dg/db are written once per step, so their beta is 0.
      bwd: (beta) => () => void bw(m, n, x.ptr, P(g), mean, rstd, y.grad, x.grad, G(g), G(be), beta(b.gradOf(x))),
    });
    return y;
  }

  function dropout(x: Tensor, p: number, name: string): Tensor {
    if (!training || p === 0) return x;
    const y = b.tensor(name, x.cols, true);
    const mask = arena.alloc(x.rows * x.cols);
    const n = x.rows * x.cols;
    const f = b.call("dropout_fwd_f32x4"), g = b.call("dropout_bwd_f32x4");
    b.node({
      fwd: () => {
        f(n, x.ptr, y.ptr, mask, rng.seedLo, rng.seedHi + Math.floor(rng.counter / 2 ** 31), rng.counter % 2 ** 31, p);
        rng.counter += n;
      },
      writes: [b.gradOf(x)],
      bwd: (beta) => () => void (x.grad && g(n, mask, y.grad, x.grad, beta(b.gradOf(x)))),
    });
    return y;
  }

  /** An MLP: each layer is dense → (layer norm) → activation → (dropout). The last result goes to `out` if given. */
  function mlp(x: Tensor, ls: Layer[], name: string, shared: boolean, out?: Tensor): Tensor {
    let h = x;
    ls.forEach((l, i) => {
      const last = i === ls.length - 1;
      const simple = !l.layernorm && (l.dropout === 0 || !training);
      const target = last && simple ? out : undefined;
      if (l.layernorm) {
        h = dense(h, l.units, "none", `${name}.${i}`, shared);
        h = activation(layernorm(h, `${name}.${i}`, shared), l.activation, `${name}.${i}.act`);
      } else {
        h = dense(h, l.units, l.activation, `${name}.${i}`, shared, target);
      }
      h = dropout(h, l.dropout, `${name}.${i}.drop`);
      if (last && out && h !== out) copyInto(h, out);
    });
    return ls.length === 0 && out ? (copyInto(x, out), out) : out ?? h;
  }

  // ---- inputs ------------------------------------------------------------------------------------
  const cats = spec.inputs.categorical;
  const tensorCol = dims.numeric;
  const embCol0 = tensorCol + spec.inputs.tensor;
  const d0 = embCol0 + cats.reduce((s, c) => s + c.dim, 0);
  // X0 needs a gradient only for its embedding columns (the rest is data).
  const x0 = b.tensor("x0", d0, cats.length > 0);
  const catIdx: number[] = [];
  let col = embCol0;
  cats.forEach((c, i) => {
    const table = param(`embedding.${c.column}`, [dims.vocab[i], c.dim], { kind: "uniform", limit: 0.05 }, true);
    const idx = arena.alloc(B);
    catIdx.push(idx);
    const at = col;
    const fwd = b.call("embed_fwd_f32x4"), bwd = b.call("embed_bwd_f32x4");
    b.node({
      fwd: () => void fwd(B, c.dim, idx, P(table), x0.ptr + at * 4, d0),
      writes: [pgrad(table)],
      accumulateOnly: true,
      bwd: () => () => void bwd(B, c.dim, idx, x0.grad + at * 4, d0, G(table)),
    });
    col += c.dim;
  });

  // ---- trunk ---------------------------------------------------------------------------------------
  const a = spec.architecture;
  const tasks = spec.tasks;
  const T = tasks.length;
  let towerInputs: Tensor[];
  if (a.type === "hps") {
    const h = mlp(x0, a.layers, "shared", true);
    towerInputs = tasks.map(() => h);
  } else {
    const n = a.layers[a.layers.length - 1].units;
    /** Experts stacked [e, B, n] (expert j's output is the j-th [B, n] block). */
    const stack = (name: string, e: number) => b.tensor(name, n, training, e * B);
    const slot = (s: Tensor, j: number, name: string) => b.view(name, s, j * B * n, B, n);
    const gateOver = (t: number, e: number, name: string): Tensor => {
      const logits = dense(x0, e, "none", `${name}`, true);
      const g = b.tensor(`${name}.softmax`, e, training);
      const f = b.call("softmax_fwd_f32x4"), bw = b.call("softmax_bwd_f32x4");
      b.node({ fwd: () => void f(B, e, logits.ptr, g.ptr), writes: [b.gradOf(logits)], bwd: (beta) => () => void bw(B, e, g.ptr, g.grad, logits.grad, beta(b.gradOf(logits))) });
      void t;
      return g;
    };
    const combine = (experts: Tensor, e: number, gate: Tensor, name: string): Tensor => {
      const y = b.tensor(name, n, training);
      const f = b.call("moe_combine_fwd_f32x4"), bw = b.call("moe_combine_bwd_f32x4");
      b.node({
        fwd: () => void f(B, e, n, experts.ptr, gate.ptr, y.ptr),
        writes: [b.gradOf(experts), b.gradOf(gate)],
        // The kernel writes dexperts and dgate with one beta; both are first written here (planned below).
        bwd: (beta) => {
          // One beta covers dexperts and dgate. The gate has this single consumer (its beta is 0) while the
          // expert stack may already hold other tasks' gradient (beta 1): then zero dgate first.
          const be = beta(b.gradOf(experts)), bg = beta(b.gradOf(gate));
          const zeroGate = be === 1 && bg === 0;
          return () => {
            if (zeroGate) K.fill(B * e, gate.grad, 0);
            bw(B, e, n, experts.ptr, gate.ptr, y.grad, experts.grad, gate.grad, be);
          };
        },
      });
      return y;
    };
    if (a.type === "mmoe") {
      const E = a.experts;
      const s = stack("experts", E);
      for (let j = 0; j < E; j++) mlp(x0, a.layers, `expert.${j}`, true, slot(s, j, `expert.${j}.out`));
      towerInputs = tasks.map((t, i) => combine(s, E, gateOver(i, E, `gate.${t.name}`), `mix.${t.name}`));
    } else {
      const ks = a.shared_experts, kt = a.task_experts;
      const shared = ks > 0 ? stack("shared_experts", ks) : null;
      for (let j = 0; j < ks; j++) mlp(x0, a.layers, `shared_expert.${j}`, true, slot(shared!, j, `shared_expert.${j}.out`));
      towerInputs = tasks.map((t, i) => {
        const s = stack(`experts.${t.name}`, kt + ks);
        for (let j = 0; j < kt; j++) mlp(x0, a.layers, `task_expert.${t.name}.${j}`, true, slot(s, j, `task_expert.${t.name}.${j}.out`));
        if (shared) {
          const tail = b.view(`experts.${t.name}.shared`, s, kt * B * n, ks * B, n);
          copyInto(shared, tail);
        }
        return combine(s, kt + ks, gateOver(i, kt + ks, `gate.${t.name}`), `mix.${t.name}`);
      });
    }
  }

  // ---- towers, heads, outputs, losses ---------------------------------------------------------------
  const valid = arena.alloc(B);
  const validCount = { value: B };
  const losses = new Float64Array(T);
  const scales = new Float64Array(T).fill(1);
  const taskIO: TaskIO[] = tasks.map((t, i) => {
    const width = dims.outputs[i];
    const groups = dims.groups[i];
    const h = mlp(towerInputs[i], t.tower, `tower.${t.name}`, false);
    let logits = dense(h, width, "none", `head.${t.name}`, false);
    let gather = 0;
    if (groups > 0) {
      // Group heads: pred[i] = shared(h_i) + dev_{g_i}(h_i). All groups' deviations are one dense call
      // [B, G·width]; each row gathers its own group's block (backward scatter-adds) and adds the shared head.
      const dev = dense(h, groups * width, "none", `head.${t.name}.groups`, false, undefined, { kind: "zeros" });
      gather = arena.alloc(B);
      const picked = b.tensor(`head.${t.name}.pick`, width, training);
      const shared = logits;
      const f = b.call("embed_fwd_f32x4"), bw = b.call("embed_bwd_f32x4");
      b.node({ fwd: () => void f(B, width, gather, dev.ptr, picked.ptr, width), writes: [b.gradOf(dev)], accumulateOnly: true, bwd: () => () => void bw(B, width, gather, picked.grad, width, dev.grad) });
      b.node({
        fwd: () => void K.copy(B, width, shared.ptr, width, picked.ptr, width, 1),
        writes: [b.gradOf(shared)],
        bwd: (beta) => () => void K.copy(B, width, picked.grad, width, shared.grad, width, beta(b.gradOf(shared))),
      });
      logits = picked;
    }
    const labels = arena.alloc(B * width);
    const mask = arena.alloc(B);
    const out = outputOf(t, logits);
    const lossName = t.loss === "bce" ? "bce" : t.loss === "xent" ? "xent" : t.loss;
    const fwd = b.call(`${lossName}_fwd_f32x4`), bwd = b.call(`${lossName}_bwd_f32x4`);
    const lg = logits, m = B, n = width;
    let f: () => number, g: (beta: number) => number;
    switch (t.loss) {
      case "xent":
        f = () => fwd(m, n, lg.ptr, labels, mask);
        g = (beta) => bwd(m, n, lg.ptr, labels, mask, lg.grad, scales[i], beta);
        break;
      case "bce":
        f = () => fwd(m, n, lg.ptr, labels, mask, t.pos_weight);
        g = (beta) => bwd(m, n, lg.ptr, labels, mask, lg.grad, t.pos_weight, scales[i], beta);
        break;
      case "huber":
        f = () => fwd(m, n, lg.ptr, labels, mask, t.huber_delta);
        g = (beta) => bwd(m, n, lg.ptr, labels, mask, lg.grad, t.huber_delta, scales[i], beta);
        break;
      default:
        f = () => fwd(m, n, lg.ptr, labels, mask);
        g = (beta) => bwd(m, n, lg.ptr, labels, mask, lg.grad, scales[i], beta);
    }
    b.node({ fwd: () => void (losses[i] = f()), writes: [b.gradOf(lg)], bwd: (beta) => () => void g(beta(b.gradOf(lg))) });
    return { task: t, width, groups, labels, mask, gather, out };
  });

  /** Probabilities for classification tasks, the values themselves for regression. */
  function outputOf(t: Task, logits: Tensor): Tensor {
    if (t.type === "regression") return logits;
    const related = spec.training.relations.some((r) => r.tasks.includes(t.name));
    const y = b.tensor(`out.${t.name}`, logits.cols, training && related);
    const n = logits.cols;
    if (t.type === "multiclass") {
      const f = b.call("softmax_fwd_f32x4"), g = b.call("softmax_bwd_f32x4");
      b.node({ fwd: () => void f(B, n, logits.ptr, y.ptr), writes: y.grad ? [b.gradOf(logits)] : [], bwd: (beta) => () => void (y.grad && g(B, n, y.ptr, y.grad, logits.grad, beta(b.gradOf(logits)))) });
    } else {
      const f = b.call("sigmoid_fwd_f32x4"), g = b.call("sigmoid_bwd_f32x4");
      b.node({ fwd: () => void f(B * n, logits.ptr, y.ptr), writes: y.grad ? [b.gradOf(logits)] : [], bwd: (beta) => () => void (y.grad && g(B * n, y.ptr, y.grad, logits.grad, beta(b.gradOf(logits)))) });
    }
    return y;
  }

  // ---- relations -------------------------------------------------------------------------------------
  const relations = new Float64Array(spec.training.relations.length);
  spec.training.relations.forEach((r, ri) => {
    const A = taskIO[tasks.findIndex((t) => t.name === r.tasks[0])].out;
    const Bt = taskIO[tasks.findIndex((t) => t.name === r.tasks[1])].out;
    const f = b.call("relation_fwd_f32x4"), g = b.call("relation_bwd_f32x4");
    const n = A.cols;
    b.node({
      fwd: () => void (relations[ri] = f(B, n, A.ptr, Bt.ptr, valid) / Math.max(1, validCount.value)),
      writes: [b.gradOf(A), b.gradOf(Bt)],
      bwd: (beta) => () => {
        // d(λ·R/valid)/da = λ/valid·(a − b); the kernel takes one beta, so each side is written in its own call.
        const s = r.lambda / Math.max(1, validCount.value);
        g(B, n, A.ptr, Bt.ptr, valid, A.grad, 0, s, beta(b.gradOf(A)));
        g(B, n, A.ptr, Bt.ptr, valid, 0, Bt.grad, s, beta(b.gradOf(Bt)));
      },
    });
  });

  const program = b.finish();
  return { program, io: { batch: B, x0, tensorCol, catIdx, valid, validCount, tasks: taskIO, losses, relations, scales } };
}
