// The Prune Experts command's argument from the Expert Importance view (or any command link) is untrusted: only
// scores of this model's shape, measured on this model file, are taken.
import { describe, expect, it } from 'vitest';
import { parseScoredPruneRequest } from '../../../extension/engine/prune-plan';

const shape = { name: 'demo', moeLayers: [0, 1], experts: 4 };
const scores = [
  [1, 2, 3, 4],
  [4, 3, 2, 1],
];
const model = '/models/demo.gguf';

describe('parseScoredPruneRequest', () => {
  it('takes nothing for no argument or an argument without scores (the palette, a menu URI)', () => {
    expect(parseScoredPruneRequest(undefined, shape, model)).toBeUndefined();
    expect(parseScoredPruneRequest({ fsPath: '/x' }, shape, model)).toBeUndefined();
  });

  it('keeps the scores, what they measure, the budget and the model file', () => {
    const r = parseScoredPruneRequest({ scores, criterion: 'REAP', source: 'a.ts', drop: 2, modelPath: '/models/./demo.gguf', extra: 1 }, shape, model);
    expect(r).toEqual({ scores, criterion: 'REAP', source: 'a.ts', drop: 2, modelPath: '/models/./demo.gguf' });
  });

  it.each([
    ['a layer too few', { scores: [scores[0]], criterion: 'REAP', source: 'a' }, /2 MoE layers × 4 experts/],
    ['an expert too many', { scores: [[...scores[0], 5], scores[1]], criterion: 'REAP', source: 'a' }, /2 MoE layers × 4 experts/],
    ['a NaN score', { scores: [[1, 2, NaN, 4], scores[1]], criterion: 'REAP', source: 'a' }, /do not match/],
    ['a string score', { scores: [['1', 2, 3, 4], scores[1]], criterion: 'REAP', source: 'a' }, /do not match/],
    ['no criterion', { scores, source: 'a' }, /do not say what they measure/],
    ['a fractional budget', { scores, criterion: 'REAP', source: 'a', drop: 1.5 }, /cannot drop 1.5/],
    ['a budget of 0', { scores, criterion: 'REAP', source: 'a', drop: 0 }, /cannot drop 0/],
    ['another model file', { scores, criterion: 'Δ perplexity', source: 'a', modelPath: '/models/other.gguf' }, /measured on other\.gguf, but the model is now demo\.gguf/],
  ])('refuses %s in words', (_what, arg, message) => {
    expect(() => parseScoredPruneRequest(arg, shape, model)).toThrow(message);
  });
});
