// Spec validation: every mistake names its path; defaults fill in; normalization is idempotent.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync, readdirSync } from "node:fs";
import { validateSpec, SpecError } from "../../src/model/spec.ts";

const base = () => ({
  inputs: { numeric: ["a", "b"], categorical: ["c"] },
  architecture: { type: "mmoe", experts: 2, layers: [4] },
  tasks: [
    { name: "t1", type: "binary", label: "y1" },
    { name: "t2", type: "regression", label: "y2" },
  ],
});

function rejects(mutate: (s: any) => void, path: string, text: RegExp) {
  const s = base() as any;
  mutate(s);
  try {
    validateSpec(s);
  } catch (e) {
    assert.instance(e, SpecError);
    assert.is((e as SpecError).path, path, (e as Error).message);
    assert.match((e as Error).message, text);
    assert.ok((e as Error).message.startsWith(`${path}: `), (e as Error).message);
    return;
  }
  assert.unreachable(`expected an error at ${path}`);
}

test("a valid spec gets defaults", () => {
  const s = validateSpec(base());
  assert.is(s.tasks[0].loss, "bce");
  assert.is(s.tasks[1].loss, "mse");
  assert.equal(s.tasks[0].metrics, ["auc", "accuracy", "logloss"]);
  assert.is(s.inputs.categorical[0].dim, 4);
  assert.is(s.training.optimizer.type, "adam");
  assert.is(s.architecture.experts, 2);
});

test("errors name the offending path", () => {
  rejects((s) => (s.tasks[1].loss = "bce"), "tasks[1].loss", /"bce" needs type "binary" or "multilabel", but the task is "regression"/);
  rejects((s) => (s.tasks[0].type = "binaryy"), "tasks[0].type", /not one of binary, multiclass, multilabel, regression/);
  rejects((s) => (s.tasks[0].tower = [0]), "tasks[0].tower[0]", /positive integer/);
  rejects((s) => (s.tasks[0].tower = [{ units: 3, activation: "swish" }]), "tasks[0].tower[0].activation", /not one of/);
  rejects((s) => (s.tasks[1].name = "t1"), "tasks[1].name", /duplicate task name "t1"/);
  rejects((s) => (s.tasks[0].metrics = ["rmse"]), "tasks[0].metrics[0]", /does not apply to type "binary"/);
  rejects((s) => (s.tasks[0].label = "a"), "tasks[0].label", /also an input/);
  rejects((s) => (s.tasks[0].colour = 1), "tasks[0].colour", /unknown key/);
  rejects((s) => delete s.architecture.experts, "architecture.experts", /is required/);
  rejects((s) => (s.architecture.shared_experts = 1), "architecture.shared_experts", /only applies to type "cgc"/);
  rejects((s) => (s.architecture.layers = []), "architecture.layers", /at least one expert layer/);
  rejects((s) => (s.inputs.numeric = ["a", "a"]), "inputs.numeric[1]", /already used at inputs.numeric\[0\]/);
  rejects((s) => (s.inputs = {}), "inputs", /declares no input/);
  rejects((s) => (s.tasks = []), "tasks", /non-empty array/);
  rejects((s) => (s.training = { optimizer: { type: "adam", momentum: 0.9 } }), "training.optimizer.momentum", /only applies to type "sgd"/);
  rejects((s) => (s.training = { optimizer: { lr: -1 } }), "training.optimizer.lr", /must be > 0/);
  rejects((s) => (s.training = { batch_size: 1.5 }), "training.batch_size", /integer/);
  rejects((s) => (s.training = { relations: [{ tasks: ["t1", "zz"], lambda: 1 }] }), "training.relations[0].tasks[1]", /no task named "zz"/);
  rejects((s) => (s.training = { relations: [{ tasks: ["t1"], lambda: 1 }] }), "training.relations[0].tasks", /two task names/);
  rejects((s) => (s.training = { early_stopping: { metric: "t2.auc" } }), "training.early_stopping.metric", /does not report "auc"/);
  rejects((s) => (s.training = { weighting: { type: "gradnorm" } }), "training.weighting.type", /not one of static, uncertainty, dwa, gls, rlw/);
  rejects((s) => (s.tasks[1].group_l2 = 0.1), "tasks[1].group_l2", /only applies to tasks with group_by/);
  rejects((s) => (s.tasks[0].positive = []), "tasks[0].positive", /must not be empty/);
});

test("a multi-output relation must match widths", () => {
  const s = base() as any;
  s.tasks.push({ name: "t3", type: "multilabel", labels: ["m1", "m2"] });
  s.training = { relations: [{ tasks: ["t1", "t3"], lambda: 1 }] };
  assert.throws(() => validateSpec(s), /outputs differ in width \(t1: 1, t3: 2\)/);
});

test("validating a normalized spec is the identity (model.json round trip)", () => {
  for (const f of readdirSync("models").filter((f) => f.endsWith(".json"))) {
    const once = validateSpec(JSON.parse(readFileSync(`models/${f}`, "utf8")));
    const twice = validateSpec(JSON.parse(JSON.stringify(once)));
    assert.equal(twice, once, f);
  }
});

test.run();
