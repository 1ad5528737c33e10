// The `mtl` command: dispatch, usage, and error reporting (a usage or data error is one clear line, exit 2).
import { loadKernels, type Kernels } from "../runtime/load.ts";
import { SpecError } from "../model/spec.ts";
import { UsageError } from "./args.ts";
import { TRAIN_USAGE, trainCommand } from "./train.ts";
import type { ProgressStream } from "./progress.ts";
import { EVALUATE_USAGE, evaluateCommand } from "./evaluate.ts";
import { PREDICT_USAGE, predictCommand } from "./predict.ts";
import { EXPORT_USAGE, exportCommand } from "./export.ts";
import { SUMMARY_USAGE, summaryCommand } from "./summary.ts";
import { AFFINITY_USAGE, affinityCommand } from "./affinity.ts";
import { DATA_USAGE, dataCommand } from "./data.ts";
import { REPORT_USAGE, reportCommand } from "./report.ts";
import { INIT_USAGE, initCommand } from "./init.ts";
import { IMPORT_USAGE, importCommand } from "./import.ts";
import { TUNE_USAGE, tuneCommand } from "./tune.ts";

const USAGE = `mtl: multi-task learning in WebAssembly

  ${INIT_USAGE}
  ${TRAIN_USAGE}
  ${TUNE_USAGE}
  ${EVALUATE_USAGE}
  ${PREDICT_USAGE}
  ${EXPORT_USAGE}
  ${IMPORT_USAGE}
  ${SUMMARY_USAGE}
  ${AFFINITY_USAGE}
  ${REPORT_USAGE}
  ${DATA_USAGE}

Data paths in configs are relative to the current directory.`;

/** The compiled kernel artifact: commands instantiate it (and training threads receive it). */
export type ModuleSource = () => Promise<WebAssembly.Module>;

/**
 * `io.progress`: where `mtl train` draws its live progress line (only when it is a TTY: progress.ts); the default is
 * stderr unless TERM is "dumb". Callers that pass their own `io` get no progress line unless they pass one.
 */
export async function main(argv: string[], module: ModuleSource, io: { log: (s: string) => void; error: (s: string) => void; progress?: ProgressStream | null } = { log: console.log, error: console.error, progress: process.env.TERM === "dumb" ? null : process.stderr }): Promise<number> {
  const [cmd, ...rest] = argv;
  const kernels = async (): Promise<Kernels> => loadKernels(await module());
  // `mtl COMMAND --help` (or -h): that command's usage line, exit 0 (mtl data has its own, per subcommand).
  const usageOf: Record<string, string> = { train: TRAIN_USAGE, evaluate: EVALUATE_USAGE, predict: PREDICT_USAGE, export: EXPORT_USAGE, summary: SUMMARY_USAGE, affinity: AFFINITY_USAGE, report: REPORT_USAGE, tune: TUNE_USAGE };
  if (cmd in usageOf && (rest.includes("--help") || rest.includes("-h"))) {
    io.log(`usage: ${usageOf[cmd]}\n\nSee README.md ("The mtl command") for what each option does.`);
    return 0;
  }
  try {
    switch (cmd) {
      case "train":
        return await trainCommand(rest, kernels, io.log, module, io.progress);
      case "evaluate":
        return await evaluateCommand(rest, kernels, io.log);
      case "predict":
        return await predictCommand(rest, kernels, io.log);
      case "export":
        return await exportCommand(rest, kernels, io.log);
      case "import":
        return await importCommand(rest, kernels, io.log);
      case "summary":
        return await summaryCommand(rest, kernels, io.log);
      case "affinity":
        return await affinityCommand(rest, kernels, io.log);
      case "report":
        return await reportCommand(rest, kernels, io.log);
      case "data":
        return await dataCommand(rest, io.log);
      case "tune":
        return await tuneCommand(rest, kernels, io.log, module);
      case "init":
        return await initCommand(rest, io.log);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        io.log(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        io.error(`mtl: unknown command ${JSON.stringify(cmd)}\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof SpecError) {
      io.error(e.message.startsWith("mtl ") || e.message.startsWith("usage:") ? e.message : `mtl ${cmd}: ${e.message}`);
      return 2;
    }
    // Data errors (file, row, column) are Errors with complete messages: print the message, not the stack.
    if (e instanceof Error && !process.env.MTL_DEBUG) {
      io.error(`mtl ${cmd}: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
