// Expert importance's noise maths on hand-made per-chunk numbers: the paired t-interval (mean ± t·sd/√n) of known
// mean and sd, Student t's critical values (table and expansion), and the hint's reason.
import { describe, expect, it } from 'vitest';
import { noiseReason, pairedInterval, tCritical95, type ImportanceNoise } from '../../../extension/engine/importance';

describe('paired interval over chunks', () => {
  it('mean ± t(0.975, n−1)·sd/√n on differences of known mean and sd', () => {
    // 1…5: mean 3, sd √2.5, t(4) = 2.776 → half-width 2.776 · 1.58114 / 2.23607 = 1.96293
    const r = pairedInterval([1, 2, 3, 4, 5]);
    expect(r.n).toBe(5);
    expect(r.mean).toBe(3);
    expect(r.low).toBeCloseTo(3 - 1.96293, 4);
    expect(r.high).toBeCloseTo(3 + 1.96293, 4);
    // two chunks, +0.1 and −0.1: mean 0, sd 0.1414, t(1) = 12.706 → ±1.2706; it contains 0
    const two = pairedInterval([0.1, -0.1]);
    expect(two.mean).toBeCloseTo(0, 12);
    expect(two.high).toBeCloseTo(1.2706, 4);
    expect(two.low).toBeCloseTo(-1.2706, 4);
    // the same change in every chunk: sd 0, a zero-width interval away from 0
    const same = pairedInterval([0.25, 0.25, 0.25, 0.25]);
    expect([same.low, same.mean, same.high]).toEqual([0.25, 0.25, 0.25]);
  });

  it('one chunk has no interval', () => {
    const one = pairedInterval([0.5]);
    expect(one.mean).toBe(0.5);
    expect(one.low).toBeNaN();
    expect(one.high).toBeNaN();
  });

  it("Student t's critical values: the table, the expansion past 30, the normal in the limit", () => {
    expect(tCritical95(1)).toBe(12.706);
    expect(tCritical95(4)).toBe(2.776);
    expect(tCritical95(30)).toBe(2.042);
    expect(tCritical95(31)).toBeCloseTo(2.0395, 3);
    expect(tCritical95(60)).toBeCloseTo(2.0003, 3);
    expect(tCritical95(1e6)).toBeCloseTo(1.96, 3);
    expect(tCritical95(0)).toBeNaN();
  });

  it("the hint's reason names few chunks and the share within noise", () => {
    const noise: ImportanceNoise = { level: 0.95, method: 't', chunks: 2, withinNoise: 40, cells: 48, moreChunks: true, suggestedChunks: 8, maxChunks: 2 };
    expect(noiseReason(noise)).toBe('only 2 chunks; 40 of 48 changes are within noise (their 95% interval contains 0)');
    expect(noiseReason({ ...noise, chunks: 16 })).toBe('40 of 48 changes are within noise (their 95% interval contains 0)');
  });
});
