// mse: mean squared error, Σ over outputs, masked mean over rows.
import { lossOp } from "./loss.ts";

export const mse = lossOp({ name: "mse", labels: "f32", extra: () => [] });
