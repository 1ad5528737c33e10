// What a `.wasm` import yields depends on the bundle: bytes under esbuild's binary loader (the inline
// bundle), a compiled WebAssembly.Module under workerd's module rules. Each entry asserts its own case.
declare module "*.wasm" {
  const value: unknown;
  export default value;
}
