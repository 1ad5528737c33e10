// Cross-stitch networks (Misra et al. 2016): one column per task, each the `layers` stack (dense or conv/pool/
// flatten layers); after every spec layer (after its activation and dropout) a cross-stitch unit mixes the T
// columns, x̃_i = Σ_j α[i, j]·x_j, with a learnt α [T, T] per unit initialized as the paper does (α_ii = 0.9,
// α_ij = 0.1/(T − 1)). Column t's outputs are task t's representation. With one task there is nothing to mix:
// the model is the column alone (what `--single-task` trains).
//
// Parameters: `column.<task>.<i>.*` (task:<task>), `cross_stitch.<i>.alpha` (shared), i the layer index.
import type { Architecture } from "./index.ts";
import type { Value } from "../graph/graph.ts";
import { layer } from "./layers.ts";

export const crossStitch: Architecture = {
  type: "cross_stitch",
  build(g, x, a, tasks) {
    const T = tasks.length;
    let cols: Value[] = tasks.map(() => x);
    a.layers.forEach((l, i) => {
      cols = tasks.map((t, c) => layer(g, cols[c], l, `column.${t.name}.${i}`, `task:${t.name}`));
      if (T < 2) return;
      const alpha = g.param(`cross_stitch.${i}.alpha`, [T, T], { kind: "mix", diag: 0.9, off: 0.1 / (T - 1) }, "shared");
      cols = g.add("cross_stitch", [...cols, alpha], {}, `cross_stitch.${i}`);
    });
    return cols;
  },
};
