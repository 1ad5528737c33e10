// DSelect-k (Hazimeh et al., NeurIPS 2021), per-example gating: `experts` shared expert MLPs stacked once, as in
// MMoE; each task's gate is k single-expert selectors over m = ⌈log₂ experts⌉ smooth-step bits (src/ops/dselect.ts):
//   z = x·W_z + b_z [N, k·m],  α = x·W_α + b_α [N, k],  q = Σ_i softmax(α)_i·r(z⁽ⁱ⁾) [N, experts] → moe_combine.
// Initialization as the authors' reference: W_z, b_z ~ U(−γ/100, γ/100) (every bit starts mid-band, q near uniform),
// W_α, b_α ~ U(−0.05, 0.05). Training graphs add, per task, the objective terms
//   `dselect.<task>`       λ·mean_rows Σ_i H(r(z⁽ⁱ⁾))   (architecture.entropy = λ; none when 0),
//   `dselect.<task>.reach` mean_rows Σ_i 1/Σ_j r_ij      (only when experts is not a power of two, weight 1 as the
//                                                         reference: selectors stay on the codes of real experts).
import type { Graph, Init, Value } from "../graph/graph.ts";
import type { Architecture } from "./index.ts";
import { flat, mlp } from "./layers.ts";
import { dselectBits } from "../ops/dselect.ts";

/** y = x·W + b with both drawn from `init` (the reference initializes the gate's biases too). */
function linear(g: Graph, x: Value, units: number, name: string, role: `gate:${string}`, init: Init): Value {
  const W = g.param(`${name}.weight`, [x.shape[1] as number, units], init, role);
  const b = g.param(`${name}.bias`, [units], init, role);
  return g.add1("dense", [x, W, b], { act: "none" }, name);
}

export const dselectK: Architecture = {
  type: "dselect_k",
  build(g, x, a, tasks) {
    const E = a.experts, k = a.k!, gamma = a.gamma!, lambda = a.entropy!, m = dselectBits(E);
    const experts = Array.from({ length: E }, (_, j) => mlp(g, x, a.layers, `expert.${j}`, "shared"));
    const stack = g.add1("stack", experts, {}, "experts");
    return tasks.map((t) => {
      const name = `gate.${t.name}`, role = `gate:${t.name}` as const, xf = flat(g, x, `${name}.flatten`);
      const z = linear(g, xf, k * m, `${name}.z`, role, { kind: "uniform", limit: gamma / 100 });
      const alpha = linear(g, xf, k, `${name}.alpha`, role, { kind: "uniform", limit: 0.05 });
      const attrs = { experts: E, k, gamma };
      const q = g.add1("dselect_gate", [z, alpha], attrs, `${name}.dselect`);
      if (g.valid && lambda > 0) g.term("dselect_entropy", [z, g.valid], attrs, `dselect.${t.name}`, lambda, `${name}.entropy`);
      if (g.valid && 2 ** m !== E) g.term("dselect_reach", [z, g.valid], attrs, `dselect.${t.name}.reach`, 1, `${name}.reach`);
      return g.add1("moe_combine", [stack, q], {}, `mix.${t.name}`);
    });
  },
};
