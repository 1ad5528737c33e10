// Run Debian's python3-onnx checker (test/onnx/check_onnx.py) on ONNX models given as bytes or paths.
// Test-only helper (uses node:*). The interpreter is /usr/bin/python3 unless ONNX_PYTHON says otherwise:
// pyenv's python3 on PATH does not see Debian's dist-packages.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const CHECK_SCRIPT = fileURLToPath(new URL("./check_onnx.py", import.meta.url));

export interface CheckResult {
  /** false when the interpreter is missing or cannot import onnx: the check did not run (not a failure). */
  available: boolean;
  /** true when every model passed (always false when unavailable). */
  ok: boolean;
  /** The checker's output (one "OK …" / "FAIL …" line per model), or why it is unavailable. */
  output: string;
}

/** Check models (bytes are written to a temporary directory, named model0.onnx, model1.onnx, …). Synchronous. */
export function checkWithPython(models: (Uint8Array | string)[]): CheckResult {
  const python = process.env.ONNX_PYTHON || "/usr/bin/python3";
  let dir: string | undefined;
  try {
    const paths = models.map((m, i) => {
      if (typeof m === "string") return m;
      dir ??= mkdtempSync(join(tmpdir(), "onnx-check-"));
      const p = join(dir, `model${i}.onnx`);
      writeFileSync(p, m);
      return p;
    });
    const res = spawnSync(python, [CHECK_SCRIPT, ...paths], { encoding: "utf8", timeout: 60_000 });
    const output = `${res.stdout ?? ""}${res.stderr ?? ""}`.trim();
    if (res.error) {
      const code = (res.error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "EACCES") return { available: false, ok: false, output: `${python} is not available (${code})` };
      return { available: true, ok: false, output: `${python} failed to run: ${res.error.message}` };
    }
    if (res.status === 3) return { available: false, ok: false, output };
    return { available: true, ok: res.status === 0, output };
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
