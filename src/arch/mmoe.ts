// Multi-gate mixture of experts (Ma et al. 2018): `experts` shared expert MLPs, stacked once; each task mixes
// them with its own softmax gate over the inputs.
import type { Architecture } from "./index.ts";
import { gate, mlp } from "./layers.ts";

export const mmoe: Architecture = {
  type: "mmoe",
  build(g, x, a, tasks) {
    const experts = Array.from({ length: a.experts }, (_, j) => mlp(g, x, a.layers, `expert.${j}`, "shared"));
    const stack = g.add1("stack", experts, {}, "experts");
    return tasks.map((t) => g.add1("moe_combine", [stack, gate(g, x, a.experts, t.name)], {}, `mix.${t.name}`));
  },
};
