// How many experts per layer a pruning budget drops ("drop 25 % / 50 %"), one rule for every surface that offers
// budgets (the Prune Experts palette command, the Expert Importance view): the share of the experts rounded to a
// multiple of the router's expert groups (at least one per group), leaving at least the experts a token uses (top-k).
// No vscode import.

/** The budgets offered: the share of each layer's experts to drop. */
export const PRUNE_SHARES = [0.25, 0.5] as const;

export interface PruneBudget {
  /** The share asked for (0.25: "drop 25 %"). */
  share: number;
  /** Experts dropped per MoE layer: a multiple of `groups`, leaving at least `expertsPerToken`. */
  drop: number;
}

/**
 * The distinct budgets that can be applied to a model of this shape, in the order of `shares`; empty when no expert
 * can go (e.g. 2 experts used of 2). Two shares that round to the same count give one budget (the first share).
 */
export function pruneBudgets(shape: { experts: number; expertsPerToken: number; groups: number }, shares: readonly number[] = PRUNE_SHARES): PruneBudget[] {
  const groups = Math.max(1, shape.groups);
  const budgets: PruneBudget[] = [];
  for (const share of shares) {
    const drop = Math.max(groups, Math.round((shape.experts * share) / groups) * groups);
    if (drop < shape.experts && shape.experts - drop >= shape.expertsPerToken && !budgets.some((b) => b.drop === drop)) budgets.push({ share, drop });
  }
  return budgets;
}
