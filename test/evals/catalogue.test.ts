// @vitest-environment happy-dom
// The metric catalogue is the one source: a group's aggregates are computed for every per-sample entry, and every
// place (groups table, comparison, samples table, score table, progress line, charts) lists its entries in order.
import { describe, expect, it } from 'vitest';
import { METRICS, SAMPLE_METRICS, metricsIn } from '../../extension/evals/metrics/catalogue';
import { compareRuns, summarizeGroup } from '../../extension/evals/aggregate';
import { scorePredictions } from '../../extension/evals/score';
import { formatProgress, scoreTable } from '../../extension/cli/eval-commands';
import { detectFailures } from '../../extension/evals/metrics/detectors';
import { handleEvalsMessage, mountEvalsView } from '../../webview/evals';
import type { LoadedRun, RunInfo, SampleRecord } from '../../extension/evals/types';

function sample(itemId: string, rougeL: number, sameTop1: number, speed: number): SampleRecord {
  const output = 'A summary of the document with enough words in it.';
  const det = detectFailures(output);
  const f = (x: number) => ({ precision: x, recall: x, fmeasure: x });
  return {
    key: `m|plain|${itemId}`,
    itemId,
    variant: 'plain',
    model: '/m/m.gguf',
    modelName: 'm',
    output,
    references: 1,
    metrics: {
      rouge: { rouge1: f(rougeL + 0.1), rouge2: f(rougeL / 2), rougeL: f(rougeL), bestReference: { rouge1: 0, rouge2: 0, rougeL: 0 } },
      summaryWords: 10,
      documentWords: 100,
      compression: 10,
      refusal: det.refusal,
      blank: det.blank,
      repetition: det.repetition,
    },
    failures: det.failures,
    speed: { timeToFirstTokenMs: 10, promptTokensPerSecond: 100, generatedTokensPerSecond: speed, promptTokens: 50, generatedTokens: 10, stopReason: 'eos', wallMs: 100 },
    routing: { tokens: 10, layers: 2, k: 2, experts: 8, loadEntropy: [0.5, 0.7], meanLoadEntropy: 0.6, sameTop1Rate: [sameTop1, sameTop1], meanSameTop1Rate: sameTop1, sameTop1Baseline: 1 / 8 },
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:01.000Z',
  };
}

const samples = [sample('a', 0.2, 0.5, 10), sample('b', 0.4, 0.25, 30), sample('c', 0.9, 0.0, 20)];

describe('metric catalogue', () => {
  it("gives a group the distribution of every per-sample metric, and the metric's group value is its mean", () => {
    const g = summarizeGroup('/m/m.gguf', 'plain', samples);
    expect(SAMPLE_METRICS).toContain('sameTop1Rate');
    for (const id of SAMPLE_METRICS) {
      const xs = samples.map((s) => METRICS[id].ofSample!(s)!);
      expect(g[id], id).toMatchObject({ n: 3, min: Math.min(...xs), max: Math.max(...xs) });
      expect(METRICS[id].ofGroup(g), id).toBeCloseTo(xs.reduce((a, b) => a + b, 0) / 3, 12);
    }
    expect(METRICS.sameTop1Rate.ofGroup(g)).toBeCloseTo(0.25, 12);
    expect(METRICS.rougeLMedian.ofGroup(g)).toBe(0.4);
  });

  it('shows the same-top-1 rate in comparisons, with no direction and no best value', () => {
    const info = { suite: { name: 's' }, models: ['/m/m.gguf'], variants: ['plain'], status: 'completed' } as unknown as RunInfo;
    const run = (id: string, xs: SampleRecord[]): LoadedRun => ({ dir: `/runs/${id}`, id, info, samples: xs, summary: { suite: 's', status: 'completed', groups: [summarizeGroup('/m/m.gguf', 'plain', xs)] } });
    const c = compareRuns([run('r1', samples), run('r2', samples.slice(0, 1))]);
    expect(c.metrics.map((m) => m.id)).toEqual(metricsIn('compare'));
    const row = c.metrics.find((m) => m.id === 'sameTop1Rate')!;
    expect(row.values[0]).toBeCloseTo(0.25, 12);
    expect(row.values[1]).toBe(0.5);
    const root = document.createElement('div');
    mountEvalsView(root, { post: () => undefined });
    handleEvalsMessage({ type: 'evals.comparison', comparison: c });
    const tr = root.querySelector('.evals-compare-table tr[data-metric="sameTop1Rate"]')!;
    expect(tr.querySelector('th')!.textContent).toBe('Same top-1 expert as the previous token (mean)');
    expect([...tr.querySelectorAll('td')].map((td) => td.textContent)).toEqual(['25%', '50%']);
    expect(tr.querySelector('.evals-best')).toBeNull();
    // Every charted metric of the catalogue has its bars in the comparison, titled by the catalogue.
    const titles = [...root.querySelectorAll('.evals-charts .evals-chart-title')].map((t) => t.textContent);
    expect(titles).toEqual(['ROUGE-L F (mean) × 100', 'Any failure rate', 'Generation speed (mean)']);
  });

  it("the CLI's score table and progress line take their columns and wording from the catalogue", () => {
    const result = scorePredictions([{ id: 'p1', prediction: 'The cat lay on the mat', references: ['The cat sat on the mat.'] }]);
    const [head] = scoreTable(result).split('\n');
    expect(head.split(/\s{2,}/)).toEqual(['id', ...metricsIn('score').map((id) => METRICS[id].short), 'failures']);
    const line = formatProgress({ kind: 'sample', done: 1, total: 3, resumed: 0, elapsedMs: 1, model: '/m/m.gguf', identity: { kind: 'local', path: '/m/m.gguf' }, variant: 'plain', itemId: 'a', sample: samples[0] });
    expect(line).toBe('[1/3] m · plain · a — ROUGE-L 20.0');
  });
});
