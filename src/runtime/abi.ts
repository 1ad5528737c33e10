/** Must equal assembly/abi.ts ABI_VERSION; checked when a module is loaded. */
export const ABI_VERSION = 2;
/** Byte alignment of every tensor in the arena (one v128). */
export const ALIGN = 16;
/** Bytes in one WebAssembly memory page. */
export const PAGE = 65536;
