// The architecture registry: each architecture turns the input features into one shared representation per
// task (what that task's tower reads), adding its nodes and parameters to the graph.
import type { Graph, Value } from "../graph/graph.ts";
import type { Architecture as ArchSpec, ArchitectureType, Task } from "../model/spec.ts";
import { hps } from "./hps.ts";
import { mmoe } from "./mmoe.ts";
import { cgc } from "./cgc.ts";
import { ple } from "./ple.ts";
import { crossStitch } from "./cross-stitch.ts";
import { dselectK } from "./dselect-k.ts";

export interface Architecture {
  type: ArchitectureType;
  /** The per-task representations, in task order. */
  build(g: Graph, x: Value, a: ArchSpec, tasks: readonly Task[]): Value[];
}

export const ARCHITECTURES: Record<ArchitectureType, Architecture> = { hps, mmoe, cgc, ple, cross_stitch: crossStitch, dselect_k: dselectK };
