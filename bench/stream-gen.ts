// Writes a large CSV for the streaming benchmark (not committed): census-like mixed columns — 8 numeric (x0..x7, ~2 %
// missing), 4 categorical (c0..c3, 30 levels each) — and two binary tasks (y1, y2) from a fixed random teacher with
// label noise. Row i depends on (seed, i) only, so the first N rows of a larger file are the smaller file.
//
//   node --import tsx bench/stream-gen.ts [--rows 5000000] [--out /tmp/mtl-stream.csv] [--seed 1]
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { pathToFileURL } from "node:url";

export const GEN_COLUMNS = ["x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "c0", "c1", "c2", "c3", "y1", "y2"];

/** mulberry32 stream seeded by (seed, row): uniform [0, 1). */
function rowRng(seed: number, row: number): () => number {
  let s = (Math.imul(seed ^ 0x2545f491, 0x9e3779b1) + Math.imul(row, 0x85ebca6b)) >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The CSV line of row `i` (no newline). */
export function genLine(seed: number, i: number): string {
  const r = rowRng(seed, i);
  const normal = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const x = Array.from({ length: 8 }, normal);
  const c = Array.from({ length: 4 }, () => Math.floor(r() * 30));
  const z1 = x[0] + 0.5 * x[1] - x[2] * x[3] + (c[0] % 3) - 1 + 0.5 * normal();
  const z2 = x[0] - x[4] + 0.7 * x[5] + (c[1] % 5 === 0 ? 1.5 : -0.3) + 0.5 * normal();
  const cells = x.map((v) => (r() < 0.02 ? "" : v.toFixed(4)));
  return `${cells.join(",")},a${c[0]},b${c[1]},c${c[2]},d${c[3]},${z1 > 0 ? 1 : 0},${z2 > 0 ? 1 : 0}`;
}

/** Write `rows` rows (and the header) to `out`. */
export async function generate(out: string, rows: number, seed = 1): Promise<void> {
  const ws = createWriteStream(out);
  ws.write(GEN_COLUMNS.join(",") + "\n");
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    lines.push(genLine(seed, i));
    if (lines.length === 10000 || i === rows - 1) {
      if (!ws.write(lines.join("\n") + "\n")) await once(ws, "drain");
      lines.length = 0;
    }
  }
  ws.end();
  await once(ws, "finish");
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (k: string, d: string) => {
    const i = process.argv.indexOf(`--${k}`);
    return i > 0 ? process.argv[i + 1] : d;
  };
  const rows = Number(arg("rows", "5000000")), out = arg("out", "/tmp/mtl-stream.csv");
  if (!(Number.isInteger(rows) && rows > 0)) throw new Error(`--rows: expected a positive integer, got ${arg("rows", "")}`);
  const t0 = performance.now();
  await generate(out, rows, Number(arg("seed", "1")));
  console.log(`wrote ${rows} rows to ${out} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
