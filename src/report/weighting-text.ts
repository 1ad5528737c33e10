// What a weighting strategy's per-task "weight" (the scale of the task's loss, as steps.csv logs it) means, for the
// axis label and caption of the weights chart (the report and the demo page). Portable: no DOM, no node:*.

/** The weights chart's y-axis label: the scale as the method defines it. */
export function weightAxis(type: string): string {
  return type === "uncertainty" ? "1/(2σ²)" : "weight";
}

/** One or two sentences on what the scale is and how to read its level. */
export function weightCaption(type: string): string {
  switch (type) {
    case "uncertainty":
      return (
        "Uncertainty weighting (Kendall et al. 2018) scales task t's loss by 1/(2σ_t²), σ_t² learnt with the network " +
        "(plus a log σ_t term in the objective). σ_t² settles at the task's loss, so the scale is about 1/(2·loss): " +
        "it climbs as a loss falls (a loss of 0.01 gets about 50), which is the task being fitted, not preferred. " +
        "Plotted is that scale, the factor the loss is multiplied by (σ_t = 1/√(2·scale))."
      );
    case "static":
      return "Static weighting: the spec's fixed weight of each task (1 unless set).";
    case "dwa":
      return "Dynamic Weight Average (Liu et al. 2019): T·softmax of each loss's ratio over the two previous epochs (temperature τ); 1 for the first two epochs, constant within an epoch.";
    case "gls":
      return "Geometric loss strategy: the objective is the geometric mean of the losses; a task's scale is its gradient factor L/(T·L_t), larger for the task with the smaller loss.";
    case "rlw":
      return "Random loss weighting (Lin et al. 2022): a fresh softmax of Gaussian draws at every step, so per-step scales are noise around 1/T; the per-epoch mean is the line to read.";
    default:
      return `The scale the weighting strategy (${type}) gave each task's loss at each step.`;
  }
}
