// The op registry: every op family in src/ops/, by op name. The scheduler, the exporter, the importer and
// `mtl summary` find ops here and nowhere else.
import type { OpDef } from "./op.ts";
import { dense } from "../ops/dense.ts";
import { activations } from "../ops/activation.ts";
import { softmax } from "../ops/softmax.ts";
import { embedding, indexColumn } from "../ops/embedding.ts";
import { layernorm } from "../ops/layernorm.ts";
import { dropout } from "../ops/dropout.ts";
import { concat, slice, stack } from "../ops/concat.ts";
import { moeCombine } from "../ops/mixture.ts";
import { dselectGate, dselectEntropy, dselectReach } from "../ops/dselect.ts";
import { crossStitch } from "../ops/cross-stitch.ts";
import { groupGather } from "../ops/group.ts";
import { add } from "../ops/add.ts";
import { identity } from "../ops/identity.ts";
import { standardize, affine } from "../ops/boundary.ts";
import { numericEncode } from "../ops/numeric-encode.ts";
import { periodic } from "../ops/periodic.ts";
import { relation } from "../ops/relation.ts";
import { mul, rowdot, funnelHinge, esmmBce } from "../ops/funnel.ts";
import { bce } from "../ops/loss/bce.ts";
import { xent } from "../ops/loss/xent.ts";
import { mse } from "../ops/loss/mse.ts";
import { mae } from "../ops/loss/mae.ts";
import { huber } from "../ops/loss/huber.ts";
import { smoothL1 } from "../ops/loss/smooth-l1.ts";
import { giou } from "../ops/loss/giou.ts";
import { conv2d } from "../ops/conv.ts";
import { maxpool2d, avgpool2d } from "../ops/pool.ts";
import { batchnorm } from "../ops/batchnorm.ts";
import { reshape, flatten } from "../ops/reshape.ts";
import { embedSeq, seqIds } from "../ops/seq-embed.ts";
import { seqPool } from "../ops/seq-pool.ts";
import { tagXent } from "../ops/seq-tag.ts";
import { conv1d } from "../ops/seq-conv.ts";
import { bigru } from "../ops/seq-gru.ts";
import { seqMask } from "../ops/seq-mask.ts";

/** In import-priority order: for one ONNX op type, importers are tried in this order. */
export const OPS: readonly OpDef[] = [
  // periodic first: its ONNX form starts with an Unsqueeze, which stack, moe_combine and group_gather also start with.
  periodic, dense, ...activations, softmax, embedSeq, seqIds, embedding, indexColumn, layernorm, dropout, concat, slice, stack, moeCombine, dselectGate, dselectEntropy, dselectReach, crossStitch, groupGather,
  add, identity, standardize, numericEncode, affine, relation, rowdot, mul, funnelHinge, esmmBce, bce, xent, mse, mae, huber, smoothL1, giou, conv2d, maxpool2d, avgpool2d, batchnorm, reshape, flatten,
  seqPool, conv1d, bigru, tagXent, seqMask,
];

const BY_NAME = new Map<string, OpDef>();
for (const d of OPS) {
  if (BY_NAME.has(d.op)) throw new Error(`op registry: ${d.op} is registered twice`);
  BY_NAME.set(d.op, d);
}

export function opDef(op: string): OpDef {
  const d = BY_NAME.get(op);
  if (!d) throw new Error(`unknown op ${JSON.stringify(op)}; ops: ${[...BY_NAME.keys()].join(", ")}`);
  return d;
}
