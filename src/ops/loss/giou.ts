// giou: 1 − generalized IoU (Rezatofighi et al. 2019) of predicted and target boxes [x0, y0, x1, y1] (exactly 4
// outputs per row, x = column), masked mean over rows (one term per box, not per coordinate). Boxes are order-free
// (min/max of each coordinate pair) and ε = 1e-7 keeps degenerate boxes finite: see assembly/kernels/loss.ts.
import { lossOp } from "./loss.ts";

export const giou = lossOp({ name: "giou", labels: "f32", width: 4, extra: () => [] });
