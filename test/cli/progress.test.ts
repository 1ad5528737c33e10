// The live progress line: frames on a TTY only, never wider than the terminal, redrawn at most every 100 ms, rate and
// ETA from the measured steps, losses as running means, and a clear that leaves the line empty.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createProgress, formatEta, renderProgress, type ProgressStream } from "../../src/cli/progress.ts";

/** A fake terminal: records every write; `columns` as a TTY reports it. */
function tty(columns: number): ProgressStream & { writes: string[] } {
  const writes: string[] = [];
  return { isTTY: true, columns, writes, write: (s: string) => void writes.push(s) };
}

/** The visible text of a frame: without the leading `\r` and the erase-to-end-of-line code. */
const visible = (w: string) => w.replace(/^\r/, "").replace(/\x1b\[K$/, "");

test("frames: `\\r` + text + erase-line, at most columns − 1 characters at any width", () => {
  for (const columns of [12, 20, 40, 80, 200]) {
    const s = tty(columns);
    let t = 0;
    const p = createProgress(s, { epochs: 10, tasks: ["income", "never_married", "a_rather_long_task_name"], now: () => t, interval: 100 })!;
    p.start(3, 400);
    for (let i = 0; i < 400; i++) {
      t += 7;
      p.step([0.5, 0.25, 1e-9 * i]);
    }
    assert.ok(s.writes.length > 1, `columns ${columns}: ${s.writes.length} frames`);
    for (const w of s.writes) {
      assert.ok(w.startsWith("\r") && w.endsWith("\x1b[K"), JSON.stringify(w));
      assert.ok(visible(w).length <= columns - 1, `columns ${columns}: ${visible(w).length} characters: ${visible(w)}`);
      assert.not.match(visible(w), /[\r\n\x1b]/);
    }
    assert.match(visible(s.writes[0]), /^epoch 3\/10\b/);
  }
});

test("redraws at most once per interval (plus the epoch's first step)", () => {
  const s = tty(100);
  let t = 0;
  const p = createProgress(s, { epochs: 1, tasks: ["a"], now: () => t })!;
  p.start(1, 1000);
  // 1000 steps, 3 ms apart: 3 s → at most 1 + 3000 / 100 frames.
  for (let i = 0; i < 1000; i++) {
    t += 3;
    p.step([1]);
  }
  assert.ok(s.writes.length >= 25 && s.writes.length <= 31, `${s.writes.length} frames in 3 s`);
});

test("rate and ETA come from the measured steps; losses are running means over the epoch", () => {
  const s = tty(200);
  let t = 1000;
  const p = createProgress(s, { epochs: 4, tasks: ["a", "b"], now: () => t, interval: 100 })!;
  p.start(2, 100);
  // 10 steps in 1 s: 10 steps/s, 90 left → ETA 9 s. Losses a: 1, 3, 1, 3, … (mean 2); b: 4, then 6 (mean 5).
  for (let i = 0; i < 10; i++) {
    t += 100;
    p.step([i % 2 ? 3 : 1, i % 2 ? 6 : 4]);
  }
  const last = visible(s.writes[s.writes.length - 1]);
  assert.match(last, " 10/100 ");
  assert.match(last, "10.0 steps/s");
  assert.match(last, "ETA 9s");
  assert.match(last, /loss a 2\.000\s+b 5\.000$/);
  // Non-finite step losses are left out of the running mean.
  t += 100;
  p.step([NaN, Infinity]);
  const after = visible(s.writes[s.writes.length - 1]);
  assert.match(after, /loss a 2\.000\s+b 5\.000$/);
  assert.match(after, " 11/100 ");
  // A new epoch starts the counts, the clock and the means afresh.
  t += 5000;
  p.start(3, 50);
  t += 500;
  p.step([7, 8]);
  const fresh = visible(s.writes[s.writes.length - 1]);
  assert.match(fresh, /^epoch 3\/4 /);
  assert.match(fresh, " 1/50 ");
  assert.match(fresh, "2.0 steps/s"); // 1 step in 0.5 s
  assert.match(fresh, "ETA 25s"); // 49 left at 2 per second
  assert.match(fresh, /loss a 7\.000\s+b 8\.000$/);
});

test("the bar fills in proportion to the steps done", () => {
  const line = renderProgress({ epoch: 1, epochs: 1, done: 50, steps: 200, elapsed: 5, tasks: [], losses: [] }, 80);
  const bar = /(█*)(░*) 50\/200/.exec(line)!;
  assert.ok(bar, line);
  const [filled, empty] = [bar[1].length, bar[2].length];
  assert.ok(filled + empty >= 10 && filled + empty <= 30, line);
  assert.is(filled, Math.floor((filled + empty) / 4));
  assert.is(formatEta(65), "1m05s");
  assert.is(formatEta(7260), "2h01m");
  assert.is(formatEta(NaN), "?");
});

test("clear erases a drawn line once; nothing drawn, nothing written", () => {
  const s = tty(80);
  let t = 0;
  const p = createProgress(s, { epochs: 1, tasks: ["a"], now: () => t })!;
  p.clear();
  assert.equal(s.writes, []);
  p.start(1, 10);
  p.step([1]);
  p.clear();
  assert.is(s.writes[s.writes.length - 1], "\r\x1b[K");
  const n = s.writes.length;
  p.clear();
  assert.is(s.writes.length, n);
});

test("not a TTY (a pipe, a file, a test's stream): no progress object, nothing written", () => {
  const writes: string[] = [];
  for (const stream of [{ isTTY: false, columns: 80, write: (x: string) => void writes.push(x) }, { write: (x: string) => void writes.push(x) }, null, undefined]) {
    assert.is(createProgress(stream, { epochs: 1, tasks: ["a"] }), null);
  }
  assert.equal(writes, []);
});

test.run();
