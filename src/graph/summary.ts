// `mtl summary` as a library (Keras' model.summary()): one row per graph node — its op (with the op's own
// describe() detail), output shape (N is the batch), the parameters it reads (each counted once, at its first
// reader) and their role — and totals by role. Everything comes from the graph and the parameter list: there is
// no architecture logic here, so a new architecture or op shows up without touching this file. Also the graph as
// Graphviz text (toDot). Portable: no node:* imports.
import { opDef } from "./registry.ts";
import { showShape, type Dim, type Graph, type Node, type Role, type Value } from "./graph.ts";

/** A parameter as the parameter store knows it (Model.store.params fits). */
export interface ParamInfo {
  readonly name: string;
  readonly shape: readonly number[];
  readonly role: Role;
  /** Element count; checked against the shape when given. */
  readonly size?: number;
}

export interface SummaryRow {
  /** The node's name (unique in the graph). */
  name: string;
  op: string;
  /** The op's describe(node), e.g. "relu" or "p=0.1"; "" when the op name says it all. */
  detail: string;
  /** Output shapes, batch dimension "N". */
  outputs: Dim[][];
  /** The output shapes as text: `[N, 32]`, `scalar` for a host value; several outputs joined by ", ". */
  shape: string;
  /** The names of the values it reads. */
  inputs: string[];
  /** Elements of the parameters this node is the first reader of. */
  params: number;
  /** Those parameters' names. */
  weights: string[];
  /** The roles of the parameters it reads (first-read or not), joined by ","; "" when it reads none. */
  role: string;
}

export interface SummaryParam {
  name: string;
  shape: number[];
  size: number;
  role: Role;
  /** The node that reads it first, or null: not in the graph (e.g. weighting's log-variances) or read by no node. */
  reader: string | null;
}

export interface SummaryTotals {
  /** Parameter elements by role, in the order shared, each task, each gate, weighting (roles present; shared always). */
  byRole: Record<string, number>;
  /** Trainable parameter elements (all parameters, in the graph or not). */
  parameters: number;
  /** Parameter tensors. */
  tensors: number;
  /** Elements of the graph's constants (non-trainable: e.g. the raw boundary's standardization statistics). */
  constants: number;
  /** parameters + constants. */
  total: number;
}

export interface Summary {
  /** The graph's name (the model's). */
  name: string;
  rows: SummaryRow[];
  /** Every parameter: the graph's in graph order, then the list's others (in list order). */
  params: SummaryParam[];
  totals: SummaryTotals;
}

const numelOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const sameDims = (a: readonly number[], b: readonly Dim[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** The shape of a node output as the summary prints it. */
export function shapeText(v: Value): string {
  return v.kind === "host" && v.shape.length === 0 ? "scalar" : showShape(v.shape);
}

/** The op and its detail as one word: `dense (relu)`, `dropout (p=0.1)`, `moe_combine`. */
export function opText(row: Pick<SummaryRow, "op" | "detail">): string {
  return row.detail ? `${row.op} (${row.detail})` : row.op;
}

/**
 * Summarize a graph. `params` is the model's parameter list (Model.store.params): it must agree with the graph's
 * parameters (every graph parameter present with the same shape), and its parameters that the graph does not have
 * (weighting's log-variances) are counted in the totals too.
 */
export function summarize(graph: Graph, params?: readonly ParamInfo[]): Summary {
  const listed = new Map<string, ParamInfo>();
  for (const p of params ?? []) {
    if (listed.has(p.name)) throw new Error(`summary of ${graph.name}: parameter ${JSON.stringify(p.name)} is listed twice`);
    if (p.size !== undefined && p.size !== numelOf(p.shape)) throw new Error(`summary of ${graph.name}: parameter ${JSON.stringify(p.name)} has size ${p.size} but shape [${p.shape}]`);
    listed.set(p.name, p);
  }
  const graphParams = graph.params();
  if (params)
    for (const v of graphParams) {
      const p = listed.get(v.name);
      if (!p) throw new Error(`summary of ${graph.name}: graph parameter ${JSON.stringify(v.name)} ${showShape(v.shape)} is not in the parameter list`);
      if (!sameDims(p.shape, v.shape)) throw new Error(`summary of ${graph.name}: parameter ${JSON.stringify(v.name)} is ${showShape(v.shape)} in the graph but [${p.shape.join(", ")}] in the parameter list`);
      if (p.role !== v.role) throw new Error(`summary of ${graph.name}: parameter ${JSON.stringify(v.name)} has role ${v.role} in the graph but ${p.role} in the parameter list`);
    }

  const reader = new Map<Value, string>();
  const rows: SummaryRow[] = graph.nodes.map((n: Node) => {
    const def = opDef(n.op);
    let count = 0;
    const weights: string[] = [];
    const roles: string[] = [];
    for (const v of n.inputs) {
      if (v.kind !== "param") continue;
      if (!roles.includes(v.role!)) roles.push(v.role!);
      if (reader.has(v)) continue;
      reader.set(v, n.name);
      count += numelOf(v.shape as number[]);
      weights.push(v.name);
    }
    return {
      name: n.name,
      op: n.op,
      detail: def.describe?.(n) ?? "",
      outputs: n.outputs.map((o) => [...o.shape]),
      shape: n.outputs.map(shapeText).join(", "),
      inputs: n.inputs.map((v) => v.name),
      params: count,
      weights,
      role: roles.join(","),
    };
  });

  const inGraph = new Set(graphParams.map((v) => v.name));
  const all: SummaryParam[] = [
    ...graphParams.map((v) => ({ name: v.name, shape: [...(v.shape as number[])], size: numelOf(v.shape as number[]), role: v.role!, reader: reader.get(v) ?? null })),
    ...[...listed.values()].filter((p) => !inGraph.has(p.name)).map((p) => ({ name: p.name, shape: [...p.shape], size: numelOf(p.shape), role: p.role, reader: null })),
  ];

  // Roles: shared, then each task's, each gate's (in the graph's task order, then any other), then weighting.
  const taskOrder = graph.tasks.map((t) => t.name);
  const seen: string[] = ["shared"];
  for (const p of all) if (!seen.includes(p.role)) seen.push(p.role);
  const rank = (r: string): [number, number] => {
    if (r === "shared") return [0, 0];
    const [kind, who] = [r.slice(0, r.indexOf(":")), r.slice(r.indexOf(":") + 1)];
    const t = taskOrder.indexOf(who);
    if (kind === "task") return [1, t < 0 ? taskOrder.length + seen.indexOf(r) : t];
    if (kind === "gate") return [2, t < 0 ? taskOrder.length + seen.indexOf(r) : t];
    if (r === "weighting") return [4, 0];
    return [3, seen.indexOf(r)];
  };
  const byRole: Record<string, number> = {};
  for (const r of [...seen].sort((a, b) => rank(a)[0] - rank(b)[0] || rank(a)[1] - rank(b)[1])) byRole[r] = 0;
  for (const p of all) byRole[p.role] += p.size;

  const parameters = all.reduce((s, p) => s + p.size, 0);
  const constants = graph.values.reduce((s, v) => s + (v.kind === "const" ? numelOf(v.shape as number[]) : 0), 0);
  return { name: graph.name, rows, params: all, totals: { byRole, parameters, tensors: all.length, constants, total: parameters + constants } };
}

/** 12345 → "12,345". */
export const thousands = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");

const kb = (bytes: number) => (bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(2)} MB`);

/** The summary as a plain-text table: a header, a separator, one line per row, then the totals. */
export function formatSummary(s: Summary): string {
  const head = ["Layer", "Op", "Output shape", "Params", "Role"];
  const cells = s.rows.map((r) => [r.name, opText(r), r.shape, r.params ? thousands(r.params) : "0", r.role]);
  const w = head.map((h, j) => Math.max(h.length, ...cells.map((c) => c[j].length)));
  const right = [false, false, false, true, false];
  const line = (c: string[]) =>
    c
      .map((x, j) => (right[j] ? x.padStart(w[j]) : x.padEnd(w[j])))
      .join("  ")
      .trimEnd();
  const sep = "─".repeat(w.reduce((a, b) => a + b, 0) + 2 * (w.length - 1));
  const out = [line(head), sep, ...cells.map(line), sep];
  const unread = s.params.filter((p) => p.reader === null);
  if (unread.length) out.push(`Not read by the graph: ${unread.map((p) => `${p.name} [${p.shape.join(", ")}] (${p.role})`).join(", ")}`);
  const t = s.totals;
  const roles = Object.entries(t.byRole);
  const rw = Math.max(...roles.map(([r]) => r.length), 8);
  const nw = Math.max(...roles.map(([, n]) => thousands(n).length), thousands(t.total).length);
  out.push("Parameters by role:");
  for (const [r, n] of roles) out.push(`  ${r.padEnd(rw)}  ${thousands(n).padStart(nw)}`);
  out.push(`Trainable parameters: ${thousands(t.parameters)} in ${t.tensors} tensors (${kb(4 * t.parameters)} as f32)`);
  if (t.constants) out.push(`Constants (non-trainable): ${thousands(t.constants)}`);
  out.push(`Total: ${thousands(t.total)}`);
  return out.join("\n");
}

const dotString = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;

const ROLE_COLOURS: [RegExp, string][] = [
  [/^shared$/, "#dbe9f6"],
  [/^task:/, "#fdf1d0"],
  [/^gate:/, "#f8dde4"],
  [/^weighting$/, "#e4f2dc"],
];

/**
 * The graph as Graphviz text: one box per node (name, op and detail, output shape, parameters read first there),
 * an edge from the producer of each input to its reader. Graph inputs and constants are listed in the reading
 * node's label ("← numeric [N, 7]"); parameters are not drawn, only counted. Nodes that read parameters are
 * filled by role.
 */
export function toDot(graph: Graph, params?: readonly ParamInfo[]): string {
  const s = summarize(graph, params);
  const id = new Map<Node, string>(graph.nodes.map((n) => [n, `n${n.id}`]));
  const lines = [`digraph ${dotString(graph.name)} {`, "  rankdir=TB;", '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize=10];', '  edge [color="#666666", arrowsize=0.6];'];
  graph.nodes.forEach((n, i) => {
    const r = s.rows[i];
    const label = [r.name, opText(r), r.shape];
    const external = n.inputs.filter((v) => v.kind === "input" || v.kind === "const");
    for (const v of external) label.push(`← ${v.name} ${showShape(v.shape)}`);
    if (r.params) label.push(`${thousands(r.params)} params`);
    const colour = r.role ? ROLE_COLOURS.find(([re]) => re.test(r.role.split(",")[0]))?.[1] : undefined;
    lines.push(`  ${id.get(n)} [label=${dotString(label.join("\n"))}${colour ? `, fillcolor="${colour}"` : ""}];`);
  });
  for (const n of graph.nodes) {
    const from = new Set<Node>();
    for (const v of n.inputs) if (v.producer && !from.has(v.producer)) from.add(v.producer);
    for (const p of from) lines.push(`  ${id.get(p)} -> ${id.get(n)};`);
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}
