// The published bundle loads in an engine with ES2022 and WebAssembly only (README: JavaScriptCore and SpiderMonkey
// shells have no TextDecoder/TextEncoder): importing dist/mtl.inline.mjs must not touch them. hyparquet creates a
// TextDecoder when its module is evaluated, so the Parquet reader is loaded on first use (src/data/parquet-lazy.ts).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const bundle = fileURLToPath(new URL("../../dist/mtl.inline.mjs", import.meta.url));

test("dist/mtl.inline.mjs imports without TextDecoder, TextEncoder or fetch", () => {
  assert.ok(existsSync(bundle), `${bundle} is missing: run npm run build`);
  const code = `for (const k of ["TextDecoder", "TextEncoder", "fetch"]) delete globalThis[k];
    const m = await import(${JSON.stringify(bundle)});
    console.log(JSON.stringify([typeof m.train, typeof m.openParquet, typeof m.readTable]));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8" });
  assert.is(r.status, 0, `import failed: ${r.stderr}`);
  assert.equal(JSON.parse(r.stdout.trim()), ["function", "function", "function"]);
});

test.run();
