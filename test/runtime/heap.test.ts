// The arena: alignment, growth with view rebuilding, copies on read, one allocator per memory, and that
// allocator's free list: zeroing on reuse, coalescing, a shrinking top, errors, mark/release, regions.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Rng, setup } from "../helpers.ts";
import { Arena, type Region } from "../../src/runtime/heap.ts";

/** The block size the allocator uses for a request of `bytes`. */
const blockSize = (bytes: number) => Math.max(16, Math.ceil(bytes / 16) * 16);

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

test("allocation starts at heap_base", async () => {
  const { k, arena } = await setup();
  assert.is(arena.base, k.heap_base());
  assert.is(arena.alloc(1), Math.ceil(k.heap_base() / 16) * 16);
});

test("a freed block full of garbage comes back aligned and zeroed (from a hole and from above the top)", async () => {
  const { arena } = await setup();
  // From a hole: a guard above keeps the top from shrinking.
  const a = arena.alloc(37);
  const guard = arena.alloc(4);
  arena.writeI32(a, new Int32Array(37).fill(-1));
  arena.free(a);
  const a2 = arena.alloc(37);
  assert.is(a2, a, "the hole is reused");
  assert.is(a2 % 16, 0);
  assert.ok(arena.i32(a2, blockSize(37 * 4) / 4).every((x) => x === 0), "reused hole is zeroed");
  // From above the top: the highest block freed lowers the top; its bytes are garbage until reallocated.
  const t = arena.alloc(50);
  arena.writeF32(t, new Float32Array(50).fill(Math.PI));
  arena.free(t);
  const t2 = arena.allocBytes(33); // a different size over the same bytes
  assert.is(t2, t);
  assert.is(t2 % 16, 0);
  assert.ok(arena.i32(t2, blockSize(33) / 4).every((x) => x === 0), "space above the old top is zeroed");
  // Part of a larger hole (the carve path): the remainder stays free and the piece is zeroed.
  const big = arena.alloc(64);
  arena.alloc(1);
  arena.writeI32(big, new Int32Array(64).fill(0x7f7f7f7f));
  arena.free(big);
  const piece = arena.alloc(5);
  assert.is(piece, big);
  assert.ok(arena.i32(piece, blockSize(20) / 4).every((x) => x === 0));
  const rest = arena.alloc(40);
  assert.is(rest, big + blockSize(20), "the rest of the hole is reused next");
  assert.ok(arena.i32(rest, 40).every((x) => x === 0));
  void guard;
});

test("freeing three neighbours in any order coalesces them: their total fits in place without growth", async () => {
  const sizes = [24, 100, 7]; // f32 counts → 96, 400, 32 bytes
  const total = sizes.reduce((s, n) => s + blockSize(n * 4), 0);
  for (const order of [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]) {
    const { k, arena } = await setup();
    arena.alloc(3); // a live block below, so the run is not at the heap start
    const ps = sizes.map((n) => arena.alloc(n));
    arena.alloc(3); // a live block above keeps the run a hole (the top cannot absorb it)
    const bytes = k.memory.buffer.byteLength, reserved = arena.reserved, used = arena.used;
    for (const i of order) arena.free(ps[i]);
    assert.is(arena.used, used - total);
    assert.is(arena.reserved, reserved, "a hole below a live block does not lower the top");
    const q = arena.allocBytes(total);
    assert.is(q, ps[0], `order ${order}: the merged hole is reused in place`);
    assert.is(arena.reserved, reserved, `order ${order}: no bump of the top`);
    assert.is(k.memory.buffer.byteLength, bytes);
    assert.is(arena.used, used);
  }
});

test("best fit: the smallest hole that fits is used, larger ones stay whole", async () => {
  const { arena } = await setup();
  const big = arena.alloc(256), s1 = arena.alloc(1), small = arena.alloc(8), s2 = arena.alloc(1);
  arena.free(big);
  arena.free(small);
  assert.is(arena.alloc(8), small, "exact fit beats an earlier, larger hole");
  assert.is(arena.alloc(256), big, "the large hole is still whole");
  void s1, s2;
});

test("the top shrinks when the highest block is freed, swallowing the holes below it", async () => {
  const { arena } = await setup();
  assert.is(arena.used, 0);
  assert.is(arena.reserved, 0);
  const a = arena.alloc(3), b = arena.alloc(100), c = arena.allocBytes(0), d = arena.alloc(8);
  assert.is(arena.used, 16 + 400 + 16 + 32);
  assert.is(arena.reserved, 16 + 400 + 16 + 32);
  arena.free(b);
  assert.is(arena.used, 16 + 16 + 32);
  assert.is(arena.reserved, 16 + 400 + 16 + 32, "a hole does not lower the top");
  arena.free(c); // joins b's hole
  arena.free(d); // the highest block: the top drops past d, then past the b+c hole, to the end of a
  assert.is(arena.used, 16);
  assert.is(arena.reserved, 16);
  assert.is(arena.alloc(1), a + 16, "the next allocation starts right after a");
  arena.freeAll([a, a + 16]);
  assert.is(arena.used, 0);
  assert.is(arena.reserved, 0);
});

test("double free, interior, foreign and non-integer addresses throw and change nothing", async () => {
  const { arena } = await setup();
  const a = arena.alloc(10), b = arena.alloc(10), c = arena.alloc(10);
  arena.free(b);
  const used = arena.used, reserved = arena.reserved;
  assert.throws(() => arena.free(b), /not a live block.*double free/);
  assert.throws(() => arena.free(c + 64), /not a live block.*double free/); // above the top
  assert.throws(() => arena.free(a + 16), /inside the live block at/);
  assert.throws(() => arena.free(0), /below the heap/);
  assert.throws(() => arena.free(a + 0.5), /not a block address/);
  assert.throws(() => arena.freeAll([a, b]), /not a live block/);
  assert.throws(() => arena.freeAll([a, a]), /appears twice/);
  assert.is(arena.used, used, "a failed free or freeAll frees nothing");
  assert.is(arena.reserved, reserved);
  arena.free(a);
  arena.free(c);
  assert.throws(() => arena.free(c), /double free/);
  assert.is(arena.used, 0);
  assert.throws(() => arena.allocBytes(-1), RangeError);
  assert.throws(() => arena.allocBytes(1.5), RangeError);
});

test("mark/release by allocation sequence: interleaved frees and reuse of space below the mark", async () => {
  const { k } = await setup();
  const arena = new Arena(k), other = new Arena(k);
  const keep = arena.alloc(4); // before the mark: survives
  const early = arena.alloc(64); // before the mark, freed after it
  const m = arena.mark();
  const b = arena.alloc(8), c = other.alloc(8);
  arena.free(early); // a hole below the mark's addresses
  const d = arena.alloc(16); // reuses that hole: an address-based mark would miss it
  assert.is(d, early);
  arena.free(b); // freed after the mark, before release: skipped by release
  const m2 = arena.mark();
  const e = other.alloc(2);
  arena.release(m2); // nested: only e
  assert.throws(() => arena.free(e), /not a live block/);
  arena.release(m); // c (through the other arena) and d
  assert.is(arena.used, 16, "only the block from before the mark is live");
  assert.throws(() => arena.free(c), /not a live block/);
  assert.throws(() => arena.free(d), /not a live block/);
  arena.release(m); // again: nothing left to free
  assert.is(arena.used, 16);
  assert.throws(() => arena.release(arena.mark() + 1), RangeError);
  assert.throws(() => arena.release(-1), RangeError);
  arena.free(keep);
  assert.is(arena.used, 0);
  assert.is(arena.reserved, 0);
});

test("random alloc/free/release/region traffic on two arenas matches a model of the live intervals", async () => {
  const { k } = await setup();
  const arenas = [new Arena(k), new Arena(k)];
  const rng = new Rng(20240601);
  interface Live { ptr: number; size: number; tag: number; order: number; region: number }
  const live = new Map<number, Live>(); // ptr → block, the model
  let order = 0, tag = 1;
  const marks: { mark: number; order: number }[] = [];
  const regions: { r: Region; id: number }[] = [];
  let regionIds = 1;
  const heapStart = Math.ceil(k.heap_base() / 16) * 16;

  const checkInvariants = (step: number) => {
    let used = 0, maxEnd = heapStart;
    for (const b of live.values()) {
      used += b.size;
      maxEnd = Math.max(maxEnd, b.ptr + b.size);
    }
    assert.is(arenas[0].used, used, `step ${step}: used`);
    assert.is(arenas[1].reserved, maxEnd - heapStart, `step ${step}: reserved = end of the highest live block`);
  };
  const add = (via: Arena, regionId: number) => {
    const useBytes = rng.next() < 0.5;
    const bytes = rng.next() < 0.03 ? 40_000 + rng.int(300_000) : rng.int(600);
    const ptr = useBytes ? via.allocBytes(bytes) : via.alloc(bytes >> 2);
    const size = blockSize(useBytes ? bytes : (bytes >> 2) * 4);
    assert.is(ptr % 16, 0, "aligned");
    assert.ok(ptr >= heapStart, "at or above heap_base");
    for (const b of live.values()) {
      assert.ok(ptr + size <= b.ptr || b.ptr + b.size <= ptr, `overlap: [${ptr}, ${ptr + size}) with [${b.ptr}, ${b.ptr + b.size})`);
    }
    const words = via.i32(ptr, size >> 2);
    assert.ok(words.every((x) => x === 0), "zeroed");
    words.fill(tag); // garbage for whoever gets these bytes next, and a witness against overlapping writes
    live.set(ptr, { ptr, size, tag: tag++, order: order++, region: regionId });
  };
  const untag = (b: Live) => {
    assert.ok(arenas[0].i32(b.ptr, b.size >> 2).every((x) => x === b.tag), `block at ${b.ptr} was overwritten while live`);
  };

  for (let step = 0; step < 4000; step++) {
    // Phases of 500 steps that mostly allocate, then mostly free: the heap fills, then drains through its holes.
    const pAlloc = step % 1000 < 500 ? 0.7 : 0.3;
    const arena = arenas[rng.int(2)];
    const r = rng.next();
    if (live.size === 0 || rng.next() < pAlloc) {
      if (regions.length && r < 0.25) {
        const { r: region, id } = regions[rng.int(regions.length)];
        add(region, id);
      } else add(arena, 0);
    } else if (r < 0.8) {
      const all = [...live.values()];
      const b = all[rng.int(all.length)];
      untag(b);
      (b.region && rng.next() < 0.5 ? regions.find((x) => x.id === b.region)!.r : arena).free(b.ptr);
      live.delete(b.ptr);
    } else if (r < 0.84) {
      const pick = [...live.values()].filter(() => rng.next() < 0.2);
      pick.forEach(untag);
      arena.freeAll(pick.map((b) => b.ptr));
      for (const b of pick) live.delete(b.ptr);
    } else if (r < 0.89) marks.push({ mark: arena.mark(), order });
    else if (r < 0.92) {
      if (marks.length) {
        const { mark, order: o } = marks.splice(rng.int(marks.length), 1)[0];
        for (const b of [...live.values()]) if (b.order >= o) (untag(b), live.delete(b.ptr));
        arena.release(mark);
      }
    } else if (r < 0.96) regions.push({ r: arena.region(), id: regionIds++ });
    else if (regions.length) {
      const { r: region, id } = regions.splice(rng.int(regions.length), 1)[0];
      for (const b of [...live.values()]) if (b.region === id) (untag(b), live.delete(b.ptr));
      region.dispose();
    }
    checkInvariants(step);
  }
  for (const b of live.values()) untag(b);
});

test("1,000 rounds of region alloc → dispose: used returns to its start, memory stops growing after round one", async () => {
  const { k, arena } = await setup();
  const rng = new Rng(7);
  // Long-lived state around the regions: a live block, a hole, another arena's block.
  const pre = arena.alloc(1000);
  arena.alloc(10);
  arena.free(pre);
  new Arena(k).alloc(77);
  const used0 = arena.used, reserved0 = arena.reserved;
  const maxCount = 40, maxElems = 5000;
  let bytesAfterFirst = -1;
  for (let round = 0; round < 1000; round++) {
    const region = arena.region();
    // Round 0 takes the most any round can (maxCount blocks of maxElems), so later rounds fit in what it grew.
    const count = round === 0 ? maxCount : 1 + rng.int(maxCount);
    const mine: number[] = [];
    for (let i = 0; i < count; i++) {
      const n = round === 0 ? maxElems : rng.int(maxElems + 1);
      const p = rng.next() < 0.5 ? region.alloc(n) : region.putF32(new Float32Array(n).fill(round));
      mine.push(p);
      if (mine.length > 2 && rng.next() < 0.2) region.free(mine.splice(rng.int(mine.length), 1)[0]);
    }
    assert.ok(region.owned > 0 || mine.length === 0);
    region.dispose();
    assert.ok(region.disposed);
    assert.is(arena.used, used0, `round ${round}: used back at its start`);
    assert.is(arena.reserved, reserved0, `round ${round}: reserved back at its start`);
    if (round === 0) bytesAfterFirst = k.memory.buffer.byteLength;
    else assert.is(k.memory.buffer.byteLength, bytesAfterFirst, `round ${round}: memory grew`);
  }
});

test("a region frees only its own live blocks, never an address someone else now owns", async () => {
  const { k, arena } = await setup();
  const region = arena.region();
  assert.ok(region instanceof Arena, "a region is an Arena (can be passed to anything that takes one)");
  const outside = arena.alloc(4);
  const r1 = region.putF32([1, 2, 3]), r2 = region.putI32([4, 5]), r3 = region.allocBytes(100);
  assert.equal(Array.from(arena.readF32(r1, 3)), [1, 2, 3], "regions share memory and views with the arena");
  assert.is(region.owned, 16 + 16 + 112);
  // r2 freed behind the region's back and its address handed to someone else.
  arena.free(r2);
  const stranger = new Arena(k).alloc(2);
  assert.is(stranger, r2);
  region.free(r3);
  assert.is(region.owned, 16);
  region.dispose();
  assert.is(arena.used, 16 + 16, "outside and the stranger survive");
  assert.not.throws(() => arena.free(stranger));
  assert.throws(() => arena.free(r1), /not a live block/);
  assert.throws(() => region.alloc(1), /after dispose/);
  assert.not.throws(() => region.dispose(), "a second dispose is a no-op");
  arena.free(outside);
  assert.is(arena.used, 0);
  assert.is(arena.reserved, 0);
});

test.run();
