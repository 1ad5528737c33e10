// The weighting registry: one place that maps a spec's weighting name to its strategy.
import type { Model } from "../../model/model.ts";
import type { Weighting } from "./types.ts";
import { staticWeighting } from "./static.ts";
import { uncertaintyWeighting } from "./uncertainty.ts";
import { dwaWeighting } from "./dwa.ts";
import { glsWeighting } from "./gls.ts";
import { rlwWeighting } from "./rlw.ts";

export type { Weighting } from "./types.ts";

export function createWeighting(model: Model): Weighting {
  const { spec } = model;
  const ctx = { weights: spec.tasks.map((t) => t.weight), seed: spec.training.seed };
  switch (spec.training.weighting.type) {
    case "static":
      return staticWeighting(ctx);
    case "uncertainty": {
      const p = model.logVars!;
      const T = spec.tasks.length;
      return uncertaintyWeighting(ctx, () => model.arena.f32(model.store.addr(p, "p"), T), () => model.arena.f32(model.store.addr(p, "g"), T));
    }
    case "dwa":
      return dwaWeighting(ctx, spec.training.weighting.temperature);
    case "gls":
      return glsWeighting(ctx);
    case "rlw":
      return rlwWeighting(ctx);
  }
}
