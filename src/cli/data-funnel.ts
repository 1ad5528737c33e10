// mtl data funnel --out DIR [--rows N] [--seed N]: the synthetic click → conversion funnel (src/data/funnel.ts) as
// DIR/funnel.csv, the file models/funnel-esmm.json and models/funnel-aitm.json read (with --out data/funnel).
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { funnelCsv, generateFunnel, FUNNEL_COLUMNS } from "../data/funnel.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { intFlag, parseArgs, strFlag, UsageError } from "./args.ts";

export const FUNNEL_USAGE = "mtl data funnel --out DIR [--rows N] [--seed N]";

export async function funnelData(argv: string[], log: (s: string) => void): Promise<number> {
  const p = parseArgs(argv, [], ["out", "rows", "seed"], "data");
  if (p.positional.length) throw new UsageError(`mtl data funnel: unexpected argument ${JSON.stringify(p.positional[0])}\nusage: ${FUNNEL_USAGE}`);
  const out = strFlag(p, "out");
  if (!out) throw new UsageError(`mtl data funnel: --out DIR is required\nusage: ${FUNNEL_USAGE}`);
  const rows = intFlag(p, "rows", "data") ?? 100000, seed = intFlag(p, "seed", "data") ?? 1;
  if (rows > 5_000_000) throw new UsageError(`mtl data funnel: --rows must be at most 5000000, found ${rows}`);
  if (seed > 0xffffffff) throw new UsageError(`mtl data funnel: --seed must be below 2^32, found ${seed}`);
  if (!existsSync(out)) mkdirSync(out, { recursive: true });
  const f = generateFunnel(rows, seed);
  const file = join(out, "funnel.csv");
  await writeFileAtomic(file, funnelCsv(f));
  const clicks = f.click.reduce((a, b) => a + b, 0), conv = f.convert.reduce((a, b) => a + b, 0);
  log(`wrote ${rows} rows (${clicks} clicks, ${conv} conversions; seed ${seed}) to ${file}\ncolumns: ${FUNNEL_COLUMNS.join(",")}`);
  return 0;
}
