// smooth_l1 (Girshick 2015; PyTorch's SmoothL1Loss with beta β > 0): ℓ = ½d²/β for |d| < β, |d| − ½β otherwise,
// Σ over outputs, masked mean over rows. That is exactly huber with δ = β divided by β (huber: ½d² inside, δ(|d| − ½δ)
// outside), so it runs huber's kernels with delta = β and scales the value and the backward's seed by 1/β: an alias,
// not a second kernel. (β → 0 is L1: use "mae".)
import { attrNum } from "../../graph/op.ts";
import { lossOp } from "./loss.ts";

const beta = (a: Record<string, unknown>) => attrNum(a, "beta", 1);

export const smoothL1 = lossOp({ name: "smooth_l1", kernel: "huber", labels: "f32", extra: (a) => [beta(a)], factor: (a) => 1 / beta(a), describe: (a) => `beta=${beta(a)}` });
