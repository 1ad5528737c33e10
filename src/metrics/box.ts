// Box metrics in float64: boxes are rows [x0, y0, x1, y1] (x = column), order-free like the giou loss
// (assembly/kernels/loss.ts): a box is [min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)]. Portable.

/** IoU of two boxes: intersection area / union area; 1 when both are the same degenerate (zero-area) box, else 0 for a zero union. */
export function boxIou(a: ArrayLike<number>, b: ArrayLike<number>, ia = 0, ib = 0): number {
  const ax0 = Math.min(a[ia], a[ia + 2]), ax1 = Math.max(a[ia], a[ia + 2]), ay0 = Math.min(a[ia + 1], a[ia + 3]), ay1 = Math.max(a[ia + 1], a[ia + 3]);
  const bx0 = Math.min(b[ib], b[ib + 2]), bx1 = Math.max(b[ib], b[ib + 2]), by0 = Math.min(b[ib + 1], b[ib + 3]), by1 = Math.max(b[ib + 1], b[ib + 3]);
  const iw = Math.max(0, Math.min(ax1, bx1) - Math.max(ax0, bx0)), ih = Math.max(0, Math.min(ay1, by1) - Math.max(ay0, by0));
  const inter = iw * ih;
  const union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter;
  if (union > 0) return inter / union;
  if (union !== union) return NaN;
  return ax0 === bx0 && ax1 === bx1 && ay0 === by0 && ay1 === by1 ? 1 : 0;
}

function ious(what: string, y: ArrayLike<number>, pred: ArrayLike<number>): number[] {
  if (y.length !== pred.length) throw new Error(`${what}: targets have ${y.length} entries but predictions have ${pred.length}`);
  if (y.length % 4) throw new Error(`${what}: boxes are rows of 4 numbers [x0, y0, x1, y1], but ${y.length} is not a multiple of 4`);
  const out: number[] = [];
  for (let k = 0; k < y.length; k += 4) out.push(boxIou(y, pred, k, k));
  return out;
}

/** Mean IoU of predicted boxes against target boxes (flat rows of 4); NaN for no boxes. */
export function meanIou(y: ArrayLike<number>, pred: ArrayLike<number>): number {
  const v = ious("meanIou", y, pred);
  return v.length ? v.reduce((s, x) => s + x, 0) / v.length : NaN;
}

/** Fraction of boxes whose IoU with the target is ≥ threshold (0.5: the PASCAL VOC criterion); NaN for no boxes. */
export function iouRate(y: ArrayLike<number>, pred: ArrayLike<number>, threshold = 0.5): number {
  const v = ious("iouRate", y, pred);
  return v.length ? v.filter((x) => x >= threshold).length / v.length : NaN;
}
