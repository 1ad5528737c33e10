// The machine packages the test suite needs beyond npm's: one list, used by `npm test` (tools/test.mjs, first
// step) and by .ci/run. Each is a Debian package checked by the file or module it provides.
//
//   node tools/deps.mjs            check; as root, install what is missing (apt-get update + install), else say
//                                  exactly what is missing and the command that installs it; exit 1 if still missing
//   node tools/deps.mjs --check    check only (exit 1 if anything is missing)
//
// Prints `PASS deps <name>` / `FAIL deps <name>: …` lines, one per package.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";

/** What the tests use each for; `present` says whether it is installed. */
export const DEPS = [
  { pkg: "python3-onnx", why: "the independent ONNX checker (test/onnx/check_onnx.py, Debian's /usr/bin/python3)", present: () => spawnSync("/usr/bin/python3", ["-c", "import onnx"], { stdio: "ignore" }).status === 0 },
  { pkg: "python3-torch", why: "the PyTorch bridge parity tests (test/export/torch.test.ts, Debian's /usr/bin/python3)", present: () => spawnSync("/usr/bin/python3", ["-c", "import torch"], { stdio: "ignore" }).status === 0 },
  { pkg: "python3-sklearn", why: "the independent multi-label metric reference (test/metrics/multilabel.test.ts)", present: () => spawnSync("/usr/bin/python3", ["-c", "import sklearn"], { stdio: "ignore" }).status === 0 },
  { pkg: "chromium", why: "the browser runtime tests and the demo check (playwright-core drives /usr/bin/chromium)", present: () => existsSync("/usr/bin/chromium") },
  { pkg: "libjavascriptcoregtk-4.0-bin", why: "npm run test:jsc (Safari's engine, /usr/bin/jsc)", present: () => existsSync("/usr/bin/jsc") },
  { pkg: "libmozjs-102-dev", why: "npm run test:spidermonkey (Firefox ESR 102's engine, /usr/bin/js102)", present: () => existsSync("/usr/bin/js102") },
];

export function missing() {
  return DEPS.filter((d) => !d.present());
}

function apt(args) {
  const r = spawnSync("apt-get", args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  return r.status === 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const checkOnly = process.argv.includes("--check");
  let need = missing();
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  if (need.length && !checkOnly && root) {
    const pkgs = need.map((d) => d.pkg);
    console.log(`installing Debian packages: ${pkgs.join(" ")}`);
    if (!apt(["update", "-q"]) || !apt(["install", "-y", "-q", "--no-install-recommends", ...pkgs])) console.log("apt-get failed (see above)");
    need = missing();
  }
  for (const d of DEPS) {
    if (need.includes(d)) console.log(`FAIL deps ${d.pkg}: missing — needed for ${d.why}; install with: ${root ? "" : "sudo "}apt-get install -y --no-install-recommends ${d.pkg}`);
    else console.log(`PASS deps ${d.pkg}`);
  }
  process.exit(need.length ? 1 : 0);
}
