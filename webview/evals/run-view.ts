// One evals run: its facts and warnings, charts, the table per model × variant, the samples table (sortable,
// keyboard accessible) with failure evidence, and a sample's document / summary / references side by side.
// Everything from documents or model output is untrusted: it is only ever set with textContent.

import type { EvalsRequest, EvalItemView } from '../../extension/evals/protocol';
import type { GroupSummary, LoadedRun, SampleRecord } from '../../extension/evals/types';
import { METRICS, formatGroupMetric, metricsIn, type MetricId } from '../../extension/evals/metrics/catalogue';
import { formatDecimal, formatMetric, formatPercent, formatTokensPerSecond, MISSING } from '../../extension/format';
import { h } from '../components';
import { histogram } from './charts';
import { metricBars, scrollable } from './parts';

export interface RunViewHooks {
  request(msg: EvalsRequest): void;
  render(): void;
  /** The element the views render into (to focus and scroll what was re-rendered). */
  container(): HTMLElement;
}

interface Column {
  key: string;
  label: string;
  numeric: boolean;
  value: (s: SampleRecord) => number | string | undefined;
  render?: (s: SampleRecord) => Node | string;
}

/** A samples-table column for a catalogue metric with a per-sample value. */
function metricColumn(id: MetricId): Column {
  const m = METRICS[id];
  const value = (s: SampleRecord) => m.ofSample?.(s);
  return { key: id, label: m.short, numeric: true, value, render: (s) => formatMetric(value(s), m.unit) };
}

const SAMPLE_COLUMNS: Column[] = [
  { key: 'item', label: 'Item', numeric: false, value: (s) => s.itemId },
  { key: 'model', label: 'Model', numeric: false, value: (s) => s.modelName },
  { key: 'variant', label: 'Variant', numeric: false, value: (s) => s.variant },
  ...metricsIn('samples').map(metricColumn),
  {
    key: 'strategy',
    label: 'Long input',
    numeric: false,
    value: (s) => s.strategy?.strategy,
    render: (s) => {
      const st = s.strategy;
      if (!st || st.strategy === 'none') return MISSING;
      return st.strategy === 'truncate-middle' ? `truncated (−${st.tokensDropped} tok)` : `map-reduce (${st.chunks} chunks, ${st.levels} lvl)`;
    },
  },
  {
    key: 'failures',
    label: 'Failures',
    numeric: false,
    value: (s) => (s.error ? 'error' : s.failures.map((f) => f.kind).join(' ')),
    render: (s) => {
      if (s.error) return h('span', { class: 'evals-flag evals-flag-error', title: s.error }, 'error');
      const wrap = h('span');
      for (const f of s.failures) {
        wrap.append(h('span', { class: `evals-flag evals-flag-${f.kind}`, title: `${f.message}: ${f.evidence}` }, f.kind));
      }
      return wrap;
    },
  },
];

export class RunView {
  /** The open sample and its item (undefined while it loads, null when the run has no such item). */
  sample: SampleRecord | undefined;
  item: EvalItemView | null | undefined;
  private sort: { key: string; dir: 1 | -1 } = { key: 'item', dir: 1 };

  constructor(private readonly hooks: RunViewHooks) {}

  /** A run: its facts and warnings, charts, the per-group table, the samples and the open sample's detail. */
  render(run: LoadedRun): HTMLElement {
    const section = h('section', { class: 'evals-run' });
    const info = run.info;
    section.append(
      h('h2', {}, `${info.suite.name} — ${run.id}`),
      h(
        'p',
        { class: 'evals-meta' },
        `${info.status} · ${info.samples.done}/${info.samples.total} samples · ${info.mode} mode · maxTokens ${info.generation.maxTokens}, temperature ${info.generation.temperature}, seed ${info.generation.seed} · long inputs: ${info.longInput.strategy}`,
      ),
      // Above the scores: e.g. a context beyond what a model was trained for, which makes them say little.
      ...(info.warnings ?? []).map((w) => h('p', { class: 'evals-warning', role: 'note' }, h('strong', {}, 'Warning: '), w)),
    );
    const groups = run.summary.groups;
    const label = (g: GroupSummary) => `${g.modelName} / ${g.variant}`;
    const rougeL = run.samples.map((s) => METRICS.rougeL.ofSample!(s)).filter((v): v is number => v !== undefined);
    section.append(
      h(
        'div',
        { class: 'evals-charts' },
        // One scale for the distribution and the means: ROUGE × 100, as in every table.
        histogram(rougeL, { title: 'ROUGE-L F × 100: samples per range', format: (x) => formatMetric(x, METRICS.rougeL.unit).replace(/\.0$/, '') }),
        ...metricsIn('chart').map((id) => metricBars(METRICS[id], groups.map((g) => ({ label: label(g), value: METRICS[id].ofGroup(g) })))),
      ),
    );
    section.append(this.renderGroups(groups));
    section.append(h('h3', {}, 'Samples'), this.renderSamplesTable(run));
    if (this.sample) section.append(this.renderSample(this.sample));
    return section;
  }

  private renderGroups(groups: GroupSummary[]): HTMLElement {
    const table = h('table', { class: 'evals-table evals-groups' });
    const columns = metricsIn('groups');
    const heads = ['Model', 'Variant', 'n', ...columns.map((id) => METRICS[id].short), 'Errors'];
    table.append(h('caption', {}, 'Per model × variant'), h('thead', {}, h('tr', {}, ...heads.map((label) => h('th', { scope: 'col' }, label)))));
    const tbody = h('tbody');
    for (const g of groups) {
      const cell = (id: MetricId) => {
        const v = METRICS[id].ofGroup(g);
        const bad = METRICS[id].unit === 'rate' && v !== undefined && v > 0;
        return h('td', { class: `num${bad ? ' evals-bad' : ''}`, title: METRICS[id].label }, formatGroupMetric(id, g));
      };
      tbody.append(
        h(
          'tr',
          {},
          h('td', { title: g.model }, g.modelName),
          h('td', {}, g.variant),
          h('td', { class: 'num' }, String(g.samples)),
          ...columns.map(cell),
          h('td', { class: `num${g.errors ? ' evals-bad' : ''}` }, String(g.errors)),
        ),
      );
    }
    table.append(tbody);
    return scrollable(table);
  }

  /** Sorted copy of the samples by the current sort column; missing values last. */
  sortedSamples(samples: SampleRecord[]): SampleRecord[] {
    const col = SAMPLE_COLUMNS.find((c) => c.key === this.sort.key) ?? SAMPLE_COLUMNS[0];
    const dir = this.sort.dir;
    return [...samples].sort((a, b) => {
      const va = col.value(a);
      const vb = col.value(b);
      if (va === undefined && vb === undefined) return 0;
      if (va === undefined) return 1;
      if (vb === undefined) return -1;
      if (typeof va === 'number' && typeof vb === 'number') return (va - vb) * dir;
      return String(va).localeCompare(String(vb), undefined, { numeric: true }) * dir;
    });
  }

  private renderSamplesTable(run: LoadedRun): HTMLElement {
    const table = h('table', { class: 'evals-table evals-samples' });
    const headRow = h('tr');
    for (const c of SAMPLE_COLUMNS) {
      const active = this.sort.key === c.key;
      const button = h('button', { class: 'evals-sort', 'data-key': c.key }, `${c.label}${active ? (this.sort.dir === 1 ? ' ▲' : ' ▼') : ''}`);
      button.addEventListener('click', () => {
        this.sort = { key: c.key, dir: active ? (this.sort.dir === 1 ? -1 : 1) : c.numeric ? -1 : 1 };
        this.hooks.render();
        (this.hooks.container().querySelector(`button.evals-sort[data-key="${c.key}"]`) as HTMLButtonElement | null)?.focus();
      });
      headRow.append(h('th', { class: c.numeric ? 'num' : undefined, scope: 'col', 'aria-sort': active ? (this.sort.dir === 1 ? 'ascending' : 'descending') : 'none' }, button));
    }
    table.append(h('thead', {}, headRow));
    const tbody = h('tbody');
    for (const s of this.sortedSamples(run.samples)) {
      const open = () => {
        this.sample = s;
        this.item = undefined;
        this.hooks.request({ type: 'evals.openItem', dir: run.dir, itemId: s.itemId });
        this.hooks.render();
        // The detail opens below the table, often below the fold: bring it into view.
        this.hooks.container().querySelector('.evals-sample')?.scrollIntoView({ block: 'start' });
      };
      const tr = h('tr', {
        class: `${s.failures.length || s.error ? 'evals-flagged' : ''}${this.sample?.key === s.key ? ' evals-selected' : ''}` || undefined,
        tabindex: '0',
        'aria-label': `${s.itemId}, ${s.modelName}, ${s.variant}: open`,
      });
      tr.addEventListener('click', open);
      tr.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          open();
        }
      });
      for (const c of SAMPLE_COLUMNS) {
        const content = c.render ? c.render(s) : String(c.value(s) ?? MISSING);
        tr.append(h('td', { class: c.numeric ? 'num' : undefined }, content));
      }
      tbody.append(tr);
    }
    table.append(tbody);
    return scrollable(table);
  }

  private renderSample(s: SampleRecord): HTMLElement {
    const section = h('section', { class: 'evals-sample', 'aria-label': `Sample ${s.itemId}` });
    section.append(h('h3', {}, `${s.itemId}${s.title ? ` — ${s.title}` : ''} · ${s.modelName} · ${s.variant}`));
    if (s.error) section.append(h('p', { class: 'evals-flag-error' }, `Error: ${s.error}`));
    if (s.failures.length) {
      const list = h('ul', { class: 'evals-failures' });
      for (const f of s.failures) {
        list.append(h('li', {}, h('span', { class: `evals-flag evals-flag-${f.kind}` }, f.kind), ` ${f.message}: `, h('q', { class: 'evals-evidence' }, f.evidence)));
      }
      section.append(list);
    }
    const facts: string[] = [];
    if (s.strategy) {
      facts.push(`document ${s.strategy.documentTokens} tokens, prompt ${s.strategy.promptTokens} of ${s.strategy.budgetTokens}`);
      if (s.strategy.strategy === 'truncate-middle') facts.push(`middle truncated: ${s.strategy.tokensDropped} tokens dropped`);
      if (s.strategy.strategy === 'map-reduce') facts.push(`map-reduce: ${s.strategy.chunks} chunks, ${s.strategy.chunksMerged} summaries merged, ${s.strategy.levels} level(s)`);
    }
    if (s.speed) facts.push(`TTFT ${formatMetric(s.speed.timeToFirstTokenMs, 'ms')}, prompt ${formatTokensPerSecond(s.speed.promptTokensPerSecond)}, generation ${formatTokensPerSecond(s.speed.generatedTokensPerSecond)}, stop: ${s.speed.stopReason}`);
    if (s.metrics?.repetition) {
      const r = s.metrics.repetition;
      const deflates = r.compressionRatio !== undefined ? `, deflates to ${formatPercent(r.compressionRatio, 0)}` : '';
      facts.push(`repeated ${r.n}-grams ${formatPercent(r.repeatedNgramRate, 0)}, distinct-1 ${formatDecimal(r.distinct1)}, distinct-2 ${formatDecimal(r.distinct2)}, longest repeat ${r.longestRepeatedSpanWords} words${deflates}`);
    }
    if (s.routing) {
      facts.push(`routing: load entropy ${formatDecimal(s.routing.meanLoadEntropy)}, same top-1 as previous token ${formatPercent(s.routing.meanSameTop1Rate, 0)} (uniform ${formatPercent(s.routing.sameTop1Baseline, 0)})`);
    }
    if (facts.length) section.append(h('ul', { class: 'evals-facts' }, ...facts.map((f) => h('li', {}, f))));

    const item = this.item;
    const refs = item ? item.references : [];
    const columns = h('div', { class: 'evals-side-by-side' });
    columns.append(
      h('div', { class: 'evals-pane' }, h('h4', {}, 'Document'), h('pre', { class: 'evals-text' }, item === undefined ? 'Loading…' : item === null ? '(not found in this run)' : item.document)),
      h('div', { class: 'evals-pane' }, h('h4', {}, 'Summary'), h('pre', { class: 'evals-text' }, s.output)),
      h(
        'div',
        { class: 'evals-pane' },
        h('h4', {}, refs.length > 1 ? `References (${refs.length})` : 'Reference'),
        ...(refs.length ? refs.map((r) => h('pre', { class: 'evals-text' }, r)) : [h('p', { class: 'evals-empty' }, item === undefined ? 'Loading…' : 'No reference for this item.')]),
      ),
    );
    section.append(columns);
    return section;
  }
}
