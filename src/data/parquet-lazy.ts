// The Parquet reader, loaded on first use: hyparquet creates a TextDecoder when its module is evaluated, which some
// engines lack (the JavaScriptCore and SpiderMonkey shells), and importing mtl-wasm must not need one. Bundles keep
// src/data/parquet.ts behind this dynamic import, so it is evaluated only when a Parquet file is read.
import type { ByteSource, RowStream } from "./source.ts";
import type { ParquetOptions } from "./parquet.ts";
import type { AsyncBuffer } from "hyparquet/src/index.js";

/** Rows of a Parquet file (see src/data/parquet.ts `openParquet`). */
export async function openParquet(source: ByteSource, opts: ParquetOptions = {}): Promise<RowStream> {
  return (await import("./parquet.ts")).openParquet(source, opts);
}

/** Rows of a Parquet file read slice by slice, e.g. a browser `File` (see src/data/parquet.ts `openParquetBuffer`). */
export async function openParquetBuffer(name: string, file: AsyncBuffer, opts: ParquetOptions = {}): Promise<RowStream> {
  return (await import("./parquet.ts")).openParquetBuffer(name, file, opts);
}
