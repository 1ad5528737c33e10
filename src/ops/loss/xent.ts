// xent: softmax cross-entropy on logits against class indices, masked mean over rows.
import { lossOp } from "./loss.ts";

export const xent = lossOp({ name: "xent", labels: "i32", extra: () => [] });
