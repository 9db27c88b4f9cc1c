// The pruning budgets offered (drop 25 % / 50 % of the experts per layer): a multiple of the router's expert groups,
// at least one per group, leaving at least the experts a token uses; budgets that round alike are offered once.
import { describe, expect, it } from 'vitest';
import { pruneBudgets } from '../../../extension/engine/prune-budget';

const drops = (experts: number, expertsPerToken: number, groups = 1) => pruneBudgets({ experts, expertsPerToken, groups }).map((b) => b.drop);

describe('pruneBudgets', () => {
  it('drops a quarter and a half of the experts, each with its share', () => {
    expect(pruneBudgets({ experts: 8, expertsPerToken: 2, groups: 1 })).toEqual([
      { share: 0.25, drop: 2 },
      { share: 0.5, drop: 4 },
    ]);
    expect(drops(128, 8)).toEqual([32, 64]);
  });

  it('never leaves fewer experts than top-k', () => {
    expect(drops(8, 6)).toEqual([2]);
    expect(drops(8, 7)).toEqual([]);
    expect(drops(2, 2)).toEqual([]);
  });

  it('rounds tiny expert counts to at least one expert, and never drops them all', () => {
    expect(drops(3, 1)).toEqual([1, 2]);
    expect(drops(2, 1)).toEqual([1]);
    expect(drops(1, 1)).toEqual([]);
  });

  it('drops a multiple of the expert groups, at least one per group', () => {
    expect(drops(64, 6, 8)).toEqual([16, 32]);
    // 25 % and 50 % of 16 both round to one per group: offered once
    expect(pruneBudgets({ experts: 16, expertsPerToken: 2, groups: 8 })).toEqual([{ share: 0.25, drop: 8 }]);
    // one per group would drop every expert
    expect(drops(4, 1, 4)).toEqual([]);
  });
});
