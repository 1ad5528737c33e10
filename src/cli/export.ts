// mtl export DIR [--out FILE.onnx]: the trained model as ONNX (IR 8, opset 17), default DIR/model.onnx.
// mtl export DIR --format torch [--out FOLDER]: the model as a Python package for PyTorch (src/export/torch.ts),
// default DIR/torch/ (created; an existing folder is replaced only when it holds nothing but the package's files).
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Kernels } from "../runtime/load.ts";
import { Model } from "../model/model.ts";
import { exportOnnx, onnxInputs } from "../onnx/export.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { parseArgs, strFlag, UsageError } from "./args.ts";
import { readTrainedDir } from "../io/checkpoint-files.ts";
import { loadWeights } from "../io/checkpoint.ts";
import { writeDirAtomic } from "../io/atomic.ts";
import { torchPackage } from "../export/torch.ts";

export const EXPORT_USAGE = "mtl export DIR [--out FILE.onnx] | mtl export DIR --format torch [--out FOLDER]";

export async function exportCommand(argv: string[], kernels: () => Promise<Kernels>, log: (s: string) => void): Promise<number> {
  const p = parseArgs(argv, [], ["out", "format"], "export");
  if (p.positional.length !== 1) throw new UsageError(`usage: ${EXPORT_USAGE}`);
  const dir = p.positional[0];
  const outFlag = strFlag(p, "out");
  const format = strFlag(p, "format") ?? "onnx";
  if (format === "torch") return exportTorch(dir, outFlag, log);
  if (format !== "onnx") throw new UsageError(`mtl export: --format ${JSON.stringify(format)}: expected "onnx" or "torch"`);
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

/** The files of an earlier torch export (and Python's caches): what replacing the package folder may delete. */
const PACKAGE_FILES = new Set(["model.py", "loss.py", "seq.py", "safetensors_io.py", "__init__.py", "README.md", "model.json", "weights.safetensors", "__pycache__"]);

async function exportTorch(dir: string, outFlag: string | undefined, log: (s: string) => void): Promise<number> {
  const out = outFlag ?? join(dir, "torch");
  const parent = dirname(out);
  if (!existsSync(parent)) throw new UsageError(`mtl export: cannot write ${out}: folder ${parent} does not exist`);
  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) throw new UsageError(`mtl export: --format torch writes a folder, but ${out} is a file`);
    const other = readdirSync(out).filter((n) => !PACKAGE_FILES.has(n));
    if (other.length) throw new UsageError(`mtl export: ${out} exists and holds files that are not the torch package's (${other.slice(0, 5).join(", ")}${other.length > 5 ? ", …" : ""}); choose another --out or move them`);
  }
  const { json, weights } = readTrainedDir(dir);
  const files = torchPackage(json, weights);
  await writeDirAtomic(out, files);
  log(`wrote ${out}/ (${files.map(([n]) => n).join(", ")}): a PyTorch package of ${json.spec.name}; see ${join(out, "README.md")}`);
  return 0;
}

/** --out's folder must exist (export does not create folders): a UsageError naming the file and the folder otherwise. */
function checkWritable(out: string): void {
  const folder = dirname(out);
  if (!existsSync(folder)) throw new UsageError(`mtl export: cannot write ${out}: folder ${folder} does not exist`);
  if (!statSync(folder).isDirectory()) throw new UsageError(`mtl export: cannot write ${out}: ${folder} is not a folder`);
  if (existsSync(out) && statSync(out).isDirectory()) throw new UsageError(`mtl export: cannot write ${out}: it is a folder; give a file name (e.g. ${join(out, "model.onnx")})`);
}
