// The arena: TS owns wasm memory. Tensors are carved out of one linear region starting at heap_base(),
// each 16-byte aligned; memory grows only in `alloc`, and typed views are rebuilt whenever
// memory.buffer changes identity (growth detaches the old buffer). Reads return copies.
// Every Arena over the same memory shares one allocation top, so a Model and an inference session on one
// kernel instance never overlap.
import { ALIGN, PAGE } from "./abi.ts";
import type { Kernels } from "./load.ts";

/** The allocation top of each wasm memory, shared by all arenas over it. */
const tops = new WeakMap<WebAssembly.Memory, { top: number }>();

export class Arena {
  readonly memory: WebAssembly.Memory;
  readonly base: number;
  private readonly state: { top: number };
  private buf: ArrayBuffer | null = null;
  private f32v!: Float32Array;
  private i32v!: Int32Array;
  private u8v!: Uint8Array;

  constructor(kernels: Kernels) {
    this.memory = kernels.memory;
    this.base = kernels.heap_base();
    let st = tops.get(this.memory);
    if (!st) tops.set(this.memory, (st = { top: this.base }));
    this.state = st;
  }

  private get top(): number {
    return this.state.top;
  }

  private set top(v: number) {
    this.state.top = v;
  }

  /** Bytes in use above heap_base (by every arena over this memory). */
  get used(): number {
    return this.top - this.base;
  }

  /** Reserve `bytes` (rounded up to 16) and return the byte address. Contents are zeroed. */
  allocBytes(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError(`Arena.alloc: byte count ${bytes} is not a non-negative integer`);
    const ptr = (this.top + ALIGN - 1) & ~(ALIGN - 1);
    const end = ptr + Math.max(ALIGN, (bytes + ALIGN - 1) & ~(ALIGN - 1));
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE));
    this.top = end;
    this.views().u8.fill(0, ptr, end);
    return ptr;
  }

  /** Reserve `n` f32 (or i32) elements; returns the byte address. */
  alloc(n: number): number {
    return this.allocBytes(n * 4);
  }

  /** Current top; `release(mark)` frees everything allocated after it. */
  mark(): number {
    return this.top;
  }

  release(mark: number): void {
    if (mark < this.base || mark > this.top) throw new RangeError(`Arena.release: mark ${mark} outside [${this.base}, ${this.top}]`);
    this.top = mark;
  }

  private views() {
    const b = this.memory.buffer;
    if (b !== this.buf) {
      this.buf = b as ArrayBuffer;
      this.f32v = new Float32Array(b);
      this.i32v = new Int32Array(b);
      this.u8v = new Uint8Array(b);
    }
    return { f32: this.f32v, i32: this.i32v, u8: this.u8v };
  }

  /** The whole memory as f32 / i32 (element index = address / 4): valid until memory grows. No allocation. */
  heapF32(): Float32Array {
    return this.views().f32;
  }

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
