// The public entry of mtl-wasm: the whole API (src/core.ts) and the Parquet reader (loaded on first use), which also
// makes readTable and train() read format "parquet". Nothing else is API.
import { provideParquet } from "./data/load.ts";
import { openParquet } from "./data/parquet-lazy.ts";

export * from "./core.ts";
export { openParquet, openParquetBuffer } from "./data/parquet-lazy.ts";
export type { ParquetOptions } from "./data/parquet.ts";

provideParquet(openParquet);
