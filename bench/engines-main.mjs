// Driver of bench:engines inside one engine (node, jsc -m, js102 --module): the shell shim (console only matters
// here), then the bundle; prints `BENCH {json}`. Repeats: MTL_BENCH_REPEATS is not readable in shells, so the count
// is baked into out/bench/engines-config.mjs by bench/engines.mjs.
import "../out/runtimes/shell-shim.mjs";
import { benchW1 } from "../out/bench/engines-bench.mjs";
import { repeats } from "../out/bench/engines-config.mjs";

const r = await benchW1(repeats);
console.log("BENCH " + JSON.stringify(r));
