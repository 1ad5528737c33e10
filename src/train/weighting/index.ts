// The weighting registry: one place that maps a spec's weighting name to its strategy.
import type { Model } from "../../model/model.ts";
import type { Weighting, WeightingContext } from "./types.ts";
import { staticWeighting } from "./static.ts";
import { uncertaintyWeighting } from "./uncertainty.ts";
import { dwaWeighting } from "./dwa.ts";
import { glsWeighting } from "./gls.ts";
import { rlwWeighting } from "./rlw.ts";
import { famoWeighting } from "./famo.ts";
import { stchWeighting } from "./stch.ts";
import { gradnormWeighting } from "./gradnorm.ts";
import { mgdaWeighting } from "./mgda.ts";
import { pcgradWeighting } from "./pcgrad.ts";
import { cagradWeighting } from "./cagrad.ts";
import { imtlWeighting } from "./imtl.ts";
import { alignedMtlWeighting } from "./aligned-mtl.ts";
import { nashMtlWeighting } from "./nash-mtl.ts";
import { upgradWeighting } from "./upgrad.ts";
import { graddropWeighting } from "./graddrop.ts";
import { gradvacWeighting } from "./gradvac.ts";
import { dbMtlWeighting } from "./db-mtl.ts";

export type { Weighting } from "./types.ts";

export function createWeighting(model: Model): Weighting {
  const { spec } = model;
  const region = model.arena.region();
  const ctx: WeightingContext = { weights: spec.tasks.map((t) => t.weight), seed: spec.training.seed, options: spec.training.weighting, k: model.k, region };
  const T = spec.tasks.length;
  const own = (p: NonNullable<Model["logVars"]>) => [() => model.arena.f32(model.store.addr(p, "p"), T), () => model.arena.f32(model.store.addr(p, "g"), T)] as const;
  const w = ((): Weighting => {
    switch (spec.training.weighting.type) {
      case "static":
        return staticWeighting(ctx);
      case "uncertainty":
        return uncertaintyWeighting(ctx, ...own(model.logVars!));
      case "dwa":
        return dwaWeighting(ctx, spec.training.weighting.temperature);
      case "gls":
        return glsWeighting(ctx);
      case "rlw":
        return rlwWeighting(ctx);
      case "famo":
        return famoWeighting(ctx);
      case "stch":
        return stchWeighting(ctx);
      case "gradnorm":
        return gradnormWeighting(ctx, ...own(model.gradnormLogits!));
      case "mgda":
        return mgdaWeighting(ctx);
      case "pcgrad":
        return pcgradWeighting(ctx);
      case "cagrad":
        return cagradWeighting(ctx);
      case "imtl":
        return imtlWeighting(ctx);
      case "aligned_mtl":
        return alignedMtlWeighting(ctx);
      case "nash_mtl":
        return nashMtlWeighting(ctx);
      case "upgrad":
        return upgradWeighting(ctx);
      case "graddrop":
        return graddropWeighting(ctx);
      case "gradvac":
        return gradvacWeighting(ctx);
      case "db_mtl":
        return dbMtlWeighting(ctx);
    }
  })();
  const dispose = w.dispose;
  return { ...w, dispose: () => (dispose?.call(w), region.dispose()) };
}
