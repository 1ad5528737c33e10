// Progressive layered extraction (Tang et al. 2020): `levels` stacked CGC levels. Level l has `shared_experts`
// shared experts reading s_{l−1} and `task_experts` experts per task t reading h_{t,l−1} (s_0 = h_{t,0} = x, each
// expert the `layers` stack). Task t's gate mixes its own experts and the shared ones into h_{t,l}; below the
// last level a shared gate mixes every expert of the level (each task's, in task order, then the shared ones)
// into s_l. Gates read their branch's input (gate_input "previous": h_{t,l−1} or s_{l−1}) or x ("raw"). The last
// level's h_{t,L} are the task representations; `levels: 1` is cgc (same parameters in the same order).
//
// Parameters: `level.<l>.shared_expert.<j>.<i>.*` (shared), `level.<l>.task_expert.<task>.<j>.<i>.*`
// (task:<task>), `level.<l>.gate.<task>.*` (gate:<task>), `level.<l>.shared_gate.*` (shared), l from 1.
import type { Architecture } from "./index.ts";
import type { Value } from "../graph/graph.ts";
import { gateAt, mlp } from "./layers.ts";

export const ple: Architecture = {
  type: "ple",
  build(g, x, a, tasks) {
    const L = a.levels ?? 2, raw = a.gate_input === "raw";
    let s = x;
    let h: Value[] = tasks.map(() => x);
    for (let l = 1; l <= L; l++) {
      const at = `level.${l}`;
      const shared = Array.from({ length: a.shared_experts }, (_, j) => mlp(g, s, a.layers, `${at}.shared_expert.${j}`, "shared"));
      const own: Value[][] = [];
      const next = tasks.map((t, i) => {
        const mine = Array.from({ length: a.task_experts }, (_, j) => mlp(g, h[i], a.layers, `${at}.task_expert.${t.name}.${j}`, `task:${t.name}`));
        own.push(mine);
        const stack = g.add1("stack", [...mine, ...shared], {}, `${at}.experts.${t.name}`);
        const w = gateAt(g, raw ? x : h[i], a.task_experts + a.shared_experts, `${at}.gate.${t.name}`, `gate:${t.name}`);
        return g.add1("moe_combine", [stack, w], {}, `${at}.mix.${t.name}`);
      });
      if (l < L) {
        const all = [...own.flat(), ...shared];
        const stack = g.add1("stack", all, {}, `${at}.shared_experts`);
        s = g.add1("moe_combine", [stack, gateAt(g, raw ? x : s, all.length, `${at}.shared_gate`, "shared")], {}, `${at}.shared_mix`);
      }
      h = next;
    }
    return h;
  },
};
