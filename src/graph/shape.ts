// Shapes and element types of graph values (no imports: every graph and op file may use these).
/** Element type of a graph value: float32, int32 or int64. */
export type DType = "f32" | "i32" | "i64";
/** A dimension: a size, or "N", the batch size fixed when a program is compiled. */
export type Dim = number | "N";

export const DTYPE_BYTES: Record<DType, number> = { f32: 4, i32: 4, i64: 8 };

/** Elements of a shape with the batch dimension set to `batch`. */
export function numel(shape: readonly Dim[], batch: number): number {
  let n = 1;
  for (const d of shape) n *= d === "N" ? batch : d;
  return n;
}

export function dims(shape: readonly Dim[], batch: number): number[] {
  return shape.map((d) => (d === "N" ? batch : d));
}

/** Shape as text: [N, 64]. */
export function showShape(shape: readonly Dim[]): string {
  return `[${shape.join(", ")}]`;
}
