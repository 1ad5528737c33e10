// Stylesheets the report page imports as text (esbuild's text loader: tools/build.mjs).
declare module "*.css" {
  const text: string;
  export default text;
}
