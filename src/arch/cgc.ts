// Customized gate control (Tang et al. 2020, PLE's single level): `shared_experts` experts every task reads,
// plus `task_experts` experts of each task's own; each task's gate mixes its own experts and the shared ones.
import type { Architecture } from "./index.ts";
import { gate, mlp } from "./layers.ts";

export const cgc: Architecture = {
  type: "cgc",
  build(g, x, a, tasks) {
    const shared = Array.from({ length: a.shared_experts }, (_, j) => mlp(g, x, a.layers, `shared_expert.${j}`, "shared"));
    return tasks.map((t) => {
      const own = Array.from({ length: a.task_experts }, (_, j) => mlp(g, x, a.layers, `task_expert.${t.name}.${j}`, `task:${t.name}`));
      const stack = g.add1("stack", [...own, ...shared], {}, `experts.${t.name}`);
      return g.add1("moe_combine", [stack, gate(g, x, a.task_experts + a.shared_experts, t.name)], {}, `mix.${t.name}`);
    });
  },
};
