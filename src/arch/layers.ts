// Graph fragments the architectures share: a dense layer with its parameters, an MLP of spec layers
// (dense → [layer norm] → activation → [dropout]), and a softmax gate. Parameter names are the safetensors keys
// (`<name>.weight`, `<name>.bias`, `<name>.ln_scale`, `<name>.ln_bias`) and are declared in graph order,
// which is also the parameter block's layout and the order initialization draws in.
import type { Graph, Init, Role, Value } from "../graph/graph.ts";
import type { Activation, Layer } from "../model/spec.ts";
import { heInit } from "../ops/activation.ts";

/** He-uniform before the rectifier-like activations (marked `he` in src/ops/activation.ts), Glorot-uniform otherwise. */
export const initFor = (act: Activation, fanIn: number, fanOut: number): Init =>
  heInit(act) ? { kind: "uniform", limit: Math.sqrt(6 / fanIn) } : { kind: "uniform", limit: Math.sqrt(6 / (fanIn + fanOut)) };

const width = (v: Value) => v.shape[v.shape.length - 1] as number;

/** y = act(x·W + b): relu is fused into the dense node, other activations follow it. */
export function dense(g: Graph, x: Value, units: number, act: Activation, name: string, role: Role, init?: Init): Value {
  const W = g.param(`${name}.weight`, [width(x), units], init ?? initFor(act, width(x), units), role);
  const b = g.param(`${name}.bias`, [units], { kind: "zeros" }, role);
  const y = g.add1("dense", [x, W, b], { act: act === "relu" ? "relu" : "none" }, name);
  return act === "relu" || act === "none" ? y : activation(g, y, act, `${name}.act`);
}

export function activation(g: Graph, x: Value, act: Activation, name: string): Value {
  return act === "none" ? x : g.add1(act, [x], {}, name);
}

export function layernorm(g: Graph, x: Value, name: string, role: Role): Value {
  const s = g.param(`${name}.ln_scale`, [width(x)], { kind: "ones" }, role);
  const b = g.param(`${name}.ln_bias`, [width(x)], { kind: "zeros" }, role);
  return g.add1("layernorm", [x, s, b], {}, `${name}.ln`);
}

/** The spec's layers in order; each is dense → (layer norm) → activation → (dropout). */
export function mlp(g: Graph, x: Value, layers: readonly Layer[], name: string, role: Role): Value {
  let h = x;
  layers.forEach((l, i) => {
    const at = `${name}.${i}`;
    if (l.layernorm) h = activation(g, layernorm(g, dense(g, h, l.units, "none", at, role), at, role), l.activation, `${at}.act`);
    else h = dense(g, h, l.units, l.activation, at, role);
    if (l.dropout > 0) h = g.add1("dropout", [h], { p: l.dropout }, `${at}.drop`);
  });
  return h;
}

/** softmax(x·W + b) over `experts`: a task's gate. */
export function gate(g: Graph, x: Value, experts: number, task: string): Value {
  return g.add1("softmax", [dense(g, x, experts, "none", `gate.${task}`, `gate:${task}`)], {}, `gate.${task}.softmax`);
}
