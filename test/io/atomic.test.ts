import { test } from "uvu";
import * as assert from "uvu/assert";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic, writeFileAtomicSync } from "../../src/io/atomic.ts";

const dir = mkdtempSync(join(tmpdir(), "mtl-atomic-"));
const target = join(dir, "model.safetensors");
const OLD = Buffer.from("old contents \u0000\u00ff", "latin1");

function reset(): void {
  for (const f of readdirSync(dir)) rmSync(join(dir, f), { force: true, recursive: true });
  writeFileSync(target, OLD);
}

const listing = () => readdirSync(dir).sort();

test("success replaces the file; no temp files left", async () => {
  reset();
  await writeFileAtomic(target, new Uint8Array([1, 2, 3]));
  assert.equal([...readFileSync(target)], [1, 2, 3]);
  await writeFileAtomic(target, "text ✓");
  assert.is(readFileSync(target, "utf8"), "text ✓");
  await writeFileAtomic(target, (async function* () {
    yield "a";
    yield new Uint8Array([98]);
  })());
  assert.is(readFileSync(target, "utf8"), "ab");
  writeFileAtomicSync(target, "sync");
  assert.is(readFileSync(target, "utf8"), "sync");
  assert.equal(listing(), ["model.safetensors"]);
  await writeFileAtomic(join(dir, "new.bin"), new Uint8Array(100000).fill(7));
  assert.is(readFileSync(join(dir, "new.bin")).length, 100000);
});

test("data that throws mid-way leaves the old file byte-identical and no temp file", async () => {
  reset();
  const failing = (async function* () {
    yield new Uint8Array(70000).fill(1);
    yield "more";
    throw new Error("generator broke");
  })();
  try {
    await writeFileAtomic(target, failing);
    assert.unreachable("expected an error");
  } catch (e) {
    assert.is((e as Error).message, "generator broke");
  }
  assert.ok(readFileSync(target).equals(OLD));
  assert.equal(listing(), ["model.safetensors"]);
  // A sync iterable failing too.
  const sync = function* () {
    yield "x";
    throw new Error("sync broke");
  };
  try {
    await writeFileAtomic(target, sync());
    assert.unreachable("expected an error");
  } catch (e) {
    assert.is((e as Error).message, "sync broke");
  }
  assert.ok(readFileSync(target).equals(OLD));
  assert.equal(listing(), ["model.safetensors"]);
});

test("missing directory: rejects, nothing created", async () => {
  reset();
  const bad = join(dir, "no-such-dir", "f.bin");
  try {
    await writeFileAtomic(bad, "x");
    assert.unreachable("expected an error");
  } catch (e) {
    assert.is((e as NodeJS.ErrnoException).code, "ENOENT");
  }
  assert.throws(() => writeFileAtomicSync(bad, "x"), /ENOENT/);
  assert.equal(listing(), ["model.safetensors"]);
});

test("rename failure (target is a directory) leaves it intact and removes the temp file", async () => {
  reset();
  const d = join(dir, "adir");
  mkdirSync(join(d, "inner"), { recursive: true });
  try {
    await writeFileAtomic(d, "x");
    assert.unreachable("expected an error");
  } catch (e) {
    assert.ok(["EISDIR", "ENOTEMPTY", "EEXIST", "EPERM"].includes((e as NodeJS.ErrnoException).code ?? ""), String(e));
  }
  assert.throws(() => writeFileAtomicSync(d, "x"));
  assert.ok(statSync(d).isDirectory());
  assert.equal(listing(), ["adir", "model.safetensors"]);
});

test("permission bits of an existing file are kept", async () => {
  if (process.platform === "win32") return;
  reset();
  chmodSync(target, 0o640);
  await writeFileAtomic(target, "y");
  assert.is(statSync(target).mode & 0o777, 0o640);
  writeFileAtomicSync(target, "z");
  assert.is(statSync(target).mode & 0o777, 0o640);
});

test("cleanup", () => {
  rmSync(dir, { recursive: true, force: true });
});

test.run();
