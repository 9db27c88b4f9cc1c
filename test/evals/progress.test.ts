// The one wording of eval progress (notification and Evals tab), and the duration formatter behind it.
import { describe, expect, it } from 'vitest';
import { EtaEstimator, progressText } from '../../extension/evals/progress';
import { formatDuration } from '../../extension/format';

describe('progress text', () => {
  it('counts finished samples the same way everywhere, with what runs now and the time left', () => {
    const local = { kind: 'local', path: '/m/a.gguf' } as const;
    expect(progressText({ kind: 'sample', done: 4, total: 10, resumed: 0, elapsedMs: 1, etaMs: 130_000, model: '/m/a.gguf', identity: local, variant: 'plain', itemId: 'x7' })).toBe(
      '4 of 10 done · a · plain · x7 · about 2 min 10 s left',
    );
    // A server's model by its identity's short name (llama-server's id is the file's path); the key is not read.
    const llama = { kind: 'server', endpoint: 'http://127.0.0.1:8080', model: '/srv/models/demo-moe.gguf' } as const;
    expect(progressText({ kind: 'sample', done: 1, total: 2, resumed: 0, elapsedMs: 1, model: 'key', identity: llama, variant: 'plain' })).toBe('1 of 2 done · demo-moe · plain');
    const qwen = { kind: 'server', endpoint: 'https://gpu.example:8000', model: 'Qwen/Qwen3-30B-A3B' } as const;
    expect(progressText({ kind: 'sample', done: 1, total: 2, resumed: 0, elapsedMs: 1, model: 'key', identity: qwen, variant: 'plain' })).toBe('1 of 2 done · Qwen3-30B-A3B · plain');
    // The server's first model (no model id) is "default".
    expect(progressText({ kind: 'model', done: 0, total: 2, resumed: 0, elapsedMs: 1, model: 'key', identity: { ...qwen, model: '' } })).toBe('0 of 2 done · default');
    expect(progressText({ kind: 'done', done: 10, total: 10, resumed: 2, elapsedMs: 1, etaMs: 0 })).toBe('10 of 10 done');
  });

  it('formats durations for people', () => {
    expect([45_000, 250_000, 3_900_000].map(formatDuration)).toEqual(['45 s', '4 min 10 s', '1 h 05 min']);
    expect(formatDuration(Number.NaN)).toBe('—');
  });

  it('time left follows the documents still to do, so it does not jump when long and short ones alternate', () => {
    const sizes = [8000, 500, 9000, 400, 7000, 600, 8500, 300, 7500, 450];
    const time = (chars: number) => 200 + 0.5 * chars;
    const eta = new EtaEstimator(sizes.reduce((a, b) => a + b, 0), sizes.length);
    expect(eta.estimate()).toBeUndefined();
    const estimates: number[] = [];
    sizes.forEach((size, i) => {
      eta.finished(size, time(size));
      const truth = sizes.slice(i + 1).reduce((sum, s) => sum + time(s), 0);
      const e = eta.estimate()!;
      estimates.push(e);
      // From two different sizes on, the fit is exact for time linear in size; a mean per sample is not.
      if (i >= 1) expect(Math.abs(e - truth)).toBeLessThanOrEqual(0.01 * truth + 1);
    });
    for (let i = 2; i < estimates.length; i++) expect(estimates[i]).toBeLessThanOrEqual(estimates[i - 1]);
    expect(estimates.at(-1)).toBe(0);
  });

  it('a failed sample counts as done but its time is not used', () => {
    const eta = new EtaEstimator(3000, 3);
    eta.finished(1000, undefined);
    expect(eta.estimate()).toBeUndefined();
    eta.finished(1000, 2000);
    expect(eta.estimate()).toBe(2000);
  });
});
