// bce: binary cross-entropy on logits, Σ over outputs, masked mean over rows; positives weighted by pos_weight.
import { attrNum } from "../../graph/op.ts";
import { lossOp } from "./loss.ts";

export const bce = lossOp({ name: "bce", labels: "f32", extra: (a) => [attrNum(a, "pos_weight", 1)], describe: (a) => (attrNum(a, "pos_weight", 1) !== 1 ? `pos_weight=${attrNum(a, "pos_weight")}` : "") });
