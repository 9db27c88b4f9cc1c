// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { mountEvalsView, handleEvalsMessage } from '../../webview/evals';
import type { LoadedRun, SampleRecord, RunComparison } from '../../extension/evals/types';
import { METRICS } from '../../extension/evals/metrics/catalogue';
import { computeSummary } from '../../extension/evals/aggregate';
import { DEFAULT_GENERATION, DEFAULT_LONG_INPUT, DEFAULT_METRICS } from '../../extension/evals/suite';
import { detectFailures } from '../../extension/evals/metrics/detectors';

const EVIL = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';

function sample(itemId: string, model: string, rougeL: number, output: string): SampleRecord {
  const det = detectFailures(output);
  return {
    key: `${model}|plain|${itemId}`,
    itemId,
    variant: 'plain',
    model: `/m/${model}.gguf`,
    modelName: model,
    output,
    references: 1,
    metrics: {
      rouge: {
        rouge1: { precision: rougeL, recall: rougeL, fmeasure: rougeL },
        rouge2: { precision: rougeL / 2, recall: rougeL / 2, fmeasure: rougeL / 2 },
        rougeL: { precision: rougeL, recall: rougeL, fmeasure: rougeL },
        bestReference: { rouge1: 0, rouge2: 0, rougeL: 0 },
      },
      summaryWords: output.split(/\s+/).length,
      documentWords: 100,
      refusal: det.refusal,
      blank: det.blank,
      repetition: det.repetition,
    },
    failures: det.failures,
    speed: { timeToFirstTokenMs: 10, promptTokensPerSecond: 100, generatedTokensPerSecond: 20, promptTokens: 50, generatedTokens: 10, stopReason: 'eos', wallMs: 100 },
    strategy: { strategy: 'truncate-middle', documentTokens: 900, promptTokens: 500, budgetTokens: 500, tokensDropped: 400 },
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:01.000Z',
  };
}

function loadedRun(): LoadedRun {
  const samples = [
    sample('b-item', 'alpha', 0.4, 'A fine summary of the second document with enough words.'),
    sample('a-item', 'alpha', 0.7, `A summary quoting ${EVIL} from the document, long enough.`),
    sample('c-item', 'alpha', 0.1, "I'm sorry, but I can't summarize this document."),
  ];
  const info = {
    version: 1 as const,
    suite: { name: 'demo', path: '/s.yaml', items: 3, itemsFiles: [] },
    models: ['/m/alpha.gguf'],
    variants: ['plain'],
    mode: 'chat' as const,
    generation: DEFAULT_GENERATION,
    longInput: DEFAULT_LONG_INPUT,
    metrics: DEFAULT_METRICS,
    fingerprint: '',
    startedAt: '2026-01-01T00:00:00.000Z',
    status: 'completed' as const,
    samples: { total: 3, done: 3, errors: 0, resumed: 0 },
  };
  return { dir: '/runs/r1', id: 'r1', info, samples, summary: computeSummary(info, samples) };
}

let root: HTMLElement;
afterEach(() => root?.remove());

function mount(compact = false) {
  root = document.createElement('div');
  document.body.append(root);
  const posted: unknown[] = [];
  const view = mountEvalsView(root, { post: (m) => posted.push(m), compact });
  return { view, posted };
}

const cellTexts = (col: number) =>
  [...root.querySelectorAll('table.evals-samples tbody tr')].map((tr) => tr.querySelectorAll('td')[col].textContent);

describe('evals view in the sidebar (compact)', () => {
  it('lists runs in four columns; a run and a comparison open in the editor tab; finished runs refresh the list', () => {
    const { posted } = mount(true);
    const runs = [
      { dir: '/runs/r1', id: 'r1', suite: 'demo', models: ['/m/alpha.gguf'], modelNames: ['alpha'], variants: ['plain'], status: 'completed' as const, startedAt: '2026-01-01T00:00:00Z', samples: 3 },
      { dir: '/runs/r2', id: 'r2', suite: 'demo', models: ['/m/beta.gguf'], modelNames: ['beta'], variants: ['plain'], status: 'running' as const, startedAt: '2026-01-02T00:00:00Z', samples: 1 },
    ];
    handleEvalsMessage({ type: 'evals.runs', runs });
    expect([...root.querySelectorAll('table.evals-table thead th')].map((th) => th.textContent)).toEqual(['', 'Run', 'Status', 'Samples']);
    root.querySelector<HTMLButtonElement>('.evals-link')!.click();
    expect(posted.at(-1)).toEqual({ type: 'evals.openInEditor', then: { type: 'evals.openRun', dir: '/runs/r1' } });
    root.querySelector<HTMLButtonElement>('[data-testid="evals-open-editor"]')!.click();
    expect(posted.at(-1)).toEqual({ type: 'evals.openInEditor' });
    handleEvalsMessage({ type: 'evals.run', run: loadedRun() });
    expect(posted.at(-1)).toEqual({ type: 'evals.listRuns' });
    expect(root.querySelector('.evals-groups')).toBeNull();
  });
});

describe('evals view', () => {
  it('asks for the runs on mount and lists them; selecting two enables compare', () => {
    const { posted } = mount();
    expect(posted).toEqual([{ type: 'evals.listRuns' }]);
    const runs = [
      { dir: '/runs/r1', id: 'r1', suite: 'demo', models: ['/m/alpha.gguf'], modelNames: ['alpha'], variants: ['plain'], status: 'completed' as const, startedAt: '2026-01-01T00:00:00Z', samples: 3 },
      { dir: '/runs/r2', id: `r2${EVIL}`, suite: 'demo', models: ['/m/beta.gguf'], modelNames: ['beta'], variants: ['plain'], status: 'cancelled' as const, startedAt: '2026-01-02T00:00:00Z', samples: 1 },
    ];
    expect(handleEvalsMessage({ type: 'evals.runs', runs })).toBe(true);
    expect(root.querySelectorAll('table.evals-table tbody tr')).toHaveLength(2);
    expect(root.querySelector('img, script')).toBeNull();
    const compare = [...root.querySelectorAll('button')].find((b) => b.textContent!.startsWith('Compare selected'))!;
    expect(compare.disabled).toBe(true);
    for (const box of root.querySelectorAll<HTMLInputElement>('input[type=checkbox]')) {
      box.checked = true;
      box.dispatchEvent(new Event('change'));
    }
    const compare2 = [...root.querySelectorAll('button')].find((b) => b.textContent!.startsWith('Compare selected'))!;
    expect(compare2.disabled).toBe(false);
    compare2.click();
    expect(posted.at(-1)).toEqual({ type: 'evals.compare', dirs: ['/runs/r1', '/runs/r2'] });
    root.querySelector<HTMLButtonElement>('button.evals-link')!.click();
    expect(posted.at(-1)).toEqual({ type: 'evals.openRun', dir: '/runs/r1' });
  });

  it('shows a run: charts, groups, samples sortable by clicking headers', () => {
    mount();
    handleEvalsMessage({ type: 'evals.run', run: loadedRun() });
    expect(root.querySelectorAll('svg.evals-chart').length).toBeGreaterThanOrEqual(3);
    expect(cellTexts(0)).toEqual(['a-item', 'b-item', 'c-item']);
    const rlHeader = () => root.querySelector<HTMLButtonElement>('button.evals-sort[data-key="rougeL"]')!;
    rlHeader().click(); // numeric columns sort descending first
    expect(cellTexts(0)).toEqual(['a-item', 'b-item', 'c-item']);
    expect(rlHeader().closest('th')!.getAttribute('aria-sort')).toBe('descending');
    rlHeader().click();
    expect(cellTexts(0)).toEqual(['c-item', 'b-item', 'a-item']);
    expect(rlHeader().closest('th')!.getAttribute('aria-sort')).toBe('ascending');
    expect(document.activeElement).toBe(rlHeader());
    // The refusal is flagged in its row, with the evidence in the title.
    const flagged = root.querySelector('tr.evals-flagged')!;
    expect(flagged.querySelector('td')!.textContent).toBe('c-item');
    expect(flagged.querySelector('.evals-flag-refusal')!.getAttribute('title')).toContain("I'm sorry, but I can't summarize this document");
    expect(root.querySelector('img, script')).toBeNull();
  });

  it('opens a sample with the keyboard and shows document, summary and reference side by side as text', () => {
    const { posted } = mount();
    handleEvalsMessage({ type: 'evals.run', run: loadedRun() });
    const row = [...root.querySelectorAll<HTMLElement>('table.evals-samples tbody tr')].find((tr) => tr.textContent!.startsWith('a-item'))!;
    expect(row.getAttribute('tabindex')).toBe('0');
    row.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    expect(posted.at(-1)).toEqual({ type: 'evals.openItem', dir: '/runs/r1', itemId: 'a-item' });
    handleEvalsMessage({
      type: 'evals.item',
      dir: '/runs/r1',
      item: { id: 'a-item', document: `Document text ${EVIL}`, references: [`Reference ${EVIL}`] },
    });
    const panes = root.querySelectorAll('.evals-side-by-side .evals-pane');
    expect(panes).toHaveLength(3);
    expect(panes[0].querySelector('pre')!.textContent).toBe(`Document text ${EVIL}`);
    expect(panes[1].querySelector('pre')!.textContent).toContain(EVIL);
    expect(panes[2].querySelector('pre')!.textContent).toBe(`Reference ${EVIL}`);
    expect(root.querySelector('img, script')).toBeNull();
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
    expect(root.textContent).toContain('middle truncated: 400 tokens dropped');
  });

  it('shows the evidence of failures of the opened sample', () => {
    mount();
    handleEvalsMessage({ type: 'evals.run', run: loadedRun() });
    const row = [...root.querySelectorAll<HTMLElement>('table.evals-samples tbody tr')].find((tr) => tr.textContent!.startsWith('c-item'))!;
    row.click();
    const evidence = root.querySelector('.evals-failures .evals-evidence')!;
    expect(evidence.textContent).toBe("I'm sorry, but I can't summarize this document");
  });

  it("brings an opened sample's detail into view", () => {
    mount();
    handleEvalsMessage({ type: 'evals.run', run: loadedRun() });
    const scrolled: Element[] = [];
    const original = HTMLElement.prototype.scrollIntoView;
    HTMLElement.prototype.scrollIntoView = function (this: HTMLElement) {
      scrolled.push(this);
    };
    try {
      [...root.querySelectorAll<HTMLElement>('table.evals-samples tbody tr')].find((tr) => tr.textContent!.startsWith('b-item'))!.click();
    } finally {
      HTMLElement.prototype.scrollIntoView = original;
    }
    expect(scrolled).toHaveLength(1);
    expect(scrolled[0]).toBe(root.querySelector('.evals-sample'));
    expect(scrolled[0].getAttribute('aria-label')).toBe('Sample b-item');
  });

  it('labels every bin of the ROUGE-L histogram with its range and its count', () => {
    mount();
    handleEvalsMessage({ type: 'evals.run', run: loadedRun() });
    const chart = [...root.querySelectorAll('svg.evals-chart')].find((svg) => svg.getAttribute('aria-label')!.startsWith('ROUGE-L F × 100: samples per range'))!;
    expect([...chart.querySelectorAll('.evals-bin-edge')].map((t) => t.textContent)).toEqual(['0', '10', '20', '30', '40', '50', '60', '70', '80', '90', '100']);
    // ROUGE-L 0.1, 0.4 and 0.7: one sample in each of the bins 10–20, 40–50 and 70–80.
    expect([...chart.querySelectorAll('.evals-bin-count')].map((t) => t.textContent)).toEqual(['1', '1', '1']);
    expect([...chart.querySelectorAll('rect title')].map((t) => t.textContent).filter((t) => !t!.endsWith(': 0'))).toEqual(['10–20: 1', '40–50: 1', '70–80: 1']);
  });

  it('says above the scores when a model ran beyond its trained context', () => {
    mount();
    const run = loadedRun();
    const warning = 'alpha runs at a context of 8192 tokens, more than the 512 it was trained for: expect degraded output';
    run.info = { ...run.info, warnings: [warning] };
    handleEvalsMessage({ type: 'evals.run', run });
    const note = root.querySelector('.evals-run .evals-warning')!;
    expect(note.textContent).toBe(`Warning: ${warning}`);
    // Before the charts and tables.
    expect(note.compareDocumentPosition(root.querySelector('.evals-charts')!) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
  });

  it('flags code debris with its evidence', () => {
    mount();
    const run = loadedRun();
    run.samples.push(sample('d-item', 'alpha', 0.2, 'The module loads the router.\nself.gate = nn.Linear(d, n)\nreturn x;\n}\n});'));
    handleEvalsMessage({ type: 'evals.run', run });
    const flag = [...root.querySelectorAll('table.evals-samples tbody tr')].find((tr) => tr.textContent!.startsWith('d-item'))!.querySelector('.evals-flag-debris')!;
    expect(flag.textContent).toBe('debris');
    expect(flag.getAttribute('title')).toContain('line 2: self.gate = nn.Linear(d, n)');
  });

  it('renders a comparison with the best value marked', () => {
    mount();
    const comparison: RunComparison = {
      columns: [
        { run: 'r1', runDir: '/runs/r1', model: '/m/a.gguf', modelName: 'a', variant: 'plain', label: 'r1: a / plain' },
        { run: 'r2', runDir: '/runs/r2', model: '/m/b.gguf', modelName: 'b', variant: 'plain', label: 'r2: b / plain' },
      ],
      metrics: [
        { ...METRICS.rougeL, values: [0.3, 0.5] },
        { ...METRICS.refusalRate, values: [0.5, 0] },
      ],
      items: [{ itemId: 'x', rougeL: [0.3, undefined], failures: [['refusal'], []] }],
    };
    handleEvalsMessage({ type: 'evals.comparison', comparison });
    const rows = root.querySelectorAll('.evals-compare-table tbody tr');
    expect(rows[0].querySelector('.evals-best')!.textContent).toBe('50.0');
    expect(rows[1].querySelector('.evals-best')!.textContent).toBe('0%');
    expect(root.textContent).toContain('30.0 (refusal)');
  });

  it('comparison units come from the metric catalogue: speeds are not percentages, missing values are —, chart labels differ', () => {
    mount();
    const comparison: RunComparison = {
      columns: [
        { run: 'r1', runDir: '/runs/r1', model: '/m/a-very-long-model-name.gguf', modelName: 'a-very-long-model-name', variant: 'plain', label: 'r1: a-very-long-model-name / plain', shortLabel: 'r1: plain' },
        { run: 'r2', runDir: '/runs/r2', model: '/m/a-very-long-model-name.gguf', modelName: 'a-very-long-model-name', variant: 'intro', label: 'r2: a-very-long-model-name / intro', shortLabel: 'r2: intro' },
      ],
      metrics: [
        { ...METRICS.generatedTokensPerSecond, values: [381.24, 12.5] },
        { ...METRICS.timeToFirstTokenMs, values: [1913.4, undefined] },
        { ...METRICS.failureRate, values: [0.25, undefined] },
        { ...METRICS.rougeL, values: [undefined, 0.317] },
      ],
      items: [
        { itemId: 'x', rougeL: [0.3, undefined], failures: [[], []] },
        { itemId: 'y', rougeL: [undefined, 0.2], failures: [[], []] },
      ],
    };
    handleEvalsMessage({ type: 'evals.comparison', comparison });
    const row = (id: string) => [...root.querySelectorAll(`.evals-compare-table tr[data-metric="${id}"] td`)].map((td) => td.textContent);
    expect(row('generatedTokensPerSecond')).toEqual(['381.2 tok/s', '12.5 tok/s']);
    expect(row('timeToFirstTokenMs')).toEqual(['1913 ms', '—']);
    expect(row('failureRate')).toEqual(['25%', '—']);
    expect(row('rougeL')).toEqual(['—', '31.7']);
    expect(root.querySelector('.evals-compare-table tr[data-metric="rougeL"] th')!.textContent).toBe('ROUGE-L F (mean) × 100 ↑');
    const perItem = [...root.querySelectorAll('.evals-compare table:not(.evals-compare-table) tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent));
    expect(perItem).toEqual([['30.0', '—'], ['—', '20.0']]);
    // The two variants of one model are told apart in the charts.
    const labels = [...root.querySelectorAll('.evals-charts svg text')].map((t) => t.childNodes[0]?.textContent);
    expect(labels).toContain('r1: plain');
    expect(labels).toContain('r2: intro');
  });

  it('shows progress with an ETA and ignores foreign messages', () => {
    const { posted } = mount();
    handleEvalsMessage({ type: 'evals.progress', dir: '/runs/r3', progress: { kind: 'sample', done: 2, total: 8, resumed: 0, elapsedMs: 1000, etaMs: 90_000, itemId: 'q' } });
    expect(root.querySelector('.evals-progress')!.textContent).toContain('r3: 2 of 8 done · q · about 1 min 30 s left');
    expect(root.querySelector('progress')!.getAttribute('value')).toBe('2');
    [...root.querySelectorAll('button')].find((b) => b.textContent === 'Cancel run')!.click();
    expect(posted.at(-1)).toEqual({ type: 'evals.cancel' });
    expect(handleEvalsMessage({ type: 'chat.token' })).toBe(false);
    expect(handleEvalsMessage(null)).toBe(false);
  });
});
