// Adaptive threading: a gradient source that trains on one thread or data-parallel on N threads, whichever is
// faster right now. When cores are shared with other work, threads that wait for each other lose their time
// slices and N threads can be slower than one; on an idle machine N threads win. So the source measures:
//
//   1. probe: `warmupSteps` steps (not timed) then timed steps on one thread until the last `probeSteps` of them
//      are steady (their median within `degrade`× of their minimum: the first steps of a thread run baseline code
//      while the engine compiles the optimised tier, and in workers that takes tens of steps; at most
//      `maxProbeSteps`), the same on N threads; it picks N threads only if their median step time is below
//      (1 − margin) × one thread's.
//   2. run: every `checkEvery` steps it compares the chosen mode's median step time over those steps with the
//      time it was chosen at; a change by more than `degrade`× either way (slower: the machine got busier;
//      faster: the load went away) re-probes the other mode and picks again. It also re-probes after
//      `recheckEvery` steps in one mode (a load on the other cores slows N threads but may leave one thread's time
//      as it was, so its own time would never say the load went away); each re-check that confirms the mode
//      doubles that interval, up to 16×, and a switch resets it.
//
//   3. guard: on N threads, every `guardSteps` (8) steps' median is compared with one thread's last measured time;
//      if N threads are slower, training falls back to one thread at once, without a probe (a competing load can
//      make N threads several times slower within a few steps, and a 40-step window plus a probe costs more than the
//      load lasts). N threads are then not probed again ("faster" or "recheck") for recheckEvery·2^k steps, k the
//      number of such fallbacks in a row that came soon (< recheckEvery steps) after N threads were chosen — loads that
//      come and go in short bursts stop the back-and-forth. A "slower" one-thread time may still re-probe them when
//      the last fallback came after a long good run (both modes slowed, so the time they lost against is stale).
//      A re-probe of N threads also stops after 3 timed steps when even their fastest is slower than one thread.
//      On seeded simulated loads (steady, per-step noise, phases of 50 and 300 steps, 10-step bursts, both modes
//      slowing) auto stays within 5 % of the better fixed choice (test/train/auto-threads.test.ts); without the guard
//      it was up to 34 % slower than one thread on bursty loads.
//
// Only full batches are timed (the last, shorter batch of an epoch costs about the same, but is skipped so every
// sample is the same work). The step time is the gradient's compute; the update that follows it in fit is the
// same work in both modes (the workers apply theirs concurrently, which the next parallel compute waits for).
//
// The one-thread mode is not the one-program source but sharded.ts: the N-thread step computed on this thread, shard
// by shard, bit for bit (same shards, same dropout streams, same summation order). So the choice, which depends on
// timing, never changes the numbers: an auto run gives exactly the weights of `--threads N` for the same seed,
// repeats bit for bit, and --resume reproduces it, whichever modes ran (test/train/auto-threads-repro.test.ts).
// The price is the sharded step's small overhead on one thread (smaller GEMMs, N − 1 extra sums of the gradient
// block). Every step's update is applied to this thread's parameters; the parallel source's `begin()` sends the
// parameters and optimizer state to its workers whenever it takes over. When N threads cannot run (one core, no
// workers), auto is the one-program source, like --threads 1. Batch norm shards like the rest: each shard normalises
// with its own rows' statistics and the running statistics are the shards' mean (shard-state.ts).
import type { Model } from "../model/model.ts";
import type { ModelSpec } from "../model/spec.ts";
import type { Encoded } from "../data/preprocess.ts";
import type { GradientStage } from "./task-gradients.ts";
import { localGradients, type GradientSource } from "./trainer.ts";
import { canRunParallel, parallelGradients, type ParallelGradients, type WorkerLike } from "./parallel.ts";
import { shardedGradients } from "./sharded.ts";

/** "single": the step on this thread (its N shards in turn when there are N); "parallel": the N shards on N workers. */
export type ThreadMode = "single" | "parallel";

/** ThreadChooser's options: step counts are timed (full-batch) steps; times are milliseconds. */
export interface ChooserOptions {
  /** Whether the parallel mode exists at all (false: always "single", nothing is measured). */
  parallel: boolean;
  /** Timed steps per mode in a probe (default 6). */
  probeSteps?: number;
  /** Untimed steps before a probe's timed ones (JIT tier-up, waking workers; default 2). */
  warmupSteps?: number;
  /** Timed steps after which a probe ends even if its times are not steady (default 40). */
  maxProbeSteps?: number;
  /** Steps between checks of the chosen mode's step time (default 40). */
  checkEvery?: number;
  /** Re-probe when the chosen mode's median step time moves by more than this factor either way (default 1.5). */
  degrade?: number;
  /** Re-probe anyway after this many steps in one mode (default 200, doubling while re-checks confirm it; 0: never). */
  recheckEvery?: number;
  /** N threads must be this much faster (fraction of one thread's time) to be chosen (default 0.05). */
  margin?: number;
  /**
   * Guard (default 8): while on N threads, the median of every `guardSteps` steps is compared with one thread's last
   * measured time; slower, and training falls back to one thread at once, without a probe (0: no guard).
   */
  guardSteps?: number;
}

/** One choice of mode, as ThreadChooser.record returns it and `decisions` keeps it. */
export interface ThreadDecision {
  /** Timed steps seen when the decision was made (1-based count of `record` calls). */
  at: number;
  /** The mode chosen (it may equal `previous`: a re-probe that confirmed it). */
  mode: ThreadMode;
  /** The mode before the decision; null for the first one. */
  previous: ThreadMode | null;
  /**
   * Why it was made: "start" (first probe), "slower"/"faster" (the chosen mode's median moved by more than
   * `degrade`×), "recheck" (recheckEvery steps in one mode), "guard" (N threads fell behind one thread; no probe).
   */
  reason: "start" | "slower" | "faster" | "recheck" | "guard";
  /** One thread's median step time (ms) the decision compared. */
  single: number;
  /** N threads' median step time (ms) the decision compared. */
  parallel: number;
}

const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * The decision logic alone (pure: it is fed step times, it never reads a clock). `mode` is the mode to run the
 * next step in; `record(ms)` reports the time of a step just run in that mode and returns a decision when the
 * chosen mode was (re)confirmed or changed after a probe.
 */
export class ThreadChooser {
  /** The mode to run the next step in ("single" at first: a probe times one thread first). */
  mode: ThreadMode = "single";
  /** Every decision so far, in order. */
  readonly decisions: ThreadDecision[] = [];
  private readonly o: Required<ChooserOptions>;
  private phase: "probe" | "run";
  private queue: ThreadMode[];
  private seen = 0;
  private samples: number[] = [];
  private readonly measured: Record<ThreadMode, number> = { single: NaN, parallel: NaN };
  private reason: ThreadDecision["reason"] = "start";
  private chosen: ThreadMode | null = null;
  private ref = NaN;
  private window: number[] = [];
  private runSteps = 0;
  private steps = 0;
  private recheck: number;
  /** Fallbacks by the guard soon after N threads were chosen, in a row; each doubles the wait before trying again. */
  private failures = 0;
  /** No probe of N threads (from one thread) before this step. */
  private blockedUntil = 0;
  private guard: number[] = [];

  constructor(opts: ChooserOptions) {
    this.o = { probeSteps: 6, warmupSteps: 2, maxProbeSteps: 40, checkEvery: 40, degrade: 1.5, recheckEvery: 200, margin: 0.05, guardSteps: 8, ...opts };
    if (!(this.o.probeSteps >= 1 && this.o.checkEvery >= 1 && this.o.degrade > 1 && this.o.margin >= 0 && this.o.margin < 1)) throw new Error("ThreadChooser: probeSteps, checkEvery ≥ 1, degrade > 1, 0 ≤ margin < 1");
    this.recheck = this.o.recheckEvery;
    this.phase = opts.parallel ? "probe" : "run";
    this.queue = opts.parallel ? ["single", "parallel"] : [];
  }

  /** The chosen mode's median step time when it was chosen (NaN while probing at start). */
  get reference(): number {
    return this.ref;
  }

  /** True while a probe is timing a mode (at start, and after a change or re-check until the pick). */
  get probing(): boolean {
    return this.phase === "probe";
  }

  /** After N threads lost: no probe of them for recheckEvery (or checkEvery)·2^failures steps (at most 64×). */
  private block(): void {
    const base = Math.max(this.o.recheckEvery, this.o.checkEvery);
    this.blockedUntil = this.steps + base * 2 ** Math.min(this.failures, 6);
  }

  /**
   * Report the time (ms) of one full-batch step just run in `mode`. Returns the decision when a probe ends or the
   * guard falls back to one thread (then `mode` is the mode for the next step), else null; always null without a
   * parallel mode.
   */
  record(ms: number): ThreadDecision | null {
    if (!this.o.parallel) return null;
    this.steps++;
    if (this.phase === "probe") {
      if (++this.seen <= this.o.warmupSteps) return null;
      this.samples.push(ms);
      if (this.samples.length > this.o.probeSteps) this.samples.shift();
      // A re-probe of N threads whose best steps are already slower than one thread's time cannot win: stop early.
      const abort = this.chosen !== null && this.mode === "parallel" && this.samples.length >= 3 && Math.min(...this.samples) * (1 - this.o.margin) > this.measured.single;
      if (abort) this.measured.parallel = median(this.samples);
      else if (this.samples.length < this.o.probeSteps) return null;
      const med = median(this.samples);
      if (!abort && med > this.o.degrade * Math.min(...this.samples) && this.seen - this.o.warmupSteps < Math.max(this.o.maxProbeSteps, this.o.probeSteps)) return null;
      if (!abort) this.measured[this.mode] = med;
      this.queue.shift();
      this.seen = 0;
      this.samples = [];
      if (this.queue.length) {
        this.mode = this.queue[0];
        return null;
      }
      const { single, parallel } = this.measured;
      const mode: ThreadMode = parallel < (1 - this.o.margin) * single ? "parallel" : "single";
      const d: ThreadDecision = { at: this.steps, mode, previous: this.chosen, reason: this.reason, single, parallel };
      if (this.reason === "recheck" && mode === this.chosen) this.recheck = Math.min(2 * this.recheck, 16 * this.o.recheckEvery);
      else if (mode !== this.chosen) this.recheck = this.o.recheckEvery;
      if (mode === "single" && this.reason !== "start" && this.queue.length === 0 && d.previous === "single") this.block();
      this.mode = this.chosen = mode;
      this.ref = this.measured[mode];
      this.phase = "run";
      this.window = [];
      this.guard = [];
      this.runSteps = 0;
      this.decisions.push(d);
      return d;
    }
    this.window.push(ms);
    this.runSteps++;
    if (this.mode === "parallel" && this.o.guardSteps > 0) {
      // Guard: N threads are only worth it while faster than one thread; a competing load can make them several
      // times slower within a few steps, faster than the window below would notice.
      this.guard.push(ms);
      if (this.guard.length >= this.o.guardSteps) {
        const g = median(this.guard);
        this.guard = [];
        if (g * (1 - this.o.margin) > this.measured.single) {
          const d: ThreadDecision = { at: this.steps, mode: "single", previous: "parallel", reason: "guard", single: this.measured.single, parallel: g };
          this.measured.parallel = g;
          if (this.runSteps < this.o.recheckEvery || this.o.recheckEvery === 0) this.failures++;
          else this.failures = 0;
          this.block();
          this.mode = this.chosen = "single";
          this.ref = this.measured.single;
          this.window = [];
          this.runSteps = 0;
          this.decisions.push(d);
          return d;
        }
      }
    }
    if (this.window.length < this.o.checkEvery) return null;
    const m = median(this.window);
    this.window = [];
    const reason = m > this.o.degrade * this.ref ? "slower" : m * this.o.degrade < this.ref ? "faster" : this.recheck > 0 && this.runSteps >= this.recheck ? "recheck" : null;
    if (reason && (reason !== "slower" || this.failures > 0) && this.mode === "single" && this.steps < this.blockedUntil) {
      // N threads lost recently: take one thread's fresh time as its reference and wait before probing them again
      // (unless they had held for long before, and one thread itself got slower since: then the time N threads lost
      // against is stale, so probe them).
      this.ref = m;
      this.measured.single = m;
      return null;
    }
    if (reason) {
      // The current mode's fresh median stands as its measurement; probe the other one and pick again.
      this.measured[this.mode] = m;
      this.reason = reason;
      this.mode = this.mode === "single" ? "parallel" : "single";
      this.queue = [this.mode];
      this.phase = "probe";
    }
    return null;
  }
}

/** adaptiveGradients' options: ThreadChooser's (whether a parallel mode exists comes from the sources) and these. */
export interface AdaptiveOptions extends Omit<ChooserOptions, "parallel"> {
  /** The clock (ms), injectable for tests (default performance.now). */
  now?: () => number;
  /** Called on every decision (the first pick, and each re-pick after a probe). */
  onDecision?: (d: ThreadDecision) => void;
  /** Rows of the data set the parallel source was built for (a compute over other data runs on one thread). */
  rows?: number;
}

export interface AutoGradients extends GradientSource {
  /** Threads of the parallel mode (1: no parallel mode, always one thread). */
  readonly threads: number;
  /** The mode the next step runs in. */
  readonly mode: ThreadMode;
  /** The chooser's decisions so far (ThreadChooser.decisions). */
  readonly decisions: readonly ThreadDecision[];
  /** The chooser that picks the mode (for its options' effects and tests). */
  readonly chooser: ThreadChooser;
  /** After a non-finite objective: the source that ran the last step's diagnosis (first non-finite parameter or output), or "". */
  diagnose(): string;
  /** Close both sources (terminates the workers); call once, after training. */
  close(): void;
}

/**
 * Switch between two gradient sources for the same model and batch size by measured step time (ThreadChooser).
 * `parallel` null: always `single`. A step with a gradient stage (`combine`) or over other data than `rows`
 * runs on `single` and is not timed.
 */
export function adaptiveGradients(single: GradientSource & { close?(): void }, parallel: (GradientSource & { threads?: number; close?(): void }) | null, opts: AdaptiveOptions = {}): AutoGradients {
  if (parallel && parallel.batch !== single.batch) throw new Error(`adaptiveGradients: batch sizes differ (${single.batch} vs ${parallel.batch})`);
  const chooser = new ThreadChooser({ ...opts, parallel: parallel !== null });
  const now = opts.now ?? (() => performance.now());
  const losses = new Float64Array(single.losses.length), scales = new Float64Array(single.scales.length), relations = new Float64Array(single.relations.length);
  /** The source whose state (the workers' parameter copies) is current; null after begin(). */
  let active: GradientSource | null = null;
  let lastRan: GradientSource = single;
  let lr = 0, step = 0, prepared = false;
  return {
    batch: single.batch,
    threads: parallel ? (parallel.threads ?? 2) : 1,
    losses,
    scales,
    relations,
    chooser,
    get mode() {
      return chooser.mode;
    },
    get decisions() {
      return chooser.decisions;
    },
    compute(d: Encoded, o: ArrayLike<number>, start: number, count: number, weigh: Parameters<GradientSource["compute"]>[4], combine?: (stage: GradientStage) => void) {
      // A gradient stage runs on either source (parallel.ts sums the shards' per-task gradients before it).
      const timed = parallel !== null && (opts.rows === undefined || d.rows === opts.rows);
      const src = timed && chooser.mode === "parallel" ? parallel! : single;
      if (src !== active) {
        // Taking over: the other source's updates went to this thread's parameters only.
        src.begin?.();
        active = src;
      }
      if (prepared) src.prepare?.(lr, step);
      const t0 = now();
      const obj = src.compute(d, o, start, count, weigh, combine);
      const ms = now() - t0;
      lastRan = src;
      losses.set(src.losses);
      scales.set(src.scales);
      relations.set(src.relations);
      if (timed && count === single.batch) {
        const dec = chooser.record(ms);
        if (dec) opts.onDecision?.(dec);
      }
      return obj;
    },
    prepare(l: number, s: number) {
      lr = l;
      step = s;
      prepared = true;
    },
    begin() {
      // fit is starting: the parameters may have changed; whichever source runs next resyncs.
      active = null;
    },
    diagnose() {
      return (lastRan as { diagnose?: () => string }).diagnose?.() ?? "";
    },
    lossesAfterUpdate() {
      if (!lastRan.lossesAfterUpdate) throw new Error("the gradient source that ran the last step cannot re-run its forward");
      return lastRan.lossesAfterUpdate();
    },
    close() {
      parallel?.close?.();
      single.close?.();
    },
  };
}

/** autoGradients' options: adaptiveGradients' and how to start the parallel mode. */
export interface AutoOptions extends AdaptiveOptions {
  /** Threads of the parallel mode (default: navigator.hardwareConcurrency; < 2: one thread only). */
  threads?: number;
  /** Start a worker running parallel-worker.ts (node-workers.ts for Node); without it: one thread only. */
  spawn?: () => WorkerLike;
  /** The compiled kernel module for the workers. */
  module?: WebAssembly.Module;
  /** Polls before a waiting thread blocks (ParallelOptions.spin). */
  spin?: number;
}

/**
 * Cores the runtime reports: navigator.hardwareConcurrency (browsers, Deno, Node ≥ 21), else Node's
 * os.availableParallelism() through process.getBuiltinModule (Node ≥ 20.16; no import, so bundles stay portable);
 * 1 when unknown.
 */
export function availableThreads(): number {
  const g = globalThis as { navigator?: { hardwareConcurrency?: number }; process?: { getBuiltinModule?: (id: string) => { availableParallelism?: () => number } | undefined } };
  let n = g.navigator?.hardwareConcurrency;
  if (typeof n !== "number") n = g.process?.getBuiltinModule?.("node:os")?.availableParallelism?.();
  return typeof n === "number" && n >= 1 ? Math.floor(n) : 1;
}

/** Shards below this many rows cost more in per-step overhead than a thread gains (auto's thread count). */
export const MIN_SHARD_ROWS = 16;
/** At most this many threads for auto (each holds a copy of the parameters and a program). */
export const MAX_AUTO_THREADS = 8;

/**
 * The shard count `--threads auto` (and train()'s default) trains with: N = min(cores, MAX_AUTO_THREADS,
 * ⌊batch / MIN_SHARD_ROWS⌋), or 1 with the reason when sharding cannot or should not be used. A runtime that cannot
 * run threads still trains N shards (on one thread: sharded.ts), so every runtime on one machine gives the same run.
 * The numbers depend on N, not on which mode auto picks; the same seed on a machine with another core count gives
 * another (equally valid) run: pass a fixed thread count to reproduce a run elsewhere.
 */
export function autoThreadCount(spec: ModelSpec, cores = availableThreads()): {
  /** The shard count N ≥ 1 (1: one program over the whole batch). */
  threads: number;
  /** Why, for logs: `"4 cores"`, or why one thread (one core, affinity recording, a small batch). */
  reason: string;
} {
  const B = spec.training.batch_size;
  const n = Math.min(cores, MAX_AUTO_THREADS, Math.floor(B / MIN_SHARD_ROWS));
  if (cores < 2) return { threads: 1, reason: `${cores} core available` };
  if (spec.training.affinity) return { threads: 1, reason: "training.affinity is recorded on one thread's program" };
  if (n < 2) return { threads: 1, reason: `a batch of ${B} rows is too small to shard (fewer than ${MIN_SHARD_ROWS} rows per thread)` };
  return { threads: n, reason: `${cores} cores` };
}

/**
 * A gradient source that trains on one thread or on `threads` threads, whichever measures faster (see the file
 * comment). Runs on one thread only when the runtime cannot run threads (canRunParallel()) or no spawn/module is given:
 * then every step is the `threads`-shard step on this thread. With fewer than two threads it is the one-program
 * source. Await it, pass it to `fit(..., { gradients })`, `close()` it.
 */
export async function autoGradients(model: Model, data: Encoded, opts: AutoOptions = {}): Promise<AutoGradients> {
  const threads = opts.threads ?? availableThreads();
  let parallel: ParallelGradients | null = null;
  if (threads >= 2 && opts.spawn && opts.module && canRunParallel()) parallel = await parallelGradients(model, data, { threads, spawn: opts.spawn, module: opts.module, spin: opts.spin });
  // One thread computes the N-thread step (sharded.ts), so the mode never changes the numbers; without workers it
  // still does, so the run is the one N threads would give.
  const single = threads >= 2 ? shardedGradients(model, threads) : localGradients(model, model.spec.training.batch_size);
  return adaptiveGradients(single, parallel, { ...opts, rows: data.rows });
}
