// The arena: alignment, growth with view rebuilding, copies on read, and one allocation top per memory.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup } from "../helpers.ts";
import { Arena } from "../../src/runtime/heap.ts";

test("allocations are 16-byte aligned, zeroed, and survive memory growth", async () => {
  const { k, arena } = await setup();
  const a = arena.alloc(3);
  assert.is(a % 16, 0);
  arena.writeF32(a, [1, 2, 3]);
  const before = k.memory.buffer.byteLength;
  const big = arena.alloc(1 << 20); // forces growth
  assert.ok(k.memory.buffer.byteLength > before);
  assert.is(big % 16, 0);
  assert.equal(Array.from(arena.readF32(a, 3)), [1, 2, 3]);
  assert.ok(arena.f32(big, 1 << 20).every((x) => x === 0));
});

test("reads are copies", async () => {
  const { arena } = await setup();
  const p = arena.putF32([5, 6]);
  const r = arena.readF32(p, 2);
  r[0] = 99;
  assert.is(arena.readF32(p, 2)[0], 5);
});

test("two arenas over one kernel instance never hand out overlapping memory", async () => {
  const { k } = await setup();
  const a = new Arena(k), b = new Arena(k);
  const pa = a.alloc(100), pb = b.alloc(100), pa2 = a.alloc(4);
  const spans = [[pa, pa + 400], [pb, pb + 400], [pa2, pa2 + 16]].sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < spans.length; i++) assert.ok(spans[i][0] >= spans[i - 1][1], `overlap: ${JSON.stringify(spans)}`);
});

test.run();
