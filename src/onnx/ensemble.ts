// One ONNX model averaging K exported members (the same spec and preprocessing, different seeds): the members'
// graphs side by side in one graph, every name but the shared graph inputs prefixed `m<i>/` (parameters become
// `m<i>/<parameter>`), and per output o [N, W]:
//   o = (m0/o + m1/o + … + m<K−1>/o) · (1/K) + 0      Add chain in member order, then Mul and Add by constants [W]
// — probabilities averaged for classification tasks, values (in the label's units) for regression, each task's extra
// outputs the same way. The Mul/Add pair is the `affine` boundary op, so the mtl engine runs the file as
// onnxruntime-web does. Metadata: member 0's (spec, preprocessing, inputs), plus `mtl.ensemble` = {"members": K, "seeds"}.
import { decodeModel, encodeModel, DataType, type GraphProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from "./model.ts";
import { tensor } from "./builder.ts";

/** The ensemble of the member exports `members` (ONNX bytes from exportOnnx, in seed order); `seeds` go to metadata. */
export function ensembleOnnx(members: readonly Uint8Array[], opts: { seeds?: number[]; name?: string } = {}): Uint8Array {
  if (members.length < 1) throw new Error("ensemble export: no members");
  const models = members.map((b, i) => checkMember(decodeModel(b), i));
  const first = models[0], K = models.length;
  const inputNames = new Set(first.graph.input.map((v) => v.name));
  models.forEach((m, i) => {
    if (signature(m.graph.input) !== signature(first.graph.input)) throw new Error(`ensemble export: member ${i} has inputs ${signature(m.graph.input)}, member 0 ${signature(first.graph.input)}`);
    if (signature(m.graph.output) !== signature(first.graph.output)) throw new Error(`ensemble export: member ${i} has outputs ${signature(m.graph.output)}, member 0 ${signature(first.graph.output)}`);
  });
  const graph: GraphProto = { name: opts.name ?? `${first.graph.name}.ensemble${K}`, node: [], initializer: [], input: first.graph.input.map((v) => ({ ...v })), output: [], valueInfo: [], docString: "" };
  models.forEach((m, i) => {
    const rn = (n: string) => (n === "" || inputNames.has(n) ? n : `m${i}/${n}`);
    for (const t of m.graph.initializer) graph.initializer.push({ ...t, name: rn(t.name) });
    for (const n of m.graph.node) graph.node.push({ ...n, name: n.name ? `m${i}/${n.name}` : "", input: n.input.map(rn), output: n.output.map(rn) } satisfies NodeProto);
    for (const v of m.graph.valueInfo) graph.valueInfo.push({ ...v, name: rn(v.name) });
  });
  for (const out of first.graph.output) {
    const W = out.type?.shape?.[1];
    if (typeof W !== "number") throw new Error(`ensemble export: output ${JSON.stringify(out.name)} has shape [${out.type?.shape}], expected [N, W] with a fixed W`);
    let sum = `m0/${out.name}`;
    for (let i = 1; i < K; i++) sum = add(graph, "Add", [sum, `m${i}/${out.name}`], `ensemble/${out.name}/sum${i}`);
    const scale = constant(graph, `ensemble/${out.name}/scale`, new Float32Array(W).fill(1 / K), [W]);
    const shift = constant(graph, `ensemble/${out.name}/shift`, new Float32Array(W), [W]);
    const scaled = add(graph, "Mul", [sum, scale], `ensemble/${out.name}/mean`);
    add(graph, "Add", [scaled, shift], out.name, `ensemble/${out.name}/out`);
    graph.output.push({ ...out });
  }
  const metadataProps = [...first.metadataProps.filter((p) => p.key !== "mtl.ensemble"), { key: "mtl.ensemble", value: JSON.stringify({ members: K, ...(opts.seeds ? { seeds: opts.seeds } : {}) }) }];
  return encodeModel({ ...first, graph, metadataProps });
}

/** Append a node; returns its output's name (`output`, default the node's name). */
function add(g: GraphProto, op: string, input: string[], name: string, nodeName = name): string {
  g.node.push({ opType: op, domain: "", name: nodeName, input, output: [name], attribute: [], docString: "" });
  return name;
}

function constant(g: GraphProto, name: string, data: Float32Array, dims: number[]): string {
  const t: TensorProto = tensor(name, data, dims, DataType.FLOAT);
  g.initializer.push(t);
  return name;
}

const signature = (vs: ValueInfoProto[]) => vs.map((v) => `${v.name}:${v.type?.elemType}[${(v.type?.shape ?? []).join(",")}]`).join(" ");

function checkMember(m: ModelProto, i: number): ModelProto {
  if (!m.metadataProps.some((p) => p.key === "mtl.format")) throw new Error(`ensemble export: member ${i} is not an mtl-wasm export (no mtl.format metadata)`);
  if (m.metadataProps.some((p) => p.key === "mtl.ensemble")) throw new Error(`ensemble export: member ${i} is itself an ensemble`);
  return m;
}
