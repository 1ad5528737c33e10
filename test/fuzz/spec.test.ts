// Fuzz validateSpec: generated valid specs (numeric encodings with their options, tree bins on a first task that takes
// them, cross layers) are accepted and validateSpec is idempotent on its own output (also after a
// JSON round trip, which is how an exported model carries it); mutated specs (wrong types, extreme numbers such as
// Infinity / NaN / -0 / 2^53, deleted and unknown keys, swapped fields, deep nesting, huge strings) give a spec or a
// SpecError whose message starts with the JSON path at fault, within the time budget.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { fc, params, attempt, judge, verdict, jsonMutations, mutateJson } from "./fuzz.ts";
import { SpecError, validateSpec, ACTIVATIONS, WEIGHTINGS, type ModelSpec } from "../../src/model/spec.ts";

const layer = fc.oneof(
  fc.integer({ min: 1, max: 64 }),
  fc.record({ units: fc.integer({ min: 1, max: 64 }), activation: fc.constantFrom(...ACTIVATIONS), dropout: fc.double({ min: 0, max: 0.9, noNaN: true }), layernorm: fc.boolean() }, { requiredKeys: ["units"] }),
);
const taskOf = (i: number) =>
  fc.constantFrom("binary", "multiclass", "multilabel", "regression").chain((type) =>
    fc.record(
      {
        name: fc.constant(`t${i}`),
        type: fc.constant(type),
        label: type === "multilabel" || type === "regression" ? fc.oneof(fc.constant(`y${i}`), fc.constant([`y${i}a`, `y${i}b`])) : fc.constant(`y${i}`),
        tower: fc.array(layer, { maxLength: 2 }),
        weight: fc.double({ min: 0, max: 10, noNaN: true }),
        ...(type === "binary" ? { positive: fc.constantFrom("yes", ["1", "true"]), pos_weight: fc.double({ min: 0.1, max: 5, noNaN: true }) } : {}),
        ...(type === "multiclass" ? { classes: fc.constant(["a", "b", "c"]) } : {}),
        ...(type === "regression" ? { loss: fc.constantFrom("mse", "mae", "huber") } : {}),
      },
      { requiredKeys: ["name", "type", "label"] },
    ),
  );
const archOf = fc.constantFrom("hps", "mmoe", "cgc").chain((type) =>
  fc.record({
    type: fc.constant(type),
    layers: fc.array(layer, { minLength: type === "hps" ? 0 : 1, maxLength: 3 }),
    activation: fc.constantFrom(...ACTIVATIONS),
    ...(type === "mmoe" ? { experts: fc.integer({ min: 1, max: 8 }) } : {}),
    ...(type === "cgc" ? { shared_experts: fc.integer({ min: 1, max: 4 }), task_experts: fc.integer({ min: 0, max: 3 }) } : {}),
    cross: fc.integer({ min: 0, max: 3 }),
  }),
);
/** A numeric encoding: a name, or an object with its options (tree bins only when `treeTask` can take them). */
const encodingOf = (treeTask: string | null) =>
  fc.oneof(
    fc.constantFrom("standardize", "quantile", "ple", "periodic"),
    fc.record({ type: fc.constant("quantile"), quantiles: fc.integer({ min: 2, max: 2000 }), output: fc.constantFrom("uniform", "normal") }, { requiredKeys: ["type"] }),
    fc.record({ type: fc.constant("ple"), bins: fc.integer({ min: 1, max: 64 }), ...(treeTask ? { tree: fc.oneof(fc.constant(true), fc.record({ task: fc.constant(treeTask), min_samples_leaf: fc.integer({ min: 1, max: 500 }), min_impurity_decrease: fc.double({ min: 0, max: 0.1, noNaN: true }) }, { requiredKeys: [] })) } : {}) }, { requiredKeys: ["type"] }),
    fc.record({ type: fc.constant("periodic"), frequencies: fc.integer({ min: 1, max: 32 }), sigma: fc.double({ min: 0.001, max: 10, noNaN: true }) }, { requiredKeys: ["type"] }),
  );
/** The object form of a numeric entry: { column, encoding, its options, missing_indicator }. */
const columnEntry = (column: string, treeTask: string | null) =>
  encodingOf(treeTask).chain((e) =>
    fc.record({ missing_indicator: fc.boolean() }, { requiredKeys: [] }).map((m) => (typeof e === "string" ? { column, encoding: e, ...m } : (() => { const { type, ...opts } = e as Record<string, unknown>; return { column, encoding: type, ...opts, ...m }; })())),
  );
/** Tree bins fit the first task when it is binary, multiclass or a one-column regression. */
const treeTaskOf = (t: Record<string, unknown>) => (t.type === "binary" || t.type === "multiclass" || (t.type === "regression" && typeof t.label === "string") ? (t.name as string) : null);
const inputsOf = (treeTask: string | null) =>
  fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 4 }).chain((a) => {
    const cols = [...new Set(a)].map((k) => `n${k}`);
    return fc.record(
      {
        numeric: fc.tuple(...cols.map((c) => fc.oneof(fc.constant(c), columnEntry(c, treeTask)))),
        numeric_encoding: encodingOf(treeTask),
        missing_indicator: fc.boolean(),
        categorical: fc.array(fc.oneof(fc.constant("c0"), fc.record({ column: fc.constant("c1"), dim: fc.integer({ min: 1, max: 8 }) })), { maxLength: 1 }),
        missing: fc.constantFrom(["", "?"], "NA"),
      },
      { requiredKeys: ["numeric", "categorical", "missing"] },
    );
  });
export const specArb: fc.Arbitrary<Record<string, unknown>> = fc.integer({ min: 1, max: 3 }).chain((nt) => fc.tuple(...Array.from({ length: nt }, (_, i) => taskOf(i)))).chain((tasks) =>
  fc.record(
    {
      name: fc.string({ minLength: 1, maxLength: 8 }),
      data: fc.record({ format: fc.constantFrom("csv", "census", "jsonl"), path: fc.constant("data/x.csv"), delimiter: fc.constantFrom(",", ";") }),
      inputs: inputsOf(treeTaskOf(tasks[0] as Record<string, unknown>)),
      architecture: archOf,
      tasks: fc.constant(tasks),
      training: fc.record(
        {
          epochs: fc.integer({ min: 0, max: 50 }),
          batch_size: fc.integer({ min: 1, max: 1024 }),
          seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
          validation: fc.double({ min: 0, max: 0.9, noNaN: true }),
          optimizer: fc.oneof(fc.record({ type: fc.constantFrom("adam", "adamw"), lr: fc.double({ min: 1e-6, max: 1, noNaN: true }) }), fc.record({ type: fc.constant("sgd"), momentum: fc.double({ min: 0.1, max: 0.99, noNaN: true }), nesterov: fc.boolean() })),
          schedule: fc.record({ type: fc.constantFrom("constant", "step", "cosine"), warmup_steps: fc.integer({ min: 0, max: 100 }) }),
          weighting: fc.record({ type: fc.constantFrom(...WEIGHTINGS) }),
          early_stopping: fc.constantFrom(null, { metric: "loss", patience: 2 }),
          clip_grad_norm: fc.double({ min: 0, max: 10, noNaN: true }),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: ["inputs", "tasks"] },
  ),
);

/** A SpecError whose message is `<path>: <detail>` with a non-empty path. */
const names = (e: Error) => e instanceof SpecError && typeof e.path === "string" && e.path.length > 0 && e.message.startsWith(`${e.path}: `);

test("spec: valid specs are accepted, and validateSpec is idempotent (also through JSON)", async () => {
  await fc.assert(
    fc.asyncProperty(specArb, async (s) => {
      const o = await attempt(() => validateSpec(s));
      if (!o.ok) return verdict("spec valid", "wrong:valid spec rejected", s, String((o.error as Error)?.message));
      judge("spec valid", o, names, s);
      const v = o.value as ModelSpec;
      assert.equal(validateSpec(v), v);
      assert.equal(validateSpec(JSON.parse(JSON.stringify(v))), v);
    }),
    params(2),
  );
});

test("spec: mutated specs give a spec or a SpecError naming the JSON path", async () => {
  await fc.assert(
    fc.asyncProperty(specArb, jsonMutations, async (s, muts) => {
      const m = mutateJson(s, muts);
      const o = await attempt(() => validateSpec(m));
      if (judge("spec mutated", o, names, m) !== "value" || !o.ok) return;
      // An accepted spec is normalized: validating it again gives the same spec.
      const again = await attempt(() => validateSpec(JSON.parse(JSON.stringify(o.value))));
      if (!again.ok) verdict("spec mutated", "wrong:accepted spec not idempotent", m, String((again.error as Error)?.message));
      else if (JSON.stringify(again.value) !== JSON.stringify(o.value)) verdict("spec mutated", "wrong:accepted spec not idempotent", m, "validateSpec(validateSpec(x)) differs");
    }),
    params(3),
  );
});

test.run();
