// The shape every loss op shares: inputs (prediction [N, w], labels, row mask f32 [N]) → a host scalar, the
// masked mean over labelled rows (kernel `<name>_fwd_f32x4(m, w, x, labels, mask, ...extra)`). The backward
// is seeded with the task's loss scale host.scales[task] (∂J/∂L_t: the weighting strategy's, or a per-task
// seed for per-task gradients): `<name>_bwd_f32x4(m, w, x, labels, mask, dx, ...extra, scale, beta)`.
// Losses exist in training graphs only; exports are inference graphs.
import { attrNum, expect, type OpDef } from "../../graph/op.ts";
import { showShape } from "../../graph/shape.ts";

export interface LossForm {
  name: string;
  /** Kernel family when it is not `name` (smooth_l1 runs huber's kernels). */
  kernel?: string;
  /** The loss is `factor` × the kernel's value (and the backward's seed is scaled the same); 1 if absent. */
  factor?(attrs: Record<string, unknown>): number;
  /** Required output width (giou: 4 box coordinates), if any. */
  width?: number;
  /** Label dtype: class indices (i32 [N]) or targets (f32 [N, w]). */
  labels: "i32" | "f32";
  /** Scalar arguments after the mask (e.g. pos_weight, delta). */
  extra(attrs: Record<string, unknown>): number[];
  describe?(attrs: Record<string, unknown>): string;
}

export function lossOp(form: LossForm): OpDef {
  return {
    op: form.name,
    infer([x, labels, mask], attrs) {
      attrNum(attrs, "task");
      expect(x.dtype === "f32" && x.shape.length === 2, `prediction must be f32 [N, w], got ${showShape(x.shape)}`);
      if (form.labels === "i32") expect(labels.dtype === "i32" && labels.shape.length === 1, `labels must be i32 class indices [N], got ${labels.dtype} ${showShape(labels.shape)}`);
      else expect(labels.dtype === "f32" && labels.shape.length === 2 && labels.shape[1] === x.shape[1], `labels must be f32 ${showShape(x.shape)}, got ${labels.dtype} ${showShape(labels.shape)}`);
      if (form.width !== undefined) expect(x.shape[1] === form.width, `${form.name} needs exactly ${form.width} outputs per row, got ${showShape(x.shape)}`);
      expect(mask.dtype === "f32" && mask.shape.length === 1, `mask must be f32 [N], got ${showShape(mask.shape)}`);
      return [{ dtype: "f32", shape: [], host: true }];
    },
    forward(c, n) {
      const [x, labels, mask] = n.inputs, [m, w] = c.dims(x), t = attrNum(n.attrs, "task");
      const f = c.call(`${form.kernel ?? form.name}_fwd_f32x4`), xp = c.ptr(x), lp = c.ptr(labels), mp = c.ptr(mask), losses = c.host.losses;
      const ex = form.extra(n.attrs), k = form.factor?.(n.attrs) ?? 1;
      if (ex.length === 0) return k === 1 ? () => void (losses[t] = f(m, w, xp, lp, mp)) : () => void (losses[t] = k * f(m, w, xp, lp, mp));
      const e0 = ex[0];
      return k === 1 ? () => void (losses[t] = f(m, w, xp, lp, mp, e0)) : () => void (losses[t] = k * f(m, w, xp, lp, mp, e0));
    },
    backward(c, n) {
      const [x, labels, mask] = n.inputs, [m, w] = c.dims(x), t = attrNum(n.attrs, "task");
      const dx = c.grad(x);
      if (!dx) return null;
      const g = c.call(`${form.kernel ?? form.name}_bwd_f32x4`), xp = c.ptr(x), lp = c.ptr(labels), mp = c.ptr(mask), scales = c.host.scales, beta = c.beta(x);
      const ex = form.extra(n.attrs), k = form.factor?.(n.attrs) ?? 1;
      if (ex.length === 0) return k === 1 ? () => void g(m, w, xp, lp, mp, dx, scales[t], beta) : () => void g(m, w, xp, lp, mp, dx, k * scales[t], beta);
      const e0 = ex[0];
      return k === 1 ? () => void g(m, w, xp, lp, mp, dx, e0, scales[t], beta) : () => void g(m, w, xp, lp, mp, dx, e0, k * scales[t], beta);
    },
    saves: (n) => [n.inputs[0]],
    onnx: { none: "a training loss: exports are inference graphs" },
    imports: { none: "a training loss" },
    describe: (n) => form.describe?.(n.attrs) ?? "",
  };
}
