// Box metrics (src/metrics/box.ts) on hand-made boxes whose IoU is worked out in the comments, and through
// taskMetrics: masked rows skipped, standardized labels mapped back before the boxes are compared.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { boxIou, iouRate, meanIou } from "../../src/metrics/box.ts";
import { taskMetrics } from "../../src/metrics/evaluate.ts";
import type { Task } from "../../src/model/spec.ts";

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test("boxIou on hand-made boxes", () => {
  close(boxIou([0, 0, 2, 2], [0, 0, 2, 2]), 1); // identical
  close(boxIou([0, 0, 2, 2], [1, 0, 3, 2]), 2 / 6); // half overlap: I = 2, U = 4 + 4 − 2
  close(boxIou([0, 0, 2, 2], [1, 1, 3, 3]), 1 / 7); // corner overlap: I = 1, U = 7
  close(boxIou([0, 0, 4, 4], [1, 1, 2, 3]), 2 / 16); // contained: I = A_small = 2, U = 16
  close(boxIou([0, 0, 1, 1], [2, 2, 3, 3]), 0); // disjoint
  close(boxIou([0, 0, 1, 1], [1, 0, 2, 1]), 0); // touching edges: zero-area intersection
  close(boxIou([2, 2, 0, 0], [1, 0, 3, 2]), 2 / 6); // swapped corners read order-free, as the giou loss does
  close(boxIou([0.5, 0, 0.5, 1], [0, 0, 1, 1]), 0); // zero-width prediction
  close(boxIou([0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5]), 1); // the same point
  assert.ok(Number.isNaN(boxIou([NaN, 0, 1, 1], [0, 0, 1, 1])));
  // offsets into flat arrays
  close(boxIou([9, 9, 0, 0, 2, 2], [7, 1, 1, 3, 3], 2, 1), 1 / 7);
});

test("meanIou and iouRate (threshold inclusive)", () => {
  const y = [0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 1, 1];
  const p = [0, 0, 2, 2, 1, 0, 3, 2, 0, 0, 2, 1, 5, 5, 6, 6];
  // IoUs: 1, 1/3, 1/2 (half the target, exactly at the threshold), 0
  close(meanIou(y, p), (1 + 1 / 3 + 0.5 + 0) / 4);
  close(iouRate(y, p), 2 / 4);
  close(iouRate(y, p, 0.3), 3 / 4);
  assert.ok(Number.isNaN(meanIou([], [])));
  assert.throws(() => meanIou([0, 0, 1], [0, 0, 1]), /rows of 4 numbers/);
  assert.throws(() => iouRate([0, 0, 1, 1], [0, 0, 1]), /targets have 4 entries but predictions have 3/);
});

test("taskMetrics: iou / iou50 over present rows, labels mapped back from standardized units", () => {
  const task = { name: "box", type: "regression", metrics: ["iou", "iou50"] } as unknown as Task;
  const raw = [[0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 1, 1]];
  const pred = Float32Array.from([[0, 0, 2, 2], [1, 1, 3, 3], [0, 0, 1, 1]].flat());
  const target = [{ mean: 1, std: 2 }, { mean: 0.5, std: 1 }, { mean: 1, std: 2 }, { mean: 0.5, std: 4 }];
  const labels = Float32Array.from(raw.flatMap((r) => r.map((v, j) => (v - target[j].mean) / target[j].std)));
  labels.fill(NaN, 8, 12); // row 2 missing
  const mask = Float32Array.of(1, 1, 0);
  const m = taskMetrics(task, 4, pred, labels, mask, target);
  assert.is(m.count, 2);
  close(m.iou, (1 + 1 / 7) / 2, 1e-6);
  close(m.iou50, 0.5);
});

test.run();
