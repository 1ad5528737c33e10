// Graph fragments the architectures share: a dense layer with its parameters, a stack of spec layers (dense →
// [layer norm] → activation → [dropout]; conv → [batch norm] → activation → [dropout]; pool; batch norm; flatten;
// activation), and a softmax gate. Parameter names are the safetensors keys (`<name>.weight`, `<name>.bias`,
// `<name>.ln_scale`, `<name>.ln_bias`, `<name>.bn_scale`, `<name>.bn_bias`, and the state `<name>.bn_running_mean`,
// `<name>.bn_running_var`) and are declared in graph order, which is also the parameter block's layout (state
// last, see Model) and the order initialization draws in. Shapes were checked by the spec (layerShapes).
import type { Graph, Init, Role, Value } from "../graph/graph.ts";
import { convPads, type Activation, type AnyLayer, type ConvLayer } from "../model/spec.ts";
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

/** y = conv(x, W) (+ b) with relu fused when it is the activation and no batch norm follows; W [filters, C, kh, kw]. */
export function conv(g: Graph, x: Value, l: ConvLayer, name: string, role: Role): Value {
  const [, c, h, w] = x.shape as number[];
  const fanIn = c * l.kernel[0] * l.kernel[1], fanOut = l.filters * l.kernel[0] * l.kernel[1];
  const fused = l.activation === "relu" && !l.batchnorm;
  const W = g.param(`${name}.weight`, [l.filters, c, l.kernel[0], l.kernel[1]], initFor(l.batchnorm ? "none" : l.activation, fanIn, fanOut), role);
  const ins = l.batchnorm ? [x, W] : [x, W, g.param(`${name}.bias`, [l.filters], { kind: "zeros" }, role)];
  let y = g.add1("conv2d", ins, { stride: l.stride, pads: convPads(l, h, w), dilation: l.dilation, act: fused ? "relu" : "none" }, name);
  if (l.batchnorm) y = batchnorm(g, y, name, role);
  return fused ? y : activation(g, y, l.activation, `${name}.act`);
}

/** Batch norm over channels (images) or features (flat): scale and bias trainable, running statistics state. */
export function batchnorm(g: Graph, x: Value, name: string, role: Role): Value {
  const c = x.shape[1] as number;
  const s = g.param(`${name}.bn_scale`, [c], { kind: "ones" }, role);
  const b = g.param(`${name}.bn_bias`, [c], { kind: "zeros" }, role);
  const rm = g.state(`${name}.bn_running_mean`, [c], { kind: "zeros" });
  const rv = g.state(`${name}.bn_running_var`, [c], { kind: "ones" });
  return g.add1("batchnorm", [x, s, b, rm, rv], {}, `${name}.bn`);
}

/** x flattened to [N, features] (an alias, no copy); x itself when already flat. */
export function flat(g: Graph, x: Value, name: string): Value {
  return x.shape.length === 2 ? x : g.add1("flatten", [x], {}, g.unique(name));
}

/** The spec's layers in order (shapes were checked by validateSpec); dropout follows a layer that sets it. */
export function mlp(g: Graph, x: Value, layers: readonly AnyLayer[], name: string, role: Role): Value {
  return layers.reduce((h, l, i) => layer(g, h, l, `${name}.${i}`, role), x);
}

/** One spec layer (with its activation and dropout) named `at` (`<stack>.<index>`). */
export function layer(g: Graph, x: Value, l: AnyLayer, at: string, role: Role): Value {
  let h = x;
  switch (l.type) {
    case undefined:
    case "dense":
      if (l.layernorm) h = activation(g, layernorm(g, dense(g, h, l.units, "none", at, role), at, role), l.activation, `${at}.act`);
      else h = dense(g, h, l.units, l.activation, at, role);
      break;
    case "conv":
      h = conv(g, h, l, at, role);
      break;
    case "pool":
      if (l.mode === "global_avg" || !l.size) h = g.add1("avgpool2d", [h], { global: true }, `${at}.pool`);
      else h = g.add1(l.mode === "max" ? "maxpool2d" : "avgpool2d", [h], { kernel: l.size, stride: l.stride }, `${at}.pool`);
      break;
    case "batchnorm":
      h = batchnorm(g, h, at, role);
      break;
    case "flatten":
      h = g.add1("flatten", [h], {}, `${at}.flatten`);
      break;
    case "activation":
      h = activation(g, h, l.activation, `${at}.act`);
      break;
  }
  if (l.dropout > 0) h = g.add1("dropout", [h], { p: l.dropout }, `${at}.drop`);
  return h;
}

/** softmax(x·W + b) over `experts`: a task's gate. */
export function gate(g: Graph, x: Value, experts: number, task: string): Value {
  return gateAt(g, x, experts, `gate.${task}`, `gate:${task}`);
}

/** softmax(x·W + b) over `experts`, parameters `<name>.weight`, `<name>.bias` of role `role` (ple's levels). */
export function gateAt(g: Graph, x: Value, experts: number, name: string, role: Role): Value {
  // An image input: the gate reads it flattened (an alias).
  return g.add1("softmax", [dense(g, flat(g, x, `${name}.flatten`), experts, "none", name, role)], {}, `${name}.softmax`);
}
