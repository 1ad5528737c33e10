// Tests that cannot run here because a data file or an external tool is missing. Outside CI they print a line
// `SKIP <what>: <reason>` (on a line of its own: uvu prints its dots without newlines), which tools/test.mjs counts
// and reports as skipped. Under CI (CI set and not "0"/"false", as .ci/run does) a missing piece is a failure: throw.
import { existsSync } from "node:fs";

/** True when running under CI, where nothing may be skipped. */
export const underCI = (): boolean => !!process.env.CI && !/^(0|false)$/i.test(process.env.CI);

/** Report that `what` cannot run here: SKIP line outside CI; under CI throws (the calling test fails). */
export function skipOrFail(what: string, reason: string): void {
  if (underCI()) throw new Error(`${what}: ${reason}; under CI this is a failure`);
  process.stdout.write(`\nSKIP ${what}: ${reason}\n`);
}

/** True when `path` exists; otherwise reports a skip (see skipOrFail; throws under CI) and returns false. */
export function needFile(path: string, what: string): boolean {
  if (existsSync(path)) return true;
  skipOrFail(what, `${path} not present`);
  return false;
}
