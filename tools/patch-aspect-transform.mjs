// @as-pect/transform 8.1.0 hard-codes AssemblyScript 0.27's NodeKind numbers; 0.28 inserted a kind, so
// every class is silently skipped. Rewrite `N /* NodeKind.X */` literals from the installed compiler's enum.
// Idempotent: running it twice changes nothing.
import { readFileSync, writeFileSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { createRequire } from "node:module";
import { NodeKind } from "assemblyscript";

const require = createRequire(import.meta.url);
const libDir = join(dirname(require.resolve("@as-pect/transform/package.json")), "lib");
let changed = 0;
for (const file of readdirSync(libDir).filter((f) => f.endsWith(".js"))) {
  const path = join(libDir, file);
  const src = readFileSync(path, "utf8");
  const out = src.replace(/\b(\d+) \/\* NodeKind\.(\w+) \*\//g, (m, num, name) => {
    const v = NodeKind[name];
    if (typeof v !== "number") throw new Error(`${path}: NodeKind.${name} not found in the installed assemblyscript`);
    if (String(v) !== num) changed++;
    return `${v} /* NodeKind.${name} */`;
  });
  if (out !== src) writeFileSync(path, out);
}
if (changed) console.log(`patched ${changed} NodeKind literal(s) in @as-pect/transform`);
