// NODE-ONLY: opens a file path as a ByteSource with node:fs streams. Do not import from portable library code;
// browsers/workers build a source with fromReadableStream(name, (await fetch(url)).body!) instead.

import { createReadStream } from "node:fs";
import type { ByteSource } from "./source.ts";

export interface FileSourceOptions {
  /** Name used in error messages (default: the path as given). */
  name?: string;
  /** Read chunk size in bytes (default 64 KiB). */
  highWaterMark?: number;
}

/** A ByteSource reading `path` lazily when iterated (an open error such as ENOENT surfaces on the first read). */
export function fileSource(path: string, opts: FileSourceOptions = {}): ByteSource {
  const name = opts.name ?? path;
  return {
    name,
    chunks: (async function* () {
      const stream = createReadStream(path, { highWaterMark: opts.highWaterMark ?? 1 << 16 });
      try {
        for await (const chunk of stream) yield chunk as Uint8Array;
      } catch (e) {
        throw new Error(`${name}: cannot read file: ${(e as Error).message}`, { cause: e });
      } finally {
        stream.destroy();
      }
    })(),
  };
}
