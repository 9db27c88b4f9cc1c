// The one wording of eval progress (notification and Evals tab), and the duration formatter behind it.
import { describe, expect, it } from 'vitest';
import { progressText } from '../../extension/evals/progress';
import { formatDuration } from '../../extension/format';

describe('progress text', () => {
  it('counts finished samples the same way everywhere, with what runs now and the time left', () => {
    expect(progressText({ kind: 'sample', done: 4, total: 10, resumed: 0, elapsedMs: 1, etaMs: 130_000, model: '/m/a.gguf', variant: 'plain', itemId: 'x7' })).toBe(
      '4 of 10 done · a.gguf · plain · x7 · about 2 min 10 s left',
    );
    expect(progressText({ kind: 'done', done: 10, total: 10, resumed: 2, elapsedMs: 1, etaMs: 0 })).toBe('10 of 10 done');
  });

  it('formats durations for people', () => {
    expect([45_000, 250_000, 3_900_000].map(formatDuration)).toEqual(['45 s', '4 min 10 s', '1 h 05 min']);
    expect(formatDuration(Number.NaN)).toBe('—');
  });
});
