// ESMM and AITM exports: every output (the task outputs and ESMM's `conversion.given_click`) of the exported ONNX model,
// in onnxruntime-web and in the mtl engine (which imports mul and rowdot from their ONNX patterns), equals the in-wasm
// forward within 1e-5; python3-onnx's checker accepts both models; the ESMM output equals p(click)·p(cvr) row by row.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup } from "../helpers.ts";
import { train, toTable } from "../../src/api/train.ts";
import { encode } from "../../src/data/preprocess.ts";
import { createSession } from "../../src/infer/session.ts";
import { decodeModel } from "../../src/onnx/model.ts";
import { checkWithPython } from "./checker.ts";
import { skipOrFail } from "../skip.ts";
import { funnelCsv, generateFunnel, FUNNEL_FEATURES } from "../../src/data/funnel.ts";

const { k } = await setup();
const spec = (funnel: "esmm" | "aitm", name: string) => ({
  name,
  inputs: { numeric: [...FUNNEL_FEATURES] },
  architecture: { type: "hps", layers: [{ units: 12, activation: "tanh" }] },
  tasks: [
    { name: "click", type: "binary", label: "click", tower: [{ units: 6, activation: "tanh" }] },
    { name: "cart", type: "binary", label: "conversion", tower: [{ units: 5 }], funnel: "aitm", after: "click" },
    { name: "conversion", type: "binary", label: "conversion", tower: [{ units: 7, activation: "tanh" }], funnel, after: funnel === "esmm" ? "click" : "cart" },
  ],
  training: { epochs: 1, batch_size: 64, validation: 0 },
});

const exported: Uint8Array[] = [];
for (const [funnel, name] of [["esmm", "funnel-esmm-export"], ["aitm", "funnel-aitm-export"]] as const) {
  test(`${funnel}: ort and the mtl engine equal the in-wasm forward on every output within 1e-5`, async () => {
    const csv = funnelCsv(generateFunnel(600, 3));
    const t = await train(spec(funnel, name), csv, { kernels: k, threads: 1, onWarning: () => {} });
    try {
      const bytes = t.export();
      exported.push(bytes);
      const outs = decodeModel(bytes).graph.output.map((o) => o.name);
      assert.equal(outs, funnel === "esmm" ? ["click", "cart", "conversion", "conversion.given_click"] : ["click", "cart", "conversion"]);
      const test = generateFunnel(37, 4);
      const rows = Array.from({ length: test.rows }, (_, r) => Object.fromEntries(FUNNEL_FEATURES.map((c, j) => [c, test.x[r * 8 + j]])));
      const table = await toTable(t.spec, rows);
      const ours = t.model.predictNamed(encode(t.spec, t.model.pre, table, undefined, { labels: false }));
      assert.equal(ours.map((o) => o.name), outs);
      for (const engine of ["ort", "mtl"] as const) {
        const s = await createSession(bytes, { engine, kernels: k, name });
        const res = await s.run(rows);
        await s.dispose();
        for (const o of ours) {
          const got = res[o.name];
          assert.is(got.length, test.rows, `${engine} ${o.name}`);
          const worst = got.reduce((m, v, i) => Math.max(m, Math.abs(v - o.data[i])), 0);
          assert.ok(worst <= 1e-5, `${engine} ${o.name}: max |diff| ${worst}`);
        }
      }
      if (funnel === "esmm") {
        const [click, , conv, given] = ours.map((o) => o.data);
        for (let i = 0; i < test.rows; i++) assert.ok(Math.abs(conv[i] - Math.fround(click[i] * given[i])) <= 1e-7, `row ${i}: ${conv[i]} ≠ ${click[i]}·${given[i]}`);
      }
    } finally {
      await t.dispose();
    }
  });
}

test("python3-onnx's checker accepts both exports", () => {
  const r = checkWithPython(exported);
  if (!r.available) return skipOrFail("onnx checker", r.output);
  assert.ok(r.ok, r.output);
});

test.run();
