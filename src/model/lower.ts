// Lowers a validated spec to the typed graph (src/graph/): the input block, the trunk (an architecture from
// src/arch/), per-task towers and heads, outputs, and — for training — losses with row masks and relation terms.
//
// Two boundaries, one graph: "encoded" is what training and Model.predict feed (standardized numeric columns,
// one i32 index vector per categorical input, group indices, labels and masks) and read (regression outputs in
// standardized units); "raw" is the exported model's interface (raw numeric values standardized inside the
// graph, int64 index matrices, regression outputs in the label's units, no losses). Everything between the
// boundaries — every parameter and every layer — is built by the same code.
//
// Token inputs (inputs.tokens): "encoded" feeds ids i32 [N, L], "raw" takes int64 [N, L] (the export declares L
// symbolic); both derive the real-token mask from the ids (seq_mask). The trunk gives token rows [N, L, D]; a
// sentence-level task pools them over the real tokens (seq_pool, tasks[i].pool), a tagging task keeps them: its
// output is softmax per token [N, L, tags] and its loss tag_xent over labels i32 [N, L] with a token mask [N, L].
import { Graph, type Value } from "../graph/graph.ts";
import { ARCHITECTURES } from "../arch/index.ts";
import { crossNetwork, dense, mlp, seqDense } from "../arch/layers.ts";
import { aitmUnit, esmmOutput, type FunnelPorts } from "./funnel.ts";
import type { ModelSpec } from "./spec.ts";
import type { Preprocessing } from "../data/preprocess.ts";
import { needsEncoder } from "../data/numeric-encodings.ts";
import { numericParts } from "./numeric-input.ts";

/** Sizes only the data can tell: vocabularies, class counts, groups. */
export interface DataDims {
  /** Numeric input columns (after the spec's list). */
  numeric: number;
  /** Vocabulary size (including the unknown bucket at index 0) of each categorical input, in spec order. */
  vocab: number[];
  /** Per task: output width (classes for multiclass, labels for multilabel/regression, 1 for binary). */
  outputs: number[];
  /** Per task: number of groups (group_by), or 0. */
  groups: number[];
  /** inputs.tokens: the embedding table's rows (ids, the reserved ones included) and L, the ids per row; else null. */
  tokens?: {
    /** Rows of the embedding table: token ids, the reserved ones included. */
    vocab: number;
    /** L, the ids per row (inputs.tokens.max_length). */
    length: number;
  } | null;
}

/**
 * The graph's interface (see the file header): "encoded", what training and Model.predict feed and read;
 * "raw", the exported model's (raw values in, int64 index matrices, outputs in the label's units, no losses).
 */
export type Boundary = "encoded" | "raw";

/** Graph input names of the encoded boundary (what Model.feed writes). */
export const INPUT = {
  numeric: "numeric",
  tensor: "tensor",
  /** Token ids [N, L] (i32 here, int64 in the export). */
  tokens: "tokens",
  valid: "valid",
  categorical: (column: string) => `cat:${column}`,
  label: (task: string) => `label:${task}`,
  mask: (task: string) => `mask:${task}`,
  group: (task: string) => `group:${task}`,
} as const;

/**
 * The typed graph of a validated spec: inputs of `boundary`, the trunk, per-task towers, heads and outputs, and on
 * the encoded boundary the losses (with row masks) and relation terms. `dims` and `pre` are what the data decided
 * (vocabularies, class counts, standardization statistics).
 */
export function lowerSpec(spec: ModelSpec, dims: DataDims, pre: Preprocessing, boundary: Boundary): Graph {
  const g = new Graph(spec.name);
  const raw = boundary === "raw";
  const cats = spec.inputs.categorical;

  // ---- inputs ---------------------------------------------------------------------------------------------
  const parts: Value[] = [];
  if (dims.numeric && needsEncoder(pre.numeric)) parts.push(...numericParts(g, spec, pre, raw, INPUT.numeric));
  else if (dims.numeric) {
    const x = g.input(INPUT.numeric, "f32", ["N", dims.numeric]);
    if (raw) {
      const mean = g.constant("numeric_mean", Float32Array.from(pre.numeric, (s) => s.mean), [dims.numeric]);
      const std = g.constant("numeric_std", Float32Array.from(pre.numeric, (s) => s.std), [dims.numeric]);
      parts.push(g.add1("standardize", [x, mean, std], {}, "numeric.standardized"));
    } else parts.push(x);
  }
  if (spec.inputs.tensor) {
    // An image is the tensor input viewed as [N, C, H, W] (no copy): the ONNX input stays "tensor" [N, C·H·W].
    const t = g.input(INPUT.tensor, "f32", ["N", spec.inputs.tensor]), im = spec.inputs.image;
    parts.push(im ? g.add1("reshape", [t], { shape: [im.channels, im.height, im.width] }, "image") : t);
  }
  const catMatrix = raw && cats.length ? g.input("categorical", "i64", ["N", cats.length]) : null;
  cats.forEach((c, j) => {
    const table = g.param(`embedding.${c.column}`, [dims.vocab[j], c.dim], { kind: "uniform", limit: 0.05 }, "shared");
    const idx = catMatrix ? g.add1("index_column", [catMatrix], { col: j, limit: dims.vocab[j] }, `categorical.${c.column}`) : g.input(INPUT.categorical(c.column), "i32", ["N"]);
    parts.push(g.add1("embedding", [table, idx], {}, `embed.${c.column}`));
  });
  // Tokens (alone: the spec refuses them beside other inputs): ids [N, L] → embeddings [N, L, dim]; the real-token
  // mask is derived from the ids (id > 0), so the export takes the ids alone.
  let tokenMask: Value | null = null;
  const tok = spec.inputs.tokens;
  if (tok) {
    if (!dims.tokens) throw new Error(`${spec.name}: inputs.tokens needs the token vocabulary's size (DataDims.tokens)`);
    const { vocab: V, length: L } = dims.tokens;
    const ids = raw ? g.add1("seq_ids", [g.input(INPUT.tokens, "i64", ["N", L])], { limit: V }, "tokens.ids") : g.input(INPUT.tokens, "i32", ["N", L]);
    tokenMask = g.add1("seq_mask", [ids], {}, "tokens.mask");
    const table = g.param("embedding.tokens", [V, tok.dim], { kind: "uniform", limit: Math.sqrt(3 / tok.dim) }, "shared");
    parts.push(g.add1("embed_seq", [table, ids], {}, "embed.tokens"));
  }
  if (parts.length === 0) throw new Error(`${spec.name}: the model has no inputs`);
  const row = parts.length === 1 ? parts[0] : g.add1("concat", parts, {}, "x0");
  const x0 = spec.architecture.cross ? crossNetwork(g, row, spec.architecture.cross) : row;
  const grouped = spec.tasks.map((t, i) => [t, i] as const).filter(([t]) => t.group_by);
  const groupMatrix = raw && grouped.length ? g.input("groups", "i64", ["N", grouped.length]) : null;

  // Before the trunk, so architectures can add objective terms (g.term reads g.valid; none when raw).
  const valid = raw ? null : g.input(INPUT.valid, "f32", ["N"]);
  g.valid = valid;

  // ---- trunk ------------------------------------------------------------------------------------------------
  // Over tokens the trunk is hps's (the spec refuses other architectures there) with the mask: [N, L, D].
  const seqTrunk = tokenMask ? mlp(g, x0, spec.architecture.layers, "shared", "shared", tokenMask) : null;
  const reps = seqTrunk ? spec.tasks.map(() => seqTrunk) : ARCHITECTURES[spec.architecture.type].build(g, x0, spec.architecture, spec.tasks);

  // ---- towers, heads, outputs, losses -------------------------------------------------------------------------
  const funnel = new Map<string, FunnelPorts>();
  spec.tasks.forEach((t, i) => {
    const role = `task:${t.name}` as const;
    const width = dims.outputs[i], G = dims.groups[i];
    const prev = t.after ? funnel.get(t.after)! : null;
    const tagging = t.type === "tagging";
    // A sentence-level task over tokens pools the trunk's real tokens first ([N, L, D] → [N, D]); a tagging task's
    // tower and head apply to every token (the head: conv1d with kernel 1, logits [N, L, tags]).
    const rep = tokenMask && !tagging ? g.add1("seq_pool", [reps[i], tokenMask], { mode: t.pool ?? "max" }, `pool.${t.name}`) : reps[i];
    const tower = mlp(g, rep, t.tower, `tower.${t.name}`, role, tokenMask);
    const h = t.funnel === "aitm" ? aitmUnit(g, tower, prev!.z, t.name, role) : tower;
    let logits = tagging ? seqDense(g, h, tokenMask!, width, "none", `head.${t.name}`, role) : dense(g, h, width, "none", `head.${t.name}`, role);
    if (G > 0) {
      // pred_i = shared(h_i) + dev_{g_i}(h_i): every group's deviation in one dense call [N, G·width], each row
      // gathering its own group's block (deviations start at zero, so every group starts at the shared head).
      const dev = dense(g, h, G * width, "none", `head.${t.name}.groups`, role, { kind: "zeros" });
      const gi = groupMatrix
        ? g.add1("index_column", [groupMatrix], { col: grouped.findIndex(([, k]) => k === i), limit: G }, `groups.${t.name}`)
        : g.input(INPUT.group(t.name), "i32", ["N"]);
      const picked = g.add1("group_gather", [dev, gi], { groups: G }, `head.${t.name}.pick`);
      logits = g.add1("add", [logits, picked], {}, `head.${t.name}.grouped`);
    }
    let output: Value;
    const extras: { name: string; value: Value }[] = [];
    if (t.funnel === "esmm") {
      const e = esmmOutput(g, logits, prev!, t.name, t.after!);
      output = e.output;
      extras.push({ name: `given_${t.after}`, value: e.given });
    } else if (t.type === "multiclass" || tagging) output = g.add1("softmax", [logits], {}, `out.${t.name}`);
    else if (t.type !== "regression") output = g.add1("sigmoid", [logits], {}, `out.${t.name}`);
    else if (!raw) output = logits;
    else {
      const target = pre.tasks[i].target;
      output = target
        ? g.add1("affine", [logits, g.constant(`${t.name}_std`, Float32Array.from(target, (s) => s.std), [width]), g.constant(`${t.name}_mean`, Float32Array.from(target, (s) => s.mean), [width])], {}, `out.${t.name}`)
        : g.add1("identity", [logits], {}, `out.${t.name}`);
    }
    let loss: Value | null = null;
    if (!raw) {
      const L = dims.tokens?.length ?? 0;
      // tagging: labels i32 [N, L] and a per-token mask [N, L] (real tokens of labelled rows); tag_xent averages over them.
      const labels = tagging ? g.input(INPUT.label(t.name), "i32", ["N", L]) : t.type === "multiclass" ? g.input(INPUT.label(t.name), "i32", ["N"]) : g.input(INPUT.label(t.name), "f32", ["N", width]);
      const mask = g.input(INPUT.mask(t.name), "f32", tagging ? ["N", L] : ["N"]);
      loss = tagging
        ? g.add1("tag_xent", [logits, labels, mask], { task: i }, `loss.${t.name}`)
        : t.funnel === "esmm"
        ? g.add1("esmm_bce", [prev!.logits, logits, labels, mask], { task: i }, `loss.${t.name}`)
        : g.add1(t.loss, [logits, labels, mask], { task: i, pos_weight: t.pos_weight, delta: t.huber_delta, beta: t.smooth_l1_beta }, `loss.${t.name}`);
    }
    if (t.funnel === "aitm" && valid && t.calibrator > 0) g.term("funnel_hinge", [output, prev!.output, valid], {}, `${t.name}≤${t.after}`, t.calibrator, `calibrator.${t.name}`);
    funnel.set(t.name, { logits, output, z: h });
    g.tasks.push({ name: t.name, output, loss, representation: reps[i], ...(extras.length ? { extras } : {}) });
  });
  if (valid)
    spec.training.relations.forEach((r) => {
      const a = g.tasks.find((t) => t.name === r.tasks[0])!.output, b = g.tasks.find((t) => t.name === r.tasks[1])!.output;
      g.term("relation", [a, b, valid], {}, `${r.tasks[0]}~${r.tasks[1]}`, r.lambda, `relation.${r.tasks[0]}~${r.tasks[1]}`);
    });
  return g;
}
