// mtl export DIR [--out FILE.onnx]: the trained model as ONNX (IR 8, opset 17), default DIR/model.onnx.
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Kernels } from "../runtime/load.ts";
import { Model } from "../model/model.ts";
import { exportOnnx, onnxInputs } from "../onnx/export.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { parseArgs, strFlag, UsageError } from "./args.ts";
import { readTrainedDir } from "../io/checkpoint-files.ts";
import { loadWeights } from "../io/checkpoint.ts";

export const EXPORT_USAGE = "mtl export DIR [--out FILE.onnx]";

export async function exportCommand(argv: string[], kernels: () => Promise<Kernels>, log: (s: string) => void): Promise<number> {
  const p = parseArgs(argv, [], ["out"], "export");
  if (p.positional.length !== 1) throw new UsageError(`usage: ${EXPORT_USAGE}`);
  const dir = p.positional[0];
  const outFlag = strFlag(p, "out");
  if (outFlag !== undefined) checkWritable(outFlag);
  const { json: j, weights, weightsPath } = readTrainedDir(dir);
  const model = new Model(j.spec, j.preprocessing, await kernels());
  loadWeights(model, weights, weightsPath);
  const out = outFlag ?? join(dir, "model.onnx");
  const bytes = exportOnnx(model);
  try {
    await writeFileAtomic(out, bytes);
  } catch (e) {
    // The folder went away or is not writable: name the file (the temporary's name in the message is ours).
    throw new Error(`cannot write ${out}: ${(e as Error).message}`, { cause: e });
  }
  log(`wrote ${out} (${bytes.length} bytes; inputs ${Object.keys(onnxInputs(model)).join(", ")} → outputs ${j.spec.tasks.map((t) => t.name).join(", ")})`);
  return 0;
}

/** --out's folder must exist (export does not create folders): a UsageError naming the file and the folder otherwise. */
function checkWritable(out: string): void {
  const folder = dirname(out);
  if (!existsSync(folder)) throw new UsageError(`mtl export: cannot write ${out}: folder ${folder} does not exist`);
  if (!statSync(folder).isDirectory()) throw new UsageError(`mtl export: cannot write ${out}: ${folder} is not a folder`);
  if (existsSync(out) && statSync(out).isDirectory()) throw new UsageError(`mtl export: cannot write ${out}: it is a folder; give a file name (e.g. ${join(out, "model.onnx")})`);
}
