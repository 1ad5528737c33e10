// The live progress line of `mtl train` within an epoch, on a terminal only:
//
//   epoch 3/10 ██████████░░░░░░░░░░ 120/400  35.2 steps/s  ETA 8s  loss income 0.2258  never_married 0.3068
//
// It goes to STDERR (the convention of tqdm, curl, wget, pip): `mtl train … > log.txt` keeps the log to the epoch
// table while the terminal still shows progress, and a progress line never lands in a file. It is drawn only when
// that stream is a TTY (and the CLI is not --quiet, and TERM is not "dumb"); elsewhere createProgress returns null
// and nothing is written: no carriage return, no escape code.
//
// A frame is `\r` + the line + `\x1b[K` (erase to the end of the line), the line cut to `columns − 1` characters
// (the last column would wrap on some terminals). Frames are drawn at most once per `interval` ms (default 100, so
// ≤ ~10 redraws a second) plus the first step of an epoch; `clear()` (`\r\x1b[K`) removes the line before anything
// else is printed (the epoch's table row, a message). Rate and ETA come from the steps done since the epoch started
// and the time they took: rate = done / elapsed, ETA = (steps − done) / rate. Losses are the running means over the
// epoch's steps so far (non-finite step losses are left out of the mean and counted as such).
import { formatNumber } from "./table.ts";

/** What the progress line writes to: process.stderr, or a fake in tests. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

export interface ProgressOptions {
  /** Epochs of the run (the E of `epoch N/E`). */
  epochs: number;
  /** Task names in spec order (the order of the losses `step` receives). */
  tasks: readonly string[];
  /** Milliseconds; default performance.now. */
  now?: () => number;
  /** Least milliseconds between two frames; default 100. */
  interval?: number;
}

/** The state a frame shows. */
export interface ProgressState {
  epoch: number;
  epochs: number;
  /** Steps done in this epoch, of `steps`. */
  done: number;
  steps: number;
  /** Seconds since the epoch started. */
  elapsed: number;
  tasks: readonly string[];
  /** Running mean loss per task (NaN when no finite loss yet). */
  losses: readonly number[];
}

const CLEAR_LINE = "\x1b[K";
/** Widths of the bar: it takes what the text leaves, within these bounds. */
const BAR_MIN = 10, BAR_MAX = 30;

/** Seconds as `8s`, `1m05s`, `2h03m`. */
export function formatEta(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "?";
  const r = Math.round(s);
  if (r < 60) return `${r}s`;
  if (r < 3600) return `${Math.floor(r / 60)}m${String(r % 60).padStart(2, "0")}s`;
  return `${Math.floor(r / 3600)}h${String(Math.floor((r % 3600) / 60)).padStart(2, "0")}m`;
}

/** Cut `s` to `w` characters, marking the cut with `…`. */
const fit = (s: string, w: number) => (s.length <= w ? s : w <= 0 ? "" : s.slice(0, w - 1) + "…");

/** One frame's text (no `\r`, no escape codes), at most `columns − 1` characters. */
export function renderProgress(p: ProgressState, columns: number): string {
  const room = Math.max(1, columns - 1);
  const rate = p.elapsed > 0 && p.done > 0 ? p.done / p.elapsed : NaN;
  const eta = Number.isFinite(rate) ? formatEta((p.steps - p.done) / rate) : "?";
  const head = `epoch ${p.epoch}/${p.epochs}`;
  const count = `${p.done}/${p.steps}`;
  const speed = `${!Number.isFinite(rate) ? "?" : rate >= 100 ? Math.round(rate) : rate.toFixed(1)} steps/s  ETA ${eta}`;
  const loss = p.tasks.length ? `  loss ${p.tasks.map((t, i) => `${t} ${formatNumber(p.losses[i], 7)}`).join("  ")}` : "";
  const text = `${count}  ${speed}`;
  // The bar gets what is left after the head and the counters (the losses are cut first).
  const bar = Math.min(BAR_MAX, room - head.length - text.length - 2);
  if (bar < BAR_MIN) return fit(`${head} ${text}${loss}`, room);
  const filled = p.steps > 0 ? Math.min(bar, Math.floor((bar * p.done) / p.steps)) : 0;
  return fit(`${head} ${"█".repeat(filled)}${"░".repeat(bar - filled)} ${text}${loss}`, room);
}

export interface EpochProgress {
  /** An epoch begins: its number and its step count. */
  start(epoch: number, steps: number): void;
  /** A step finished with these per-task losses; redraws when the interval has passed (or on the epoch's first step). */
  step(losses: ArrayLike<number>): void;
  /** Erase the line (when drawn): before the epoch's row or any other output. */
  clear(): void;
}

/** A progress line on `stream` when it is a TTY; null otherwise (then nothing is ever written). */
export function createProgress(stream: ProgressStream | null | undefined, opts: ProgressOptions): EpochProgress | null {
  if (!stream || stream.isTTY !== true) return null;
  const now = opts.now ?? (() => performance.now());
  const interval = opts.interval ?? 100;
  const T = opts.tasks.length;
  const sum = new Float64Array(T), n = new Float64Array(T);
  let epoch = 0, steps = 0, done = 0, t0 = 0, last = -Infinity, drawn = false;
  const draw = () => {
    const losses = Array.from(sum, (s, i) => (n[i] ? s / n[i] : NaN));
    const line = renderProgress({ epoch, epochs: opts.epochs, done, steps, elapsed: (now() - t0) / 1000, tasks: opts.tasks, losses }, stream.columns ?? 80);
    stream.write(`\r${line}${CLEAR_LINE}`);
    drawn = true;
  };
  return {
    start(e, s) {
      [epoch, steps, done, t0, last] = [e, s, 0, now(), -Infinity];
      sum.fill(0);
      n.fill(0);
    },
    step(losses) {
      done++;
      for (let t = 0; t < T; t++) if (Number.isFinite(losses[t])) (sum[t] += losses[t]), n[t]++;
      const t = now();
      if (done === 1 || t - last >= interval) {
        last = t;
        draw();
      }
    },
    clear() {
      if (!drawn) return;
      stream.write(`\r${CLEAR_LINE}`);
      drawn = false;
    },
  };
}
