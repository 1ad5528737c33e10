#!/usr/bin/env node
// The `mtl` command: runs the bundled CLI (dist/cli.mjs, built by `npm run build`, which `npm ci` runs via `prepare`).
import { existsSync } from "node:fs";
const cli = new URL("../dist/cli.mjs", import.meta.url);
if (!existsSync(cli)) {
  console.error("mtl: dist/cli.mjs is missing; run `npm run build` in the mtl-wasm package first");
  process.exit(2);
}
await import(cli.href);
