// A small argv parser: positionals plus `--flag value` / `--flag=value` / boolean `--flag`.
export interface Parsed {
  positional: string[];
  flags: Map<string, string | true>;
}

export function parseArgs(argv: string[], booleans: readonly string[], valued: readonly string[], command: string): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (booleans.includes(name)) {
      if (eq >= 0) throw new UsageError(`mtl ${command}: --${name} takes no value`);
      flags.set(name, true);
    } else if (valued.includes(name)) {
      const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined || v === "") throw new UsageError(`mtl ${command}: --${name} needs a value`);
      flags.set(name, v);
    } else {
      throw new UsageError(`mtl ${command}: unknown option --${name}; options: ${[...valued, ...booleans].map((f) => `--${f}`).join(", ")}`);
    }
  }
  return { positional, flags };
}

export function intFlag(p: Parsed, name: string, command: string): number | undefined {
  const v = p.flags.get(name);
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !/^\d+$/.test(v)) throw new UsageError(`mtl ${command}: --${name} expects a non-negative integer, found ${JSON.stringify(v)}`);
  return +v;
}

export function strFlag(p: Parsed, name: string): string | undefined {
  const v = p.flags.get(name);
  return typeof v === "string" ? v : undefined;
}

/** A mistake in how the command was called: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}
