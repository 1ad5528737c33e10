# workerd config for examples/workerd, run from the project root after examples/node-csv wrote out/model.onnx:
#   npx workerd serve examples/workerd/config.capnp
# then: curl -X POST --data @out/probe.json http://127.0.0.1:8787/predict
# Paths are relative to this file: the project's node_modules/mtl-wasm and its out/ folder.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .predictWorker) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "main") ],
);

const predictWorker :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    # The package's worker bundle, imported by its name; it imports ./mtl.wasm, the precompiled kernels.
    (name = "mtl-wasm", esModule = embed "../../node_modules/mtl-wasm/dist/mtl.worker.mjs"),
    (name = "mtl.wasm", wasm = embed "../../node_modules/mtl-wasm/dist/mtl.wasm"),
    (name = "model.onnx", data = embed "../../out/model.onnx"),
  ],
  compatibilityDate = "2025-01-01",
);
