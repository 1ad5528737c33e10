// The arena: TS owns wasm memory. Tensors are carved out of one linear region starting at heap_base(),
// each 16-byte aligned and zeroed; memory grows only when no free block fits, and typed views are rebuilt
// whenever memory.buffer changes identity (growth detaches the old buffer). Reads return copies.
//
// Every Arena over the same memory shares one allocator, so a Model and an inference session on one kernel
// instance never overlap. The allocator keeps no headers in wasm memory (the kernels never allocate, so all
// bookkeeping lives in JS):
//   - `live`: Map from block address to { size, seq }. Sizes are multiples of 16 (at least 16); `seq` is the
//     allocation's sequence number on this memory, strictly increasing, never reused.
//   - `holes`: the free blocks below the top, sorted by address, coalesced (no two touch) and never touching
//     the top: freeing the highest block moves the top down to the end of the next live block.
//     So `top` is always the end of the highest live block (or the heap start when nothing is live).
//   - allocation is best-fit over the holes (smallest hole that fits, lowest address on ties, stopping at an
//     exact fit), carving from the hole's start; only when no hole fits does the top move up (growing memory
//     if needed). Best-fit costs the same O(holes) scan as first-fit here and keeps large holes whole for
//     large tensors, which is what keeps a compile → dispose → compile cycle from growing memory.
//   - free is a binary search plus a splice: O(holes). Nothing here runs per training step.
// mark()/release(mark) work on sequence numbers, not addresses, so they stay right when freed space is
// reused: release(mark) frees every block still live whose allocation came after the mark.
import { ALIGN, PAGE } from "./abi.ts";
import type { Kernels } from "./load.ts";

interface Block {
  size: number;
  seq: number;
}

interface Hole {
  start: number;
  end: number;
}

// Arithmetic, not `& ~15`: the same below 2³¹, and a request of gigabytes is not wrapped to a small size.
const roundUp = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/** The most a wasm32 memory can hold: 65,536 pages of 64 KiB (4 GiB). */
export const MAX_MEMORY_BYTES = 65536 * PAGE;

/** Bytes as text: 540 MB, 5.3 GB, 12.5 kB; small exact multiples of GiB / MiB / KiB in binary units (4 GiB, 64 KiB). */
export function formatBytes(n: number): string {
  for (const [unit, size] of [["GiB", 2 ** 30], ["MiB", 2 ** 20], ["KiB", 2 ** 10]] as const) if (n >= size && n % size === 0 && n / size < 1024) return `${n / size} ${unit}`;
  for (const [unit, size] of [["GB", 1e9], ["MB", 1e6], ["kB", 1e3]] as const) if (n >= size) return `${(n / size).toFixed(n >= 100 * size ? 0 : 1)} ${unit}`;
  return `${n} B`;
}

/** One wasm memory's allocator, shared by every Arena over it. */
class Allocator {
  /** First usable address: heap_base rounded up to 16. */
  readonly start: number;
  /** End of the highest live block (or `start`). */
  top: number;
  /** The sequence number the next allocation gets (= allocations made so far). */
  seq = 0;
  /** Sum of live block sizes. */
  liveBytes = 0;
  /** Live blocks by address. Insertion order is allocation order (a reused address was deleted first). */
  readonly live = new Map<number, Block>();
  /** Free blocks below `top`, sorted by start, coalesced, none ending at `top`. */
  readonly holes: Hole[] = [];

  constructor(
    readonly memory: WebAssembly.Memory,
    base: number,
  ) {
    this.start = this.top = roundUp(base);
  }

  alloc(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError(`Arena.alloc: byte count ${bytes} is not a non-negative integer`);
    const size = Math.max(ALIGN, roundUp(bytes));
    const holes = this.holes;
    let best = -1;
    let bestLen = Infinity;
    for (let i = 0; i < holes.length; i++) {
      const len = holes[i].end - holes[i].start;
      if (len >= size && len < bestLen) {
        best = i;
        bestLen = len;
        if (len === size) break;
      }
    }
    let ptr: number;
    if (best >= 0) {
      const h = holes[best];
      ptr = h.start;
      if (bestLen === size) holes.splice(best, 1);
      else h.start += size;
    } else {
      ptr = this.top;
      const end = ptr + size;
      const have = this.memory.buffer.byteLength;
      if (end > have) this.grow(size, end, have); // throws before any state changes
      this.top = end;
    }
    // Always zero: holes and the space above a shrunk top hold whatever their last owner wrote.
    new Uint8Array(this.memory.buffer, ptr, size).fill(0);
    this.live.set(ptr, { size, seq: this.seq++ });
    this.liveBytes += size;
    return ptr;
  }

  /** Grow memory to hold `end` bytes for a request of `size`; a failure names the request and the current size. */
  private grow(size: number, end: number, have: number): void {
    const pages = Math.ceil((end - have) / PAGE);
    const fail = (why: string) =>
      new RangeError(
        `Arena: cannot allocate ${formatBytes(size)} (${size} bytes): wasm memory is ${formatBytes(have)} (${have / PAGE} pages, ${formatBytes(this.liveBytes)} live) and would have to grow by ${pages} pages to ${formatBytes(have + pages * PAGE)}; ${why}`,
      );
    if (have + pages * PAGE > MAX_MEMORY_BYTES) throw fail(`that is above the wasm32 limit of ${formatBytes(MAX_MEMORY_BYTES)}`);
    try {
      this.memory.grow(pages);
    } catch (e) {
      throw fail(`the engine refused to grow it (${(e as Error).message})`);
    }
  }

  /** Throw unless `ptr` is the address of a live block; returns the block. */
  check(ptr: number, who: string): Block {
    const b = this.live.get(ptr);
    if (b) return b;
    throw new Error(`${who}: ${this.describe(ptr)}`);
  }

  /** Why `ptr` is not a live block (the error path only: O(live + holes)). */
  private describe(ptr: number): string {
    if (typeof ptr !== "number" || !Number.isInteger(ptr)) return `${String(ptr)} is not a block address (expected an integer returned by alloc)`;
    if (ptr < this.start) return `address ${ptr} is below the heap (heap starts at ${this.start}); it was never returned by alloc`;
    if (ptr >= this.top) return `address ${ptr} is not a live block: it is free (at or above the top ${this.top}) — a double free, or never allocated`;
    for (const h of this.holes) {
      if (ptr >= h.start && ptr < h.end) return `address ${ptr} is not a live block: it lies in free space [${h.start}, ${h.end}) — a double free, or never allocated`;
    }
    for (const [p, b] of this.live) {
      if (ptr > p && ptr < p + b.size) return `address ${ptr} points inside the live block at ${p} (${b.size} bytes); free takes the address alloc returned`;
    }
    return `address ${ptr} is not a live block`;
  }

  free(ptr: number, who = "Arena.free"): void {
    const b = this.check(ptr, who);
    this.live.delete(ptr);
    this.liveBytes -= b.size;
    const end = ptr + b.size;
    const holes = this.holes;
    // i = first hole starting after ptr.
    let lo = 0;
    let hi = holes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (holes[mid].start < ptr) lo = mid + 1;
      else hi = mid;
    }
    const i = lo;
    const left = i > 0 && holes[i - 1].end === ptr ? holes[i - 1] : null;
    if (end === this.top) {
      // The highest block: the top comes down, swallowing the hole just below it (holes never touch the top).
      if (left) {
        this.top = left.start;
        holes.splice(i - 1, 1);
      } else this.top = ptr;
      return;
    }
    const right = i < holes.length && holes[i].start === end ? holes[i] : null;
    if (left && right) {
      left.end = right.end;
      holes.splice(i, 1);
    } else if (left) left.end = end;
    else if (right) right.start = ptr;
    else holes.splice(i, 0, { start: ptr, end });
  }

  /** Free several blocks, all or nothing: every address is checked (and duplicates refused) before any is freed. */
  freeAll(ptrs: Iterable<number>, who = "Arena.freeAll"): void {
    const list = Array.from(ptrs);
    const seen = new Set<number>();
    for (const p of list) {
      this.check(p, who);
      if (seen.has(p)) throw new Error(`${who}: address ${p} appears twice in the list`);
      seen.add(p);
    }
    // Highest first: each free then lowers the top instead of making a hole.
    list.sort((a, b) => b - a);
    for (const p of list) this.free(p, who);
  }

  release(mark: number): void {
    if (!Number.isInteger(mark) || mark < 0 || mark > this.seq) {
      throw new RangeError(`Arena.release: mark ${mark} is not a value mark() returned (expected an integer in [0, ${this.seq}])`);
    }
    const doomed: number[] = [];
    for (const [p, b] of this.live) if (b.seq >= mark) doomed.push(p);
    for (let j = doomed.length - 1; j >= 0; j--) this.free(doomed[j], "Arena.release");
  }
}

/** The allocator of each wasm memory, shared by all arenas over it. */
const allocators = new WeakMap<WebAssembly.Memory, Allocator>();

/**
 * Allocation of 16-byte-aligned, zeroed blocks in a kernel instance's memory, and typed views and copies of them
 * (see the file header). Every Arena over the same memory shares one allocator; `region()` makes one that frees
 * what it allocated on `dispose()`. Addresses are in bytes, counts in elements.
 */
export class Arena {
  /** The kernel instance's memory. */
  readonly memory: WebAssembly.Memory;
  /** heap_base(): the first byte above the kernels' static data. */
  readonly base: number;
  /** The allocator shared by every arena over `memory`. */
  protected readonly heap: Allocator;
  private readonly kernels: Kernels;
  private buf: ArrayBuffer | null = null;
  private f32v!: Float32Array;
  private i32v!: Int32Array;

  constructor(kernels: Kernels) {
    this.kernels = kernels;
    this.memory = kernels.memory;
    this.base = kernels.heap_base();
    let a = allocators.get(this.memory);
    if (!a) allocators.set(this.memory, (a = new Allocator(this.memory, this.base)));
    this.heap = a;
  }

  /** Live bytes above heap_base (block sizes, each rounded up to 16), by every arena over this memory. */
  get used(): number {
    return this.heap.liveBytes;
  }

  /** Bytes between heap_base and the top: the extent in use, holes included (`reserved − used` is free holes). */
  get reserved(): number {
    return this.heap.top - this.heap.start;
  }

  /** Reserve `bytes` (rounded up to 16, at least 16) and return the byte address. Contents are zeroed. */
  allocBytes(bytes: number): number {
    return this.heap.alloc(bytes);
  }

  /** Reserve `n` f32 (or i32) elements; returns the byte address. */
  alloc(n: number): number {
    return this.allocBytes(n * 4);
  }

  /**
   * Return a block to the allocator (any arena over this memory may free any block). Throws, changing
   * nothing, when `ptr` is not the address of a live block: a double free, an interior or foreign address.
   * (A double free after the address was handed out again cannot be told apart: it frees the new block —
   * owners that must be safe against that use `region()`.)
   */
  free(ptr: number): void {
    this.heap.free(ptr);
  }

  /** Free every address in `ptrs`, all or nothing (each must be a live block, none repeated). */
  freeAll(ptrs: Iterable<number>): void {
    this.heap.freeAll(ptrs);
  }

  /**
   * A mark for `release`: the sequence number the next allocation on this memory will get (from any arena).
   * Marks are allocation counts, not addresses, so they stay meaningful when freed space is reused.
   */
  mark(): number {
    return this.heap.seq;
  }

  /**
   * Free every block allocated on this memory (through any arena) after `mark` was taken and still live.
   * Blocks allocated before the mark are untouched, wherever they sit; blocks already freed are skipped.
   * Marks may be released in any order and more than once.
   */
  release(mark: number): void {
    this.heap.release(mark);
  }

  /**
   * A child arena that records every block allocated through it; `dispose()` frees them all. It is an Arena
   * (same memory, same allocator, same views), so it can be handed to anything that takes one. Blocks are
   * recorded with their sequence number, so `dispose()` never frees a block that was freed elsewhere (by
   * `free` or `release`) and whose address now belongs to someone else.
   */
  region(): Region {
    return new Region(this.kernels);
  }

  private views() {
    const b = this.memory.buffer;
    if (b !== this.buf) {
      this.buf = b as ArrayBuffer;
      this.f32v = new Float32Array(b);
      this.i32v = new Int32Array(b);
    }
    return { f32: this.f32v, i32: this.i32v };
  }

  /** The whole memory as f32 / i32 (element index = address / 4): valid until memory grows. No allocation. */
  heapF32(): Float32Array {
    return this.views().f32;
  }

  /** The whole memory as i32 (element index = address / 4): valid until memory grows. No allocation. */
  heapI32(): Int32Array {
    return this.views().i32;
  }

  /** A live Float32Array view of n elements at ptr: valid until memory grows. */
  f32(ptr: number, n: number): Float32Array {
    return this.views().f32.subarray(ptr >>> 2, (ptr >>> 2) + n);
  }

  /** A live Int32Array view of n elements at ptr: valid until memory grows. */
  i32(ptr: number, n: number): Int32Array {
    return this.views().i32.subarray(ptr >>> 2, (ptr >>> 2) + n);
  }

  /** Copy numbers into f32 memory at ptr. */
  writeF32(ptr: number, data: ArrayLike<number>): void {
    this.views().f32.set(data, ptr >>> 2);
  }

  /** Copy integers into i32 memory at ptr. */
  writeI32(ptr: number, data: ArrayLike<number>): void {
    this.views().i32.set(data, ptr >>> 2);
  }

  /** Allocate and fill: returns the byte address. */
  putF32(data: ArrayLike<number>): number {
    const p = this.alloc(data.length);
    this.writeF32(p, data);
    return p;
  }

  /** Allocate and fill with integers: returns the byte address. */
  putI32(data: ArrayLike<number>): number {
    const p = this.alloc(data.length);
    this.writeI32(p, data);
    return p;
  }

  /** A copy of n f32 at ptr. */
  readF32(ptr: number, n: number): Float32Array {
    return this.f32(ptr, n).slice();
  }
}

/**
 * An arena that owns what it allocates (see `Arena.region`): `alloc`, `allocBytes`, `putF32`, `putI32` record
 * each block, `free` forgets it, and `dispose()` frees every recorded block still live. After `dispose()` the
 * region refuses to allocate; a second `dispose()` does nothing. A region made from a region is independent.
 */
export class Region extends Arena {
  /** Address → sequence number of the allocation made there through this region. */
  private readonly blocks = new Map<number, number>();
  private isDisposed = false;

  override allocBytes(bytes: number): number {
    if (this.isDisposed) throw new Error("Arena region: allocation after dispose()");
    const p = this.heap.alloc(bytes);
    this.blocks.set(p, this.heap.live.get(p)!.seq);
    return p;
  }

  override free(ptr: number): void {
    this.heap.free(ptr);
    this.blocks.delete(ptr);
  }

  override freeAll(ptrs: Iterable<number>): void {
    const list = Array.from(ptrs);
    this.heap.freeAll(list);
    for (const p of list) this.blocks.delete(p);
  }

  /** Whether `dispose()` has run. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /** Live bytes of the blocks this region still owns. */
  get owned(): number {
    let n = 0;
    for (const [p, seq] of this.blocks) {
      const b = this.heap.live.get(p);
      if (b && b.seq === seq) n += b.size;
    }
    return n;
  }

  /** Free every block this region allocated that is still live (and still the same allocation). */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    const mine: number[] = [];
    for (const [p, seq] of this.blocks) if (this.heap.live.get(p)?.seq === seq) mine.push(p);
    this.blocks.clear();
    this.heap.freeAll(mine, "Arena region dispose");
  }
}
