// NODE-ONLY: crash-safe file replacement. Do not import from portable library code.
//
// writeFileAtomic writes to a uniquely named temporary file in the target's directory (same file system, so the rename
// is atomic), fsyncs it, renames it over the target, then fsyncs the directory (best effort; not possible on Windows).
// Readers see either the complete old file or the complete new one. On any failure the temporary file is removed and
// the old file is left untouched. An existing target's permission bits are kept. If the target is a symlink, the link
// itself is replaced by a regular file.

import { randomBytes } from "node:crypto";
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { open, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export type AtomicData = Uint8Array | string | Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string>;

function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
}

function isAsyncIterable(x: unknown): x is AsyncIterable<Uint8Array | string> {
  return x != null && typeof (x as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function";
}

/** Permission bits of an existing target, or undefined for a new file (default permissions minus umask). */
async function existingMode(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mode & 0o7777;
  } catch {
    return undefined;
  }
}

function chunkBytes(c: Uint8Array | string): Uint8Array {
  return typeof c === "string" ? new TextEncoder().encode(c) : c;
}

/**
 * Atomically replace `path` with `data`: a byte array, a string (UTF-8), or a (sync or async) iterable of chunks,
 * written in order. If the iterable throws, nothing changes at `path`. The target's directory must exist.
 */
export async function writeFileAtomic(path: string, data: AtomicData): Promise<void> {
  const tmp = tempPath(path);
  const mode = await existingMode(path);
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, "wx", mode ?? 0o666);
    if (mode !== undefined) await fh.chmod(mode); // exact bits, regardless of umask
    if (typeof data === "string" || data instanceof Uint8Array) {
      await fh.writeFile(chunkBytes(data));
    } else if (isAsyncIterable(data)) {
      for await (const c of data) await writeAll(fh, chunkBytes(c));
    } else {
      for (const c of data) await writeAll(fh, chunkBytes(c));
    }
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, path);
  } catch (e) {
    if (fh) await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await syncDir(dirname(path));
}

async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, off, bytes.length - off);
    off += bytesWritten;
  }
}

async function syncDir(dir: string): Promise<void> {
  let dh: FileHandle | undefined;
  try {
    dh = await open(dir, "r");
    await dh.sync();
  } catch {
    // Directories cannot be opened or fsynced on some platforms (Windows); the rename itself is still atomic.
  } finally {
    await dh?.close().catch(() => {});
  }
}

/** Synchronous variant of writeFileAtomic for bytes or a string. */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  const tmp = tempPath(path);
  let mode: number | undefined;
  try {
    mode = statSync(path).mode & 0o7777;
  } catch {
    // new file
  }
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "wx", mode ?? 0o666);
    if (mode !== undefined) fchmodSync(fd, mode);
    const bytes = chunkBytes(data);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already failing
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      // not created
    }
    throw e;
  }
  try {
    const dfd = openSync(dirname(path), "r");
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // best effort, see syncDir
  }
}
