# workerd config for the runtime scenario (tools/runtimes.mjs workerd). Paths are relative to this file;
# the driver builds ../../out/runtimes/workerd/worker.mjs first and picks the port with --socket-addr.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .mainWorker) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "main") ],
);

const mainWorker :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "../../out/runtimes/workerd/worker.mjs"),
    # The one kernel artifact, as a precompiled module (compiling from bytes is forbidden in workerd).
    (name = "mtl.wasm", wasm = embed "../../build/mtl.wasm"),
    (name = "ort-wasm-simd-threaded.wasm", wasm = embed "../../node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm"),
  ],
  compatibilityDate = "2025-01-01",
);
