// Hard parameter sharing: one shared MLP (the trunk) that every task's tower reads. `layers: []` is a linear
// model (the towers and heads read the inputs).
import type { Architecture } from "./index.ts";
import { mlp } from "./layers.ts";

export const hps: Architecture = {
  type: "hps",
  build(g, x, a, tasks) {
    const h = mlp(g, x, a.layers, "shared", "shared");
    return tasks.map(() => h);
  },
};
