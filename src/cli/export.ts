// mtl export DIR [--out FILE.onnx]: the trained model as ONNX (IR 8, opset 17), default DIR/model.onnx.
import { join } from "node:path";
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
  const { json: j, weights, weightsPath } = readTrainedDir(dir);
  const model = new Model(j.spec, j.preprocessing, await kernels());
  loadWeights(model, weights, weightsPath);
  const out = strFlag(p, "out") ?? join(dir, "model.onnx");
  const bytes = exportOnnx(model);
  await writeFileAtomic(out, bytes);
  log(`wrote ${out} (${bytes.length} bytes; inputs ${Object.keys(onnxInputs(model)).join(", ")} → outputs ${j.spec.tasks.map((t) => t.name).join(", ")})`);
  return 0;
}
