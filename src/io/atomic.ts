// NODE-ONLY: crash-safe file replacement. Do not import from portable library code.
//
// writeFileAtomic writes to a uniquely named temporary file in the target's directory (same file system, so the rename
// is atomic), fsyncs it, renames it over the target, then fsyncs the directory (best effort; not possible on Windows).
// Readers see either the complete old file or the complete new one. On any failure the temporary file is removed and
// the old file is left untouched. An existing target's permission bits are kept. If the target is a symlink, the link
// itself is replaced by a regular file.
//
// writeDirAtomic does the same for a directory of files (a checkpoint): every file is written and fsynced under
// `TARGET.tmp-XXXX/`, then that directory is renamed to TARGET in one step, so TARGET either does not exist or holds
// every file complete. removeDirAtomic renames a directory to a temporary name before deleting it, so a reader never
// sees it half deleted. A process killed mid-write leaves only temporaries (`.NAME.PID.XXXX.tmp` files,
// `NAME.tmp-XXXX` directories), which removeStaleTemps deletes.

import { randomBytes } from "node:crypto";
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from "node:fs/promises";
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

/** Whether `name` is one of our temporaries: a writeFileAtomic temp file (`….tmp`) or a writeDirAtomic/removeDirAtomic directory (`….tmp-…`). */
export function isTempName(name: string): boolean {
  return name.endsWith(".tmp") || name.includes(".tmp-");
}

/**
 * Delete the temporaries (isTempName) that killed writes left in `dir` (files and directories; not recursing into
 * other subdirectories). Returns the names removed. Only call it when no other process is writing into `dir`.
 */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const stale = names.filter(isTempName).sort();
  for (const n of stale) await rm(join(dir, n), { recursive: true, force: true });
  return stale;
}

/**
 * Atomically create or replace the directory `path` with the given files (written in order, so the caller can put a
 * manifest last). The parent directory must exist. Readers see no directory, the complete old one, or the complete new
 * one; a replaced old directory is briefly absent (renamed aside) before the new one takes its name.
 */
export async function writeDirAtomic(path: string, files: Iterable<[name: string, data: Uint8Array | string]>): Promise<void> {
  const tag = randomBytes(6).toString("hex");
  const tmp = `${path}.tmp-${tag}`;
  try {
    await mkdir(tmp);
    for (const [name, data] of files) {
      if (name.includes("/") || name.includes("\\") || name === "." || name === "..") throw new Error(`writeDirAtomic: bad file name ${JSON.stringify(name)}`);
      const fh = await open(join(tmp, name), "wx");
      try {
        await writeAll(fh, chunkBytes(data));
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    await syncDir(tmp);
    let aside: string | null = null;
    try {
      await rename(tmp, path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST" && code !== "EPERM" && code !== "EISDIR") throw e;
      aside = `${path}.tmp-old-${tag}`;
      await rename(path, aside);
      await rename(tmp, path);
    }
    await syncDir(dirname(path));
    if (aside) await rm(aside, { recursive: true, force: true });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw e;
  }
}

/** Delete the directory `path` (if it exists) so that no reader sees it partly deleted: rename it to a temporary name first. */
export async function removeDirAtomic(path: string): Promise<void> {
  const gone = `${path}.tmp-del-${randomBytes(6).toString("hex")}`;
  try {
    await rename(path, gone);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  await syncDir(dirname(path));
  await rm(gone, { recursive: true, force: true });
}
