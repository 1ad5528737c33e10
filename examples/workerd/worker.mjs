// A Cloudflare-style worker serving predictions of an exported model: POST a JSON array of rows (objects keyed by
// input column) to /predict, get { [task]: number[] } back. config.capnp hands it everything as modules: this file,
// the package's worker bundle under its name "mtl-wasm", the kernels as a precompiled WebAssembly module (compiling
// wasm from bytes is forbidden in workers) and the model's bytes as a data module. Nothing is fetched.
import { createSession, loadWorkerKernels } from "mtl-wasm";
import model from "./model.onnx"; // ArrayBuffer (a data module)

// One session per isolate, created on the first request and reused by the next ones.
let session = null;
const getSession = async () => (session ??= createSession(new Uint8Array(model), { engine: "mtl", kernels: await loadWorkerKernels() }));

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname !== "/predict" || request.method !== "POST") {
      return new Response("POST /predict with a JSON array of rows\n", { status: 404 });
    }
    let rows;
    try {
      rows = await request.json();
    } catch (e) {
      return Response.json({ error: `the body is not JSON: ${e.message}` }, { status: 400 });
    }
    try {
      const out = await (await getSession()).run(rows); // throws a message naming the row and column on bad rows
      return Response.json(Object.fromEntries(Object.entries(out).map(([task, v]) => [task, Array.from(v)])));
    } catch (e) {
      return Response.json({ error: e.message }, { status: 400 });
    }
  },
};
