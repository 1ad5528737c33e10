// The optimizer side of a training step, shared by fit and by data-parallel workers (which apply the
// same update to their own copy of the parameters, so no parameters cross between threads):
// the regularizers (λ_shared·‖θ_shared‖² and group-head L2) added to the gradient, global-norm clipping,
// one fused optimizer pass.
import type { Model } from "../model/model.ts";

/**
 * Returns `regularize()`: adds the regularizers' gradients into the gradient block and returns their value,
 * λ_shared·‖θ_shared‖² plus, for every group_by task, group_l2·‖deviation‖² over its group heads' deviation
 * weights and biases (`head.<task>.groups.weight`, `head.<task>.groups.bias`).
 */
export function makeRegularizers(model: Model): () => number {
  const { spec, store, k } = model;
  const tr = spec.training;
  // Shared (trunk) parameters in contiguous runs of the block: gates and task experts are not shared.
  const shared = store.ranges((p) => p.shared);
  const axpy = k.axpy_f32x4 as (...a: number[]) => number;
  const sumsq = k.sumsq_f32x4 as (...a: number[]) => number;
  const groupL2 = spec.tasks
    .filter((t) => t.group_by && t.group_l2 > 0)
    .flatMap((t) => [`head.${t.name}.groups.weight`, `head.${t.name}.groups.bias`].map((name) => ({ param: store.get(name), lambda: t.group_l2 })));
  return () => {
    let obj = 0;
    if (tr.shared_l2 > 0)
      for (const [offset, n] of shared) {
        // λ_shared·‖θ_shared‖²: value λ·Σθ², gradient 2λ·θ added to the trunk's gradient.
        obj += tr.shared_l2 * sumsq(n, store.p + offset * 4);
        axpy(n, store.p + offset * 4, store.g + offset * 4, 2 * tr.shared_l2);
      }
    for (const { param, lambda } of groupL2) {
      // λ·‖deviation‖² on each group head's deviations (they start at zero, so groups start at the shared head).
      const pp = store.addr(param, "p");
      obj += lambda * sumsq(param.size, pp);
      axpy(param.size, pp, store.addr(param, "g"), 2 * lambda);
    }
    return obj;
  };
}

/** Returns `update(lr, step)`: applies the step's update (step is 1-based) and returns the regularizers' value. */
export function makeUpdater(model: Model): (lr: number, step: number) => number {
  const { spec, store, k } = model;
  const tr = spec.training, op = tr.optimizer;
  // Trainable parameters only: model state (batch norm's running statistics) sits after them and is never updated here.
  const n = store.trainable;
  const adam = k.adam_step_f32x4 as (...a: number[]) => number;
  const sgd = k.sgd_step_f32x4 as (...a: number[]) => number;
  const clip = k.clip_grad_norm_f32x4 as (...a: number[]) => number;
  const regularize = makeRegularizers(model);
  return (lr, step) => {
    const obj = regularize();
    if (tr.clip_grad_norm > 0) clip(n, store.g, tr.clip_grad_norm);
    if (op.type === "sgd") sgd(n, store.g, store.p, store.s1, lr, op.momentum, op.weight_decay, op.nesterov ? 1 : 0);
    else adam(n, store.g, store.p, store.s1, store.s2, lr, op.beta1, op.beta2, op.eps, op.weight_decay, step, op.type === "adamw" ? 1 : 0);
    return obj;
  };
}
