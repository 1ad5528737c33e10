// Successive halving: the rungs' epochs and sizes for given N, η, and the promotions, against a fake trial whose
// metric is known, with the expected survivors computed here by sorting.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { leaderboard, rungEpochs, rungSizes, successiveHalving, type RunRung } from "../../src/tune/halving.ts";

test("rung epochs: R / η^(s−k) rounded, at least r, the last = R", () => {
  assert.equal(rungEpochs(9, 3, 1), [1, 3, 9]);
  assert.equal(rungEpochs(10, 3, 1), [1, 3, 10]); // s = ⌊log3 10⌋ = 2: 10/9 → 1, 10/3 → 3
  assert.equal(rungEpochs(20, 3, 2), [2, 7, 20]); // s = ⌊log3 10⌋ = 2: 20/9 → 2, 20/3 → 7
  assert.equal(rungEpochs(27, 3, 1), [1, 3, 9, 27]);
  assert.equal(rungEpochs(2, 3, 1), [2]);
  assert.equal(rungEpochs(8, 2, 1), [1, 2, 4, 8]);
  assert.throws(() => rungEpochs(9, 1, 1), /--eta must be an integer ≥ 2/);
  assert.throws(() => rungEpochs(9, 3, 10), /--min-epochs must be an integer in \[1, training\.epochs = 9\]/);
});

test("rung sizes: n_k = max(1, ⌊n_{k−1}/η⌋)", () => {
  assert.equal(rungSizes(6, 2, 3), [6, 2]);
  assert.equal(rungSizes(6, 3, 3), [6, 2, 1]);
  assert.equal(rungSizes(27, 4, 3), [27, 9, 3, 1]);
  assert.equal(rungSizes(12, 3, 3), [12, 4, 1]);
  assert.equal(rungSizes(10, 4, 2), [10, 5, 2, 1]);
});

/** A fake trial: metric = quality[trial] + epochs / 100 (more epochs help everyone equally); trial 3 diverges. */
const quality = [0.3, 0.9, 0.5, 0.99, 0.7, 0.1, 0.8, 0.6, 0.2, 0.4, 0.85, 0.05];
const fake: RunRung = async (jobs) => jobs.map((j) => ({ metric: j.trial === 3 ? NaN : quality[j.trial] + j.epochs / 100, seconds: 0, ...(j.trial === 3 ? { error: "diverged" } : {}) }));

for (const higher of [true, false]) {
  test(`promotions follow the metric (${higher ? "higher" : "lower"} is better); a diverged trial is never promoted`, async () => {
    const N = 12, eta = 3, epochs = [1, 3, 9];
    const res = await successiveHalving(N, epochs, eta, higher, fake);
    // Expected survivors, computed independently: sort the finite qualities.
    const order = quality.map((q, i) => [q, i] as const).filter(([, i]) => i !== 3).sort((a, b) => (higher ? b[0] - a[0] : a[0] - b[0])).map(([, i]) => i);
    const rung = (k: number) => res.filter((r) => r.rung === k);
    assert.equal(rung(0).map((r) => r.trial), [...Array(N).keys()]);
    assert.equal(rung(1).map((r) => r.trial), order.slice(0, 4).sort((a, b) => a - b));
    assert.equal(rung(2).map((r) => r.trial), order.slice(0, 1));
    assert.equal(rung(0).filter((r) => r.status === "promoted").map((r) => r.trial).sort((a, b) => a - b), order.slice(0, 4).sort((a, b) => a - b));
    assert.is(rung(0).find((r) => r.trial === 3)!.status, "failed");
    assert.is(rung(2)[0].status, "final");
    assert.ok(rung(1).every((r) => r.epochs === 3));
    const board = leaderboard(res, higher);
    assert.equal(board.map((r) => r.trial), [order[0], ...order.slice(1, 4), ...order.slice(4), 3], "by rung reached, then metric, failed last");
  });
}

test.run();
