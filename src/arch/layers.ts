// Graph fragments the architectures share: a dense layer with its parameters, a stack of spec layers (dense →
// [layer norm] → activation → [dropout]; conv → [batch norm] → activation → [dropout]; pool; batch norm; flatten;
// activation; over token rows conv1d → activation → [dropout] and bigru → [dropout]), and a softmax gate. Parameter names are the safetensors keys (`<name>.weight`, `<name>.bias`,
// `<name>.ln_scale`, `<name>.ln_bias`, `<name>.bn_scale`, `<name>.bn_bias`, and the state `<name>.bn_running_mean`,
// `<name>.bn_running_var`) and are declared in graph order, which is also the parameter block's layout (state
// last, see Model) and the order initialization draws in. Shapes were checked by the spec (layerShapes).
import type { Graph, Init, Role, Value } from "../graph/graph.ts";
import { convGroups, convPads, type Activation, type AnyLayer, type Conv1dLayer, type ConvLayer, type GruLayer } from "../model/spec.ts";
import { heInit } from "../ops/activation.ts";

/** He-uniform before the rectifier-like activations (marked `he` in src/ops/activation.ts), Glorot-uniform otherwise. */
export const initFor = (act: Activation, fanIn: number, fanOut: number): Init =>
  heInit(act) ? { kind: "uniform", limit: Math.sqrt(6 / fanIn) } : { kind: "uniform", limit: Math.sqrt(6 / (fanIn + fanOut)) };

const width = (v: Value) => v.shape[v.shape.length - 1] as number;

/**
 * DCN-v2 cross layers (stacked): x_{l+1} = x0 ⊙ (x_l·W_l + b_l) + x_l for l < layers, x0 [N, D] flat; W_l [D, D]
 * (Glorot), b_l [D] (zeros), parameters `cross.<l>.weight|bias`, role shared. Built from dense, mul and add nodes.
 */
export function crossNetwork(g: Graph, x0: Value, layers: number): Value {
  let x = x0;
  for (let l = 0; l < layers; l++) {
    const w = dense(g, x, width(x0), "none", `cross.${l}`, "shared");
    x = g.add1("add", [g.add1("mul", [x0, w], {}, `cross.${l}.mul`), x], {}, `cross.${l}.out`);
  }
  return x;
}

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

/**
 * y = conv(x, W) (+ b) with relu fused when it is the activation and no batch norm follows; W [filters, C / G, kh, kw]
 * for G channel groups (PyTorch's layout and fans: fan-in (C / G)·kh·kw, fan-out filters·kh·kw).
 */
export function conv(g: Graph, x: Value, l: ConvLayer, name: string, role: Role): Value {
  const [, c, h, w] = x.shape as number[];
  const groups = convGroups(l, c), cg = c / groups;
  const fanIn = cg * l.kernel[0] * l.kernel[1], fanOut = l.filters * l.kernel[0] * l.kernel[1];
  const fused = l.activation === "relu" && !l.batchnorm;
  const W = g.param(`${name}.weight`, [l.filters, cg, l.kernel[0], l.kernel[1]], initFor(l.batchnorm ? "none" : l.activation, fanIn, fanOut), role);
  const ins = l.batchnorm ? [x, W] : [x, W, g.param(`${name}.bias`, [l.filters], { kind: "zeros" }, role)];
  const attrs = { stride: l.stride, pads: convPads(l, h, w), dilation: l.dilation, act: fused ? "relu" : "none", ...(groups > 1 ? { group: groups } : {}) };
  let y = g.add1("conv2d", ins, attrs, name);
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

/**
 * Token rows x [N, L, C] → act(conv1d(x)) [N, L, filters] over the real tokens (`mask` f32 [N, L]): W [filters, C,
 * kernel] (ONNX Conv's layout), b [filters]; relu is fused, other activations follow.
 */
export function conv1d(g: Graph, x: Value, mask: Value, l: Pick<Conv1dLayer, "filters" | "kernel" | "dilation" | "activation">, name: string, role: Role): Value {
  const c = width(x);
  const W = g.param(`${name}.weight`, [l.filters, c, l.kernel], initFor(l.activation, c * l.kernel, l.filters * l.kernel), role);
  const b = g.param(`${name}.bias`, [l.filters], { kind: "zeros" }, role);
  const y = g.add1("conv1d", [x, mask, W, b], { dilation: l.dilation, act: l.activation === "relu" ? "relu" : "none" }, name);
  return l.activation === "relu" || l.activation === "none" ? y : activation(g, y, l.activation, `${name}.act`);
}

/** A dense layer applied to every token of x [N, L, C] (conv1d with kernel 1): [N, L, units], 0 at padding. */
export function seqDense(g: Graph, x: Value, mask: Value, units: number, act: Activation, name: string, role: Role): Value {
  return conv1d(g, x, mask, { filters: units, kernel: 1, dilation: 1, activation: act }, name, role);
}

/**
 * Bidirectional GRU over the real tokens of x [N, L, D] → [N, L, 2·units]: `<name>.weight` W [2, 3H, D],
 * `<name>.recurrence` R [2, 3H, H], `<name>.bias` B [2, 6H] (ONNX GRU's layout, gates z, r, h), all uniform in
 * ±1/√H (PyTorch's GRU initialization).
 */
export function bigru(g: Graph, x: Value, mask: Value, l: GruLayer, name: string, role: Role): Value {
  const H = l.units, D = width(x), init: Init = { kind: "uniform", limit: 1 / Math.sqrt(H) };
  const W = g.param(`${name}.weight`, [2, 3 * H, D], init, role);
  const R = g.param(`${name}.recurrence`, [2, 3 * H, H], init, role);
  const B = g.param(`${name}.bias`, [2, 6 * H], init, role);
  return g.add1("bigru", [x, mask, W, R, B], {}, name);
}

/**
 * The spec's layers in order (shapes were checked by validateSpec); dropout follows a layer that sets it. `mask`
 * (f32 [N, L], the real tokens) is what conv1d and bigru layers read; required when the stack has one.
 */
export function mlp(g: Graph, x: Value, layers: readonly AnyLayer[], name: string, role: Role, mask: Value | null = null): Value {
  return layers.reduce((h, l, i) => layer(g, h, l, `${name}.${i}`, role, mask), x);
}

/** One spec layer (with its activation and dropout) named `at` (`<stack>.<index>`); `mask` as in mlp. */
export function layer(g: Graph, x: Value, l: AnyLayer, at: string, role: Role, mask: Value | null = null): Value {
  const seqMask = () => {
    if (!mask) throw new Error(`${at}: ${l.type} needs token rows and their mask (inputs.tokens)`);
    return mask;
  };
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
    case "conv1d":
      h = conv1d(g, h, seqMask(), l, at, role);
      break;
    case "bigru":
      h = bigru(g, h, seqMask(), l, at, role);
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
