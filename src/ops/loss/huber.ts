// huber: quadratic within delta, linear outside; Σ over outputs, masked mean over rows.
import { attrNum } from "../../graph/op.ts";
import { lossOp } from "./loss.ts";

export const huber = lossOp({ name: "huber", labels: "f32", extra: (a) => [attrNum(a, "delta", 1)], describe: (a) => `delta=${attrNum(a, "delta", 1)}` });
