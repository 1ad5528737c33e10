// mtl import DIR --from FILE.safetensors: weights trained elsewhere (the PyTorch package of `mtl export --format
// torch`) become the model folder's weights. Every parameter of DIR/model.json must be in FILE, F32, with its
// shape, finite, and FILE may hold nothing else (errors name the tensor). Then DIR/weights.safetensors is replaced,
// DIR/model.json records its SHA-256 (written last, as train does), and DIR/model.onnx, when present, is rewritten
// from the new weights, so `mtl export`, `mtl predict` (either engine) and `mtl evaluate` serve them.
// DIR/state.safetensors (the optimizer's moments of the earlier run) and DIR/checkpoints/ are left as they are.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Kernels } from "../runtime/load.ts";
import { Model } from "../model/model.ts";
import { exportOnnx } from "../onnx/export.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { loadWeights, weightsBytes } from "../io/checkpoint.ts";
import { deserialize } from "../io/safetensors.ts";
import { readTrainedDir, sha256 } from "../io/checkpoint-files.ts";
import { parseArgs, strFlag, UsageError } from "./args.ts";

export const IMPORT_USAGE = "mtl import DIR --from FILE.safetensors";

export async function importCommand(argv: string[], kernels: () => Promise<Kernels>, log: (s: string) => void): Promise<number> {
  const p = parseArgs(argv, [], ["from"], "import");
  const from = strFlag(p, "from");
  if (p.positional.length !== 1 || from === undefined) throw new UsageError(`usage: ${IMPORT_USAGE}`);
  const dir = p.positional[0];
  if (!existsSync(from)) throw new UsageError(`mtl import: ${from} does not exist`);
  const { json } = readTrainedDir(dir);
  const model = new Model(json.spec, json.preprocessing, await kernels());
  try {
    const bytes = readFileSync(from);
    const extra = Object.keys(deserialize(bytes).tensors).filter((n) => !model.store.params.some((q) => q.name === n));
    if (extra.length) throw new Error(`${from}: unexpected tensor(s) ${extra.slice(0, 5).map((n) => JSON.stringify(n)).join(", ")}${extra.length > 5 ? ", …" : ""}: not parameters of ${json.spec.name}`);
    loadWeights(model, bytes, from);
    for (const [name, w] of Object.entries(model.getWeights())) {
      const i = w.findIndex((x) => !Number.isFinite(x));
      if (i >= 0) throw new Error(`${from}: tensor ${JSON.stringify(name)} has a non-finite value at element ${i} (${w[i]})`);
    }
    const weights = weightsBytes(model);
    const written = [join(dir, "weights.safetensors")];
    await writeFileAtomic(written[0], weights);
    const onnx = join(dir, "model.onnx");
    if (existsSync(onnx)) {
      await writeFileAtomic(onnx, exportOnnx(model));
      written.push(onnx);
    }
    await writeFileAtomic(join(dir, "model.json"), JSON.stringify({ ...json, weights_sha256: sha256(weights) }, null, 1) + "\n");
    written.push(join(dir, "model.json"));
    log(`imported ${model.store.params.length} tensors from ${from}; wrote ${written.join(", ")}`);
    return 0;
  } finally {
    model.dispose();
  }
}
