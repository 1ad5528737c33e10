// Gate insight: which experts each task's gate uses. For every mixture of experts in a model's graph (a
// `moe_combine` node, src/ops/mixture.ts: input 0 the stack [N, E, n] of the expert outputs, input 1 the gate
// [N, E], softmax probabilities or DSelect-k's selector weights), the mean and standard deviation over rows of each
// expert's gate weight, in float64. What metrics.json's `gates` records:
//
//   gates: { "<moe_combine node name>": { task, experts: [label_0, …], mean: [m_0, …], std: [s_0, …], rows } }
//
// mean_j = (1/R)·Σ_r gate[r, j] and std_j = √((1/R)·Σ_r (gate[r, j] − mean_j)²) (population std) over the R rows;
// softmax gates give Σ_j mean_j = 1. Expert labels come from the graph: the producer of the stack's j-th input is
// named `<expert>.<layer>[.<suffix>…]` (src/arch/layers.ts mlp: `expert.2.0`, `task_expert.income.0.1.drop`), so
// the label is that name without the trailing layer index and suffixes (`expert.2`, `task_expert.income.0`).
// `task` is the task the node mixes for: `mix.<task>` (any prefix, e.g. a PLE level's) naming a task of the
// graph, else the `gate:<task>` role of the parameters the gate's own layer reads, else null (a shared mixture).
import type { Graph, Node, Value } from "../graph/graph.ts";
import { planBatch, type Model } from "../model/model.ts";
import type { Encoded } from "../data/preprocess.ts";

/** One mixture's gate statistics over the rows (see the file header). */
export interface GateStats {
  /** The task whose representation this mixture feeds, or null (a mixture shared by every task, e.g. PLE's). */
  task: string | null;
  /** One label per expert, in the stack's order (the gate's columns). */
  experts: string[];
  /** Per expert: the mean gate weight over the rows. */
  mean: number[];
  /** Per expert: the population standard deviation of its gate weight over the rows. */
  std: number[];
  /** Rows averaged over. */
  rows: number;
}

/** Gate statistics by moe_combine node name, in graph order; empty for a model without mixtures (HPS). */
export type GateSummary = Record<string, GateStats>;

/** A mixture of the graph: its node, the gate value [N, E], the task and the expert labels. */
export interface Mixture {
  node: Node;
  gate: Value;
  task: string | null;
  experts: string[];
}

/** `expert.2.0.drop` → `expert.2`: the producer's name without its trailing suffixes and layer index. */
function expertLabel(v: Value, j: number): string {
  const name = v.producer?.name ?? v.name;
  const m = /^(.+?)\.\d+(?:\.[A-Za-z_][\w]*)*$/.exec(name);
  return m ? m[1] : name || `expert ${j}`;
}

/** The task a mixture feeds (see the file header). */
function mixTask(graph: Graph, n: Node, gate: Value): string | null {
  const tasks = graph.tasks.map((t) => t.name);
  const m = /(?:^|\.)mix\.(.+)$/.exec(n.name);
  if (m && tasks.includes(m[1])) return m[1];
  // The gate's own layer: walk back from the gate value to the first node that reads parameters.
  let v: Value | null = gate;
  while (v?.producer) {
    const roles = v.producer.inputs.filter((x) => x.kind === "param").map((x) => x.role ?? "");
    const gateRole = roles.find((r) => r.startsWith("gate:"));
    if (gateRole) return gateRole.slice(5);
    if (roles.length) break;
    v = v.producer.inputs.find((x) => x.kind === "act") ?? null;
  }
  return null;
}

/** Every moe_combine node of the graph, in graph order, with its expert labels (duplicates get `#j`). */
export function mixtures(graph: Graph): Mixture[] {
  return graph.nodes
    .filter((n) => n.op === "moe_combine")
    .map((n) => {
      const [stack, gate] = n.inputs;
      const E = gate.shape[1] as number;
      const sources = stack.producer?.op === "stack" && stack.producer.inputs.length === E ? stack.producer.inputs : null;
      let experts = Array.from({ length: E }, (_, j) => (sources ? expertLabel(sources[j], j) : `expert ${j}`));
      if (new Set(experts).size !== E) experts = experts.map((e, j) => `${e}#${j}`);
      return { node: n, gate, task: mixTask(graph, n, gate), experts };
    });
}

/**
 * Gate statistics of every mixture over the rows of `data` (the model's inference forward, `batch` rows at a time).
 * The inference program keeps a gate's buffer until its last reader, the moe_combine node, has run (compile.ts
 * liveness), so each gate is read just before that node's step. Empty when the model has no mixtures or no rows.
 */
export function gateWeights(model: Model, data: Encoded, batch = 512): GateSummary {
  const mix = mixtures(model.graph);
  if (!mix.length || !data.rows) return {};
  const built = model.program(planBatch(data.rows, batch), false);
  const { program } = built, B = built.io.batch;
  const at = new Map<Node, number>(mix.map((m, i) => [m.node, i]));
  const steps = program.forwardNodes.map((n) => at.get(n) ?? -1);
  if (mix.some((m) => !program.forwardNodes.includes(m.node))) throw new Error(`model ${model.spec.name}: a mixture is not computed by the inference program`);
  // Float64 sums of g and g² per expert.
  const s1 = mix.map((m) => new Float64Array(m.experts.length)), s2 = mix.map((m) => new Float64Array(m.experts.length));
  const order = Int32Array.from({ length: data.rows }, (_, i) => i);
  for (let s = 0; s < data.rows; s += B) {
    const count = Math.min(B, data.rows - s);
    model.feed(built, data, order, s, count);
    program.forward.forEach((f, i) => {
      const k = steps[i];
      if (k >= 0) {
        const E = mix[k].experts.length;
        const g = model.arena.f32(program.addr(mix[k].gate), count * E);
        for (let r = 0; r < count; r++) {
          for (let j = 0; j < E; j++) {
            const x = g[r * E + j];
            s1[k][j] += x;
            s2[k][j] += x * x;
          }
        }
      }
      f();
    });
  }
  const R = data.rows;
  const out: GateSummary = {};
  mix.forEach((m, k) => {
    const mean = Array.from(s1[k], (x) => x / R);
    const std = Array.from(s2[k], (x, j) => Math.sqrt(Math.max(0, x / R - mean[j] * mean[j])));
    out[m.node.name] = { task: m.task, experts: m.experts, mean, std, rows: R };
  });
  return out;
}

/** One line per mixture: `gates income: expert.0 0.61 · expert.1 0.30 · expert.2 0.09` (the node name when it is not `mix.<task>`). */
export function gateLines(g: GateSummary, digits = 2): string[] {
  return Object.entries(g).map(([name, s]) => {
    const who = s.task !== null && name === `mix.${s.task}` ? s.task : s.task !== null ? `${s.task} (${name})` : name;
    return `gates ${who}: ${s.experts.map((e, j) => `${e} ${s.mean[j].toFixed(digits)}`).join(" · ")}`;
  });
}
