// ONNX helpers shared by the sequence ops (src/ops/seq-*.ts). Their ONNX forms are short fixed chains of nodes,
// emitted consecutively by the op's lowering; an importer recognizes a chain by its node types in order starting
// at its first node, then reads the chain's inputs from the nodes' wiring.
import type { ImportCtx } from "../graph/op.ts";

/** The nodes i, i+1, … have exactly these op types (default domain), else null. */
export function chainAt(c: ImportCtx, i: number, types: readonly string[]) {
  if (i + types.length > c.nodes.length) return null;
  const nodes = types.map((_, j) => c.nodes[i + j]);
  return nodes.every((n, j) => n.opType === types[j] && (n.domain === "" || n.domain === "ai.onnx")) ? nodes : null;
}

/** An int64 initializer's values (axes, perms), or null. */
export function ints(c: ImportCtx, name: string | undefined): number[] | null {
  const t = name === undefined ? undefined : c.initializer(name);
  return t ? Array.from(t.data as ArrayLike<number | bigint>, Number) : null;
}

/** A float initializer holding one value, or null. */
export function scalar(c: ImportCtx, name: string | undefined): number | null {
  const t = name === undefined ? undefined : c.initializer(name);
  return t && t.data.length === 1 && t.data instanceof Float32Array ? t.data[0] : null;
}

/** Attribute `key` of node i (INT, INTS, FLOAT, STRING…), or undefined. */
export function attr(c: ImportCtx, i: number, key: string): unknown {
  return c.nodes[i].attribute.find((a) => a.name === key)?.value;
}
