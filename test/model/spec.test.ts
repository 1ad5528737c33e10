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
  rejects((s) => (s.training = { weighting: { type: "gradnrm" } }), "training.weighting.type", /not one of static, uncertainty, dwa, gls, rlw, famo, stch, gradnorm, mgda/);
  rejects((s) => (s.tasks[1].group_l2 = 0.1), "tasks[1].group_l2", /only applies to tasks with group_by/);
  rejects((s) => (s.tasks[0].positive = []), "tasks[0].positive", /must not be empty/);
});

test("architecture.cross: DCN-v2 cross layers on flat inputs, absent when 0, refused over images and tokens", () => {
  assert.is(validateSpec({ ...base(), architecture: { ...base().architecture, cross: 3 } }).architecture.cross, 3);
  assert.not.ok("cross" in validateSpec({ ...base(), architecture: { ...base().architecture, cross: 0 } }).architecture, "0 normalizes away (existing specs unchanged)");
  assert.not.ok("cross" in validateSpec(base()).architecture);
  rejects((s) => (s.architecture.cross = 17), "architecture.cross", /above the limit of 16/);
  rejects((s) => (s.architecture.cross = 1.5), "architecture.cross", /integer/);
  rejects((s) => ((s.inputs = { image: { channels: 1, height: 8, width: 8 } }), (s.architecture = { type: "hps", layers: [{ type: "flatten" }], cross: 1 })), "architecture.cross", /cross layers mix one flat input row; an image input has none/);
  rejects((s) => ((s.inputs = { tokens: { column: "text", max_length: 8 } }), (s.architecture = { type: "hps", layers: [], cross: 1 })), "architecture.cross", /a token input has none/);
});

test("training.weighting: rep_grad by LibMTL's rules, options only where they apply, per-method defaults", () => {
  const w = (weighting: unknown) => (s: any) => (s.training = { weighting });
  // Methods defined on the parameters' gradients refuse representation gradients, and GradDrop needs them.
  for (const type of ["pcgrad", "gradvac", "cagrad", "nash_mtl", "upgrad", "db_mtl"]) rejects(w({ type, rep_grad: true }), "training.weighting.rep_grad", new RegExp(`^training.weighting.rep_grad: ${type} is defined on the shared parameters' gradients`));
  rejects(w({ type: "graddrop", rep_grad: false }), "training.weighting.rep_grad", /graddrop masks the shared representation's gradient by sign/);
  // Loss-level strategies read no per-task gradients.
  for (const type of ["static", "dwa", "famo", "stch"]) rejects(w({ type, rep_grad: false }), "training.weighting.rep_grad", /scales losses and reads no per-task gradients/);
  rejects(w({ type: "mgda", c: 0.4 }), "training.weighting.c", /only applies to type "cagrad"/);
  rejects(w({ type: "gradvac", beta_sigma: 0.5 }), "training.weighting.beta_sigma", /only applies to type "db_mtl"/);
  rejects(w({ type: "mgda", normalization: "l1" }), "training.weighting.normalization", /not one of none, l2, loss, loss\+/);
  rejects(w({ type: "cagrad", rescale: 3 }), "training.weighting.rescale", /2/);
  rejects(w({ type: "nash_mtl", update_every: 0 }), "training.weighting.update_every", /1/);
  rejects(w({ type: "graddrop", leak: 1.5 }), "training.weighting.leak", /1/);
  rejects(w({ type: "frob" }), "training.weighting.type", /not one of/);
  const norm = (weighting: unknown) => validateSpec({ ...base(), training: { weighting } }).training.weighting;
  // Both modes for the methods that allow them; defaults as LibMTL's.
  assert.equal(norm({ type: "mgda" }), { type: "mgda", temperature: 2, normalization: "none", rep_grad: false });
  assert.equal(norm({ type: "mgda", rep_grad: true }).rep_grad, true);
  assert.equal(norm({ type: "graddrop" }), { type: "graddrop", temperature: 2, leak: 0, rep_grad: true });
  assert.equal(norm({ type: "gradvac" }).beta, 0.5);
  assert.equal(norm({ type: "db_mtl" }), { type: "db_mtl", temperature: 2, beta: 0.9, beta_sigma: 0, rep_grad: false });
  assert.equal(norm({ type: "cagrad", c: 0.2 }), { type: "cagrad", temperature: 2, c: 0.2, rescale: 1, rep_grad: false });
  assert.equal(norm({ type: "nash_mtl" }), { type: "nash_mtl", temperature: 2, update_every: 1, iterations: 20, max_norm: 1, rep_grad: false });
  assert.equal(norm({ type: "famo" }), { type: "famo", temperature: 2, lr: 0.025, decay: 0.001 });
  assert.equal(norm({ type: "stch" }), { type: "stch", temperature: 2, mu: 1, warmup_epochs: 4 });
  assert.equal(norm({ type: "gradnorm", alpha: 0.5 }), { type: "gradnorm", temperature: 2, alpha: 0.5, rep_grad: false });
  assert.equal(norm({ type: "static" }), { type: "static", temperature: 2 });
  const again = validateSpec(JSON.parse(JSON.stringify(validateSpec({ ...base(), training: { weighting: { type: "upgrad" } } }))));
  assert.equal(again.training.weighting, { type: "upgrad", temperature: 2, norm_eps: 1e-4, reg_eps: 1e-4, rep_grad: false }, "normalization is idempotent");
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

test("box tasks: smooth_l1 (β) and giou losses, iou / iou50 metrics on exactly 4 label columns", () => {
  const box = { name: "box", type: "regression", labels: ["x0", "y0", "x1", "y1"] };
  const ok = (t: object) => validateSpec({ ...base(), tasks: [base().tasks[0], { ...box, ...t }] }).tasks[1];
  const g = ok({ loss: "giou" });
  assert.is(g.loss, "giou");
  assert.equal(g.metrics, ["iou", "iou50", "mae"]);
  const s = ok({ loss: "smooth_l1", smooth_l1_beta: 0.1, metrics: ["iou", "rmse"] });
  assert.is(s.smooth_l1_beta, 0.1);
  assert.equal(s.metrics, ["iou", "rmse"]);
  assert.is(ok({ loss: "smooth_l1" }).smooth_l1_beta, 1);
  rejects((s) => (s.tasks[1].loss = "giou"), "tasks[1].label", /loss "giou" needs exactly 4 label columns, the box \[x0, y0, x1, y1\] in that order, found 1/);
  rejects((s) => (s.tasks[1] = { ...box, labels: ["x0", "y0", "x1"], loss: "giou" }), "tasks[1].labels", /found 3/);
  rejects((s) => (s.tasks[0].loss = "giou"), "tasks[0].loss", /"giou" needs type "regression", but the task is "binary"/);
  rejects((s) => (s.tasks[1].metrics = ["rmse", "iou50"]), "tasks[1].metrics[1]", /"iou50" reads the outputs as a box \[x0, y0, x1, y1\] and needs exactly 4 label columns, found 1/);
  rejects((s) => (s.tasks[0].metrics = ["iou"]), "tasks[0].metrics[0]", /does not apply to type "binary"/);
  rejects((s) => (s.tasks[1].smooth_l1_beta = 0.5), "tasks[1].smooth_l1_beta", /only applies to loss "smooth_l1"/);
  rejects((s) => (s.tasks[1] = { ...box, loss: "smooth_l1", smooth_l1_beta: 0 }), "tasks[1].smooth_l1_beta", /must be > 0/);
  rejects((s) => (s.training = { early_stopping: { metric: "t2.iou" } }), "training.early_stopping.metric", /does not report "iou"/);
});
