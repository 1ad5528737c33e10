// The statistics `mtl data multimnist` writes to manifest.json: mean, min and max over every box, for any count —
// 120,000 composites once overflowed the call stack (Math.min(...x) spreads its argument).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { summary } from "../../src/cli/data.ts";

test("mean, min and max of 500,000 values, against a float64 loop; empty → NaN", () => {
  const x = Array.from({ length: 500_000 }, (_, i) => ((i * 7919) % 1009) - 300.5);
  let sum = 0, min = Infinity, max = -Infinity;
  for (let i = 0; i < x.length; i++) (sum += x[i]), (min = x[i] < min ? x[i] : min), (max = x[i] > max ? x[i] : max);
  assert.equal(summary(x), { mean: sum / x.length, min, max });
  assert.equal(summary([3]), { mean: 3, min: 3, max: 3 });
  const e = summary([]);
  assert.ok(Number.isNaN(e.mean) && Number.isNaN(e.min) && Number.isNaN(e.max));
});

test.run();
