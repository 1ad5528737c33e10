// The streaming train/validation split: a row is a validation row when a seeded hash of its content falls below the
// validation fraction. A function of the row's cells (every column but data.row_id), the seed and the fraction only:
// identical rows land on one side (as splitRows guarantees in memory), the split needs no pass over the file and no
// memory, and it is the same in every pass and every runtime (32-bit integer arithmetic with Math.imul). Portable.

/**
 * A 53-bit hash in [0, 1) of the cells `fields` (skipping index `skip`, −1 for none) under `seed`: cyrb53 over the
 * cells' UTF-16 code units, each cell followed by a separator so ["ab", "c"] and ["a", "bc"] differ.
 */
export function rowHash(fields: readonly string[], seed: number, skip = -1): number {
  let h1 = 0xdeadbeef ^ (seed >>> 0), h2 = 0x41c6ce57 ^ (seed >>> 0);
  for (let j = 0; j < fields.length; j++) {
    if (j === skip) continue;
    const s = fields[j];
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 2654435761);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
    h1 = Math.imul(h1 ^ 0x1f, 2654435761);
    h2 = Math.imul(h2 ^ 0x1f, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)) / 9007199254740992;
}

/** Decides each row's side; `columns` are the stream's, `rowId` (data.row_id) is left out of the hash. */
export function hashSplit(columns: readonly string[], fraction: number, seed: number, rowId?: string | null, name = "data"): (fields: readonly string[]) => boolean {
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`${name}: the validation fraction must be in [0, 1), got ${fraction}`);
  const skip = rowId ? columns.indexOf(rowId) : -1;
  if (rowId && skip < 0) throw new Error(`${name}: data.row_id names column ${JSON.stringify(rowId)}, which the file does not have (columns: ${columns.map((c) => JSON.stringify(c)).join(", ")})`);
  return (fields) => fraction > 0 && rowHash(fields, seed, skip) < fraction;
}
