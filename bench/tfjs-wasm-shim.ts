// tfjs-backend-wasm 4.22 registers Conv2D, Conv2DBackpropInput, MaxPool and MaxPoolGrad but no
// Conv2DBackpropFilter, so a tfjs-layers conv model cannot train on it. For the W2 bench this file registers
// one for the 'wasm' backend, built only from that backend's own kernels (Transpose, PadV2, Conv2D, Slice),
// through the identity (NHWC, stride s, dilation 1):
//
//   dW[ky, kx, ci, co] = Σ_{n, oy, ox} xpad[n, oy·s + ky, ox·s + kx, ci] · dy[n, oy, ox, co]
//                      = conv(Xᵀ, dYᵀ) with Xᵀ = transpose(xpad, [3, 1, 2, 0]) [Ci, Hp, Wp, N] as the input
//                        (batch Ci, channels N) and dYᵀ = transpose(dy, [1, 2, 0, 3]) [Ho, Wo, N, Co] as the
//                        filter, dilated by s, stride 1 → [Ci, kh', kw', Co] (kh' ≥ kh: sliced to kh)
//   then transpose [1, 2, 0, 3] → [kh, kw, Ci, Co].
//
// verifyConv2DBackpropFilterShim() checks it against tfjs-cpu's Conv2DBackpropFilter on random inputs
// (W2's two conv shapes, a strided and a padded case) and returns the largest relative error; the bench
// aborts above 1e-4.
import * as tf from "@tensorflow/tfjs-core";

type Info = tf.TensorInfo;
type Backend = tf.KernelBackend & { disposeData(id: tf.DataId): boolean };

function kernel(name: string) {
  const k = tf.getKernel(name, "wasm");
  if (!k) throw new Error(`tfjs-backend-wasm has no ${name} kernel; the Conv2DBackpropFilter shim needs it`);
  return k.kernelFunc as (a: { inputs: Record<string, Info>; backend: tf.KernelBackend; attrs: Record<string, unknown> }) => Info;
}

function conv2DBackpropFilterWasm({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): Info {
  const { x, dy } = inputs as { x: Info; dy: Info };
  const a = attrs as unknown as { strides: number | [number, number]; pad: "valid" | "same" | number | number[][]; dataFormat: "NHWC" | "NCHW"; dimRoundingMode?: "floor" | "round" | "ceil"; filterShape: [number, number, number, number] };
  if (a.dataFormat !== "NHWC") throw new Error(`Conv2DBackpropFilter shim: only NHWC (got ${a.dataFormat})`);
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad as "valid", a.dimRoundingMode, false, "channelsLast");
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, outHeight: ho, outWidth: wo } = info;
  const { top, left } = info.padInfo;
  const [, H, W] = x.shape;
  const be = backend as Backend, temps: Info[] = [];
  const run = (name: string, ins: Record<string, Info>, at: Record<string, unknown>) => {
    const r = kernel(name)({ inputs: ins, backend, attrs: at });
    temps.push(r);
    return r;
  };
  // Rows/columns xpad needs: top + H + bottom with the last window ending at (ho − 1)·sh + kh.
  const bottom = Math.max(0, (ho - 1) * sh + kh - H - top), right = Math.max(0, (wo - 1) * sw + kw - W - left);
  const xp = top || left || bottom || right ? run("PadV2", { x }, { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 }) : x;
  const xt = run("Transpose", { x: xp }, { perm: [3, 1, 2, 0] });
  const ft = run("Transpose", { x: dy }, { perm: [1, 2, 0, 3] });
  let r = run("Conv2D", { x: xt, filter: ft }, { strides: [1, 1], pad: "valid", dataFormat: "NHWC", dilations: [sh, sw], dimRoundingMode: undefined });
  if (r.shape[1] !== kh || r.shape[2] !== kw) r = run("Slice", { x: r }, { begin: [0, 0, 0, 0], size: [r.shape[0], kh, kw, r.shape[3]] });
  const out = kernel("Transpose")({ inputs: { x: r }, backend, attrs: { perm: [1, 2, 0, 3] } });
  for (const t of temps) be.disposeData(t.dataId);
  return out;
}

let registered = false;
/** Register the shim for 'wasm' (once; an existing registration is left alone). */
export function registerConv2DBackpropFilterShim(): void {
  if (registered || tf.getKernel("Conv2DBackpropFilter", "wasm")) return;
  tf.registerKernel({ kernelName: "Conv2DBackpropFilter", backendName: "wasm", kernelFunc: conv2DBackpropFilterWasm as unknown as tf.KernelFunc });
  registered = true;
}

/**
 * The shim against tfjs-cpu's Conv2DBackpropFilter on seeded random inputs; leaves the backend on 'wasm'.
 * Returns the cases with max |wasm − cpu| / max |cpu| each.
 */
export async function verifyConv2DBackpropFilterShim(): Promise<{ label: string; relErr: number }[]> {
  let seed = 7;
  const rand = (n: number) => Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1);
  const cases: { label: string; x: [number, number, number, number]; f: [number, number, number, number]; strides: number; pad: "valid" | "same" | number }[] = [
    { label: "W2 conv1 64×28×28×1 → 32, 3×3 valid", x: [64, 28, 28, 1], f: [3, 3, 1, 32], strides: 1, pad: "valid" },
    { label: "W2 conv2 64×13×13×32 → 64, 3×3 valid", x: [64, 13, 13, 32], f: [3, 3, 32, 64], strides: 1, pad: "valid" },
    { label: "3×9×11×5 → 7, 3×2 stride 2 same", x: [3, 9, 11, 5], f: [3, 2, 5, 7], strides: 2, pad: "same" },
    { label: "2×8×7×3 → 4, 5×5 stride 3 pad 1", x: [2, 8, 7, 3], f: [5, 5, 3, 4], strides: 3, pad: 1 },
  ];
  const out: { label: string; relErr: number }[] = [];
  for (const c of cases) {
    const info = tf.backend_util.computeConv2DInfo(c.x, c.f, c.strides, 1, c.pad, undefined, false, "channelsLast");
    const xs = rand(c.x.reduce((a, b) => a * b)), dys = rand(info.outShape.reduce((a, b) => a * b));
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: "NHWC", dimRoundingMode: undefined, filterShape: c.f } as unknown as tf.NamedAttrMap;
    const on = async (backend: string) => {
      await tf.setBackend(backend);
      const x = tf.tensor4d(xs, c.x), dy = tf.tensor4d(dys, info.outShape);
      const r = tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, attrs) as tf.Tensor;
      const v = r.dataSync().slice();
      if (r.shape.join() !== c.f.join()) throw new Error(`Conv2DBackpropFilter on ${backend}: shape ${r.shape.join("×")}, expected ${c.f.join("×")}`);
      tf.dispose([x, dy, r]);
      return v;
    };
    const ref = await on("cpu"), got = await on("wasm");
    let diff = 0, scale = 0;
    for (let i = 0; i < ref.length; i++) (diff = Math.max(diff, Math.abs(got[i] - ref[i]))), (scale = Math.max(scale, Math.abs(ref[i])));
    out.push({ label: c.label, relErr: diff / scale });
  }
  return out;
}
