// The model configs the demo worker bundles (esbuild's JSON loader; tsconfig has no resolveJsonModule).
declare module "*/multimnist-boxes.json" {
  const spec: Record<string, unknown>;
  export default spec;
}
