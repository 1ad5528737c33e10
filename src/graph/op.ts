// The contract of an op family (one file in src/ops/ each): shape inference, forward lowering to kernel calls,
// backward lowering (with what it saves from the forward), the ONNX lowering, and the ONNX forms it recognizes
// when the mtl engine imports a model. The scheduler (compile.ts) and the exporter only ever talk to ops
// through this interface.
import type { Attrs, Graph, Node, Value } from "./graph.ts";
import type { DType, Dim } from "./shape.ts";
import type { Kernels, KernelFn } from "../runtime/load.ts";
import type { GraphBuilder } from "../onnx/builder.ts";
import type { NodeProto, TensorProto } from "../onnx/model.ts";

export type Step = () => void;

export interface OutSpec {
  dtype: DType;
  shape: Dim[];
  /** A scalar kept in JS (a loss or relation value), not in wasm memory. */
  host?: boolean;
}

/** Dropout's counter-based stream: one seed, and a counter that every dropout draw advances. */
export interface RngState {
  seedLo: number;
  seedHi: number;
  counter: number;
}

/** The JS side of a program: what loss and relation nodes write, and the seeds the backward reads. */
export interface HostState {
  /** Per task: the masked-mean loss of the last forward. */
  losses: Float64Array;
  /** Per relation: ½·Σ(a − b)² over valid rows of the last forward, divided by the valid count. */
  relations: Float64Array;
  /** Per task: the loss scale the backward seeds that task's loss with (∂J/∂L_t). */
  scales: Float64Array;
  /** Valid rows in the current batch (set by the feeder; a data-parallel shard sets its whole batch's count). */
  validCount: { value: number };
  /** Rows of this program's batch that hold data, the first ones (set by the feeder; the rest is padding). */
  rows: { value: number };
  rng: RngState;
}

/** What a forward lowering can ask of the scheduler. Addresses are bytes, sizes elements. */
export interface FwdCtx {
  readonly k: Kernels;
  call(kernel: string): KernelFn;
  readonly batch: number;
  /** A training program (dropout draws masks) rather than inference. */
  readonly training: boolean;
  ptr(v: Value): number;
  dims(v: Value): number[];
  numel(v: Value): number;
  /** Scratch memory private to this node, alive as long as the program (e.g. what the backward reads). */
  scratch(elems: number, bytesPerElem?: number): number;
  /**
   * Work memory of at least `elems` f32 shared by every node of the program (im2col buffers): its contents are
   * undefined between steps, so a step may only use it for the duration of one call. The address is fixed once
   * lowering ends: read `.ptr` inside the step, never at lowering time.
   */
  sharedScratch(elems: number): { readonly ptr: number };
  readonly host: HostState;
  /** Whole-memory views (valid until memory grows; fetch them inside the step). */
  f32(): Float32Array;
  i32(): Int32Array;
  i64(): BigInt64Array;
  /** Whether `v` never changes between runs (an imported initializer): then it may be preprocessed once. */
  fixed(v: Value): boolean;
  /** Wᵀ [n, k] of a fixed weight W [k, n], made once per session. */
  transposed(v: Value): number;
  /** Per-program, per-node state shared by a node's forward and backward lowering (e.g. saved scratch). */
  memo(n: Node): Record<string, number>;
  /** The nodes of this program that read v, in graph order. */
  readers(v: Value): Node[];
  /** For error messages: `node "name" (op)`. */
  where(n: Node): string;
}

/** Backward lowering: gradients are planned per value (see grad-plan.ts). */
export interface BwdCtx extends FwdCtx {
  /** Gradient address of `v`, 0 when no gradient flows into it in this backward. */
  grad(v: Value): number;
  /** The beta this node writes v's gradient with: 0 for the first writer (overwrite), 1 after (accumulate). */
  beta(v: Value): number;
  /** This node can only accumulate into v's gradient (scatter-add): the planner zero-fills it first if needed. */
  accumulate(v: Value): void;
  /** One beta for a kernel that writes several gradients at once: the planner zero-fills those written first. */
  betaAll(vs: Value[]): number;
}

/** Exporting one graph node to ONNX nodes. */
export interface OnnxCtx {
  readonly g: GraphBuilder;
  /** The ONNX value name that holds graph value v. */
  name(v: Value): string;
  /** Make graph value v (an output of the node being exported) the ONNX value `onnxName`. */
  bind(v: Value, onnxName: string): void;
  /** The ONNX name v must have if it is a graph output (the task name), else undefined (a generated name). */
  outName(v: Value): string | undefined;
  f32(name: string, values: ArrayLike<number>, dims?: number[]): string;
  i64(name: string, values: number[]): string;
  /** An int64 scalar initializer. */
  i64Scalar(name: string, value: number): string;
}

/** Importing ONNX into the graph: each op recognizes the ONNX node patterns that are its form. */
export interface ImportCtx {
  readonly graph: Graph;
  readonly nodes: readonly NodeProto[];
  /** The graph value for an ONNX name (inputs, initializers, earlier nodes' outputs), or undefined. */
  value(onnxName: string): Value | undefined;
  /** An initializer's data (e.g. axes, indices), or undefined for a computed value. */
  initializer(onnxName: string): TensorProto | undefined;
  /** Index of the only unconsumed node reading `onnxName`, or -1 (none, several, or a graph output). */
  soleReader(onnxName: string): number;
  bind(onnxName: string, v: Value): void;
  /** Mark ONNX nodes as handled by the current import. */
  consume(...indices: number[]): void;
  where(index: number): string;
}

export interface Importer {
  /** The ONNX op type of the first node of the pattern. */
  onnx: string;
  /** Recognize the pattern starting at node `index`; emit graph nodes, bind outputs, consume nodes, return true. */
  match(c: ImportCtx, index: number): boolean;
}

/** A stage an op has no form for, with the reason (e.g. a loss has no inference ONNX form). */
export interface None {
  none: string;
}

/**
 * An op of the registry (`OPS`): shape inference, the forward and backward kernel calls, what the backward needs
 * saved, its ONNX lowering and the ONNX forms it imports. Ops only known to training have `None` for the rest.
 */
export interface OpDef {
  /** The op's name, as in `Node.op`. */
  readonly op: string;
  /** Check inputs and attributes; the outputs' dtypes and shapes. Throws with the reason. */
  infer(inputs: readonly Value[], attrs: Attrs): OutSpec[];
  /** Plan node `n`'s forward: a closure calling its kernels on planned addresses (null when it needs no work). */
  forward(c: FwdCtx, n: Node): Step | null;
  /** Plan its backward (gradients into its inputs, accumulating); `None` for ops without one. */
  backward: ((c: BwdCtx, n: Node) => Step | null) | None;
  /** The values (inputs or outputs) the backward reads: the memory planner keeps them alive until then. */
  saves(n: Node): Value[];
  /** Write node `n` as ONNX nodes; `None` for training-only ops (losses, relations). */
  onnx: ((e: OnnxCtx, n: Node) => void) | None;
  /** ONNX forms this op recognizes on import (ops that only exist in training have none). */
  imports: Importer[] | None;
  /** Output j shares input i's memory in inference programs (identity-like ops): pairs [output, input]. */
  alias?(n: Node, training: boolean): [number, number][];
  /** A one-line description of the node for `mtl summary` (e.g. "relu"), when the op name says too little. */
  describe?(n: Node): string;
}

export const isNone = (x: unknown): x is None => typeof x === "object" && x !== null && "none" in x;

/** Attribute readers with clear errors. */
export function attrNum(attrs: Attrs, key: string, dflt?: number): number {
  const v = attrs[key] ?? dflt;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`attribute ${key} must be a number, got ${String(v)}`);
  return v;
}

export function attrStr(attrs: Attrs, key: string, dflt?: string): string {
  const v = attrs[key] ?? dflt;
  if (typeof v !== "string") throw new Error(`attribute ${key} must be a string, got ${String(v)}`);
  return v;
}

/** Shape check helper: throws "expected …, got …". */
export function expect(cond: boolean, msg: string): void {
  if (!cond) throw new Error(msg);
}

/** Same dims (batch dims compare equal). */
export function sameShape(a: readonly Dim[], b: readonly Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
