// The shells' SHA-256 (test/runtimes/sha256.ts) against node:crypto, across block-boundary lengths.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { sha256 } from "./sha256.ts";
import { mulberry32 } from "../../src/data/split.ts";

test("equals node:crypto for lengths 0–300 and 100 KB", () => {
  const next = mulberry32(3);
  const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
  for (const n of [...Array.from({ length: 301 }, (_, i) => i), 100_000]) {
    const data = Uint8Array.from({ length: n }, () => next() & 255);
    assert.is(hex(sha256(data)), createHash("sha256").update(data).digest("hex"), `length ${n}`);
  }
});

test.run();
