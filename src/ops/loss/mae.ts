// mae: mean absolute error, Σ over outputs, masked mean over rows.
import { lossOp } from "./loss.ts";

export const mae = lossOp({ name: "mae", labels: "f32", extra: () => [] });
