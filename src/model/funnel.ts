// Funnel heads between a task and the earlier task it follows (spec: tasks[].funnel, after; ops in src/ops/funnel.ts).
//
// ESMM (Ma et al., SIGIR 2018, "Entire Space Multi-Task Model"): the task's tower and head give the logit b of the
// conditional p(task | after) = σ(b), exported as the extra output `<task>.given_<after>`; the task's output is
// p(after)·p(task | after) = σ(a)·σ(b) (`mul` of the two probabilities, a = the earlier task's logit), and its loss
// is `esmm_bce` on its label over every labelled row (1 only where both steps happened), computed from a and b.
//
// AITM (Xi et al., KDD 2021): with q_t [N, d] the task's tower output and z_{t−1} the previous task's (its
// attention output when it is an aitm task itself, else its tower output),
//   p_{t−1} = relu(z_{t−1}·W_info + b_info)                     (the transferred information, [N, d])
//   s_u = ⟨h2(u), h3(u)⟩/√d,  w = softmax(s_p, s_q)  for u ∈ {p_{t−1}, q_t}   (`rowdot`, `concat`, `softmax`)
//   z_t = w_p·h1(p_{t−1}) + w_q·h1(q_t)                         (`stack`, `moe_combine`)
// h1, h2, h3 linear [d, d] without bias, each shared by both items; the head reads z_t. The objective adds the
// calibrator λ·mean_rows max(ŷ_t − ŷ_{t−1}, 0) (`funnel_hinge`, an objective term of g.term).
import type { Graph, Value } from "../graph/graph.ts";
import { dense } from "../arch/layers.ts";
import type { Role } from "../graph/graph.ts";

/** What a later funnel task reads of an earlier one. */
export interface FunnelPorts {
  /** The head's logits [N, 1]. */
  logits: Value;
  /** The task's probability [N, 1] (its output). */
  output: Value;
  /** What the head reads [N, d]: the attention output of an aitm task, else the tower output. */
  z: Value;
}

const width = (v: Value) => v.shape[v.shape.length - 1] as number;

/** AITM's attention unit: z_t from q_t (this task's tower output) and the previous task's z (see the file header). */
export function aitmUnit(g: Graph, q: Value, prev: Value, task: string, role: Role): Value {
  const d = width(q), at = `aitm.${task}`;
  const p = dense(g, prev, d, "relu", `${at}.info`, role);
  const lin = (k: string) => g.param(`${at}.${k}.weight`, [d, d], { kind: "uniform", limit: Math.sqrt(6 / (2 * d)) }, role);
  const [W1, W2, W3] = [lin("h1"), lin("h2"), lin("h3")];
  const proj = (x: Value, W: Value, k: string, u: string) => g.add1("dense", [x, W], { act: "none" }, `${at}.${k}.${u}`);
  const score = (x: Value, u: string) => g.add1("rowdot", [proj(x, W2, "h2", u), proj(x, W3, "h3", u)], { scale: 1 / Math.sqrt(d) }, `${at}.score.${u}`);
  const w = g.add1("softmax", [g.add1("concat", [score(p, "p"), score(q, "q")], {}, `${at}.scores`)], {}, `${at}.weights`);
  const values = g.add1("stack", [proj(p, W1, "h1", "p"), proj(q, W1, "h1", "q")], {}, `${at}.values`);
  return g.add1("moe_combine", [values, w], {}, `${at}.z`);
}

/** ESMM's output: p(after)·p(task | after), and the conditional as the named extra output. */
export function esmmOutput(g: Graph, logits: Value, prev: FunnelPorts, task: string, after: string): { output: Value; given: Value } {
  const given = g.add1("sigmoid", [logits], {}, `out.${task}.given_${after}`);
  return { output: g.add1("mul", [prev.output, given], {}, `out.${task}`), given };
}
