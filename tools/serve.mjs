// A tiny static file server for the browser tests and the demo: 127.0.0.1 only, ephemeral port by default,
// .wasm served as application/wasm, optional cross-origin isolation (COOP/COEP) for ORT threads.
//   node tools/serve.mjs DIR [--port N] [--isolate]
import { createServer } from "node:http";
import { createReadStream, statSync } from "node:fs";
import { extname, join, normalize, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { createServer as createTcpServer } from "node:net";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".onnx": "application/octet-stream",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

/** A TCP port free on 127.0.0.1 right now (for a server this process does not own, e.g. workerd). */
export function freePort() {
  return new Promise((ok, fail) => {
    const s = createTcpServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/**
 * Serve `roots` (URL prefix → directory; "/" for the site root) on 127.0.0.1.
 * @returns {Promise<{ url: string, port: number, close: () => Promise<void> }>}
 */
export function serve(roots, { port = 0, isolate = false, quiet = true } = {}) {
  const mounts = Object.entries(typeof roots === "string" ? { "/": roots } : roots)
    .map(([prefix, dir]) => [prefix.endsWith("/") ? prefix : prefix + "/", resolve(dir)])
    .sort((a, b) => b[0].length - a[0].length);
  const server = createServer((req, res) => {
    const headers = { "Cache-Control": "no-store" };
    if (isolate) Object.assign(headers, { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp", "Cross-Origin-Resource-Policy": "same-origin" });
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const mount = mounts.find(([prefix]) => path.startsWith(prefix) || path + "/" === prefix);
    let file = null;
    if (mount) {
      const rel = normalize(path.slice(mount[0].length) || "index.html");
      const full = join(mount[1], rel);
      if (full === mount[1] || full.startsWith(mount[1] + sep)) {
        try {
          const st = statSync(full);
          file = st.isDirectory() ? join(full, "index.html") : full;
          statSync(file);
        } catch {
          file = null;
        }
      }
    }
    if (!quiet) console.log(`${req.method} ${path} ${file ? 200 : 404}`);
    if (!file || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(file ? 405 : 404, { ...headers, "Content-Type": "text/plain" });
      res.end(file ? "method not allowed\n" : "not found\n");
      return;
    }
    res.writeHead(200, { ...headers, "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Content-Length": statSync(file).size });
    if (req.method === "HEAD") res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, "127.0.0.1", () => {
      const p = server.address().port;
      ok({
        url: `http://127.0.0.1:${p}/`,
        port: p,
        close: () => new Promise((done) => (server.closeAllConnections?.(), server.close(() => done()))),
      });
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const args = process.argv.slice(2);
  const dir = args.find((a, i) => !a.startsWith("--") && args[i - 1] !== "--port") ?? ".";
  const pi = args.indexOf("--port");
  const s = await serve(dir, { port: pi >= 0 ? +args[pi + 1] : 0, isolate: args.includes("--isolate"), quiet: false });
  console.log(`serving ${resolve(dir)} at ${s.url}`);
}
