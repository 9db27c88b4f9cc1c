// Evals views for the webview: runs list, a run's samples table (sortable, keyboard accessible) with failure
// evidence, an item's document / summary / references side by side, small SVG charts, and run comparisons.
// Everything from documents or model output is untrusted: it is only ever set with textContent.

import type { EvalsRequest, EvalsResponse, EvalItemView } from '../../extension/evals/protocol';
import type { EvalProgress, LoadedRun, RunComparison, RunListEntry, SampleRecord, GroupSummary } from '../../extension/evals/types';
import { METRICS, chartMax, formatGroupMetric, metricHeading, metricsIn, type MetricId, type MetricInfo } from '../../extension/evals/metrics/catalogue';
import { formatDecimal, formatMetric, formatModelName, formatPercent, formatTokensPerSecond } from '../../extension/format';
import { progressText } from '../../extension/evals/progress';
import { h } from '../components';
import { bars, histogram } from './charts';

export interface EvalsHost {
  post(msg: EvalsRequest): void;
  /** The sidebar: a compact runs list whose runs and comparisons open in the evals editor tab. */
  compact?: boolean;
}



interface Column {
  key: string;
  label: string;
  numeric: boolean;
  value: (s: SampleRecord) => number | string | undefined;
  render?: (s: SampleRecord) => Node | string;
}

/** Wide tables scroll sideways inside their box instead of pushing the page wider. */
function scrollable(table: HTMLElement): HTMLElement {
  return h('div', { class: 'evals-scroll' }, table);
}

/** A catalogue metric's bars, titled, scaled and formatted by the catalogue. */
function metricBars(m: MetricInfo, data: { label: string; value: number | undefined }[]): SVGSVGElement {
  return bars(data, { title: metricHeading(m), max: chartMax(m), format: (x) => formatMetric(x, m.unit) });
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
      if (!st || st.strategy === 'none') return '–';
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

export class EvalsView {
  private runs: RunListEntry[] = [];
  private selected = new Set<string>();
  private run: LoadedRun | undefined;
  private comparison: RunComparison | undefined;
  private sample: SampleRecord | undefined;
  private item: EvalItemView | null | undefined;
  private progress = new Map<string, Omit<EvalProgress, 'sample'>>();
  private sort: { key: string; dir: 1 | -1 } = { key: 'item', dir: 1 };
  private mode: 'runs' | 'run' | 'compare' = 'runs';
  private error: string | undefined;
  private readonly container: HTMLElement;

  constructor(
    private readonly root: HTMLElement,
    private readonly host: EvalsHost,
  ) {
    this.container = h('div', { class: 'evals-root' });
    root.append(this.container);
    this.request({ type: 'evals.listRuns' });
    this.render();
  }

  private request(msg: EvalsRequest): void {
    this.host.post(msg);
  }

  /** A run or a comparison: in place in the editor tab, in the editor tab from the sidebar. */
  private open(msg: Extract<EvalsRequest, { type: 'evals.openRun' | 'evals.compare' }>): void {
    this.request(this.host.compact ? { type: 'evals.openInEditor', then: msg } : msg);
  }

  /** Handles a host message; returns false for messages that are not for this view. */
  handleMessage(msg: unknown): boolean {
    if (typeof msg !== 'object' || msg === null || typeof (msg as { type?: unknown }).type !== 'string') return false;
    const m = msg as EvalsResponse;
    // The sidebar stays a list: a finished run or a comparison is shown in the editor tab, here the list refreshes.
    if (this.host.compact && (m.type === 'evals.run' || m.type === 'evals.comparison')) {
      this.request({ type: 'evals.listRuns' });
      return true;
    }
    switch (m.type) {
      case 'evals.runs':
        this.runs = m.runs;
        for (const dir of [...this.selected]) if (!m.runs.some((r) => r.dir === dir)) this.selected.delete(dir);
        break;
      case 'evals.run':
        this.run = m.run;
        this.mode = 'run';
        this.sample = undefined;
        this.item = undefined;
        break;
      case 'evals.item':
        if (this.run && m.dir === this.run.dir) this.item = m.item;
        break;
      case 'evals.comparison':
        this.comparison = m.comparison;
        this.mode = 'compare';
        break;
      case 'evals.progress':
        this.progress.set(m.dir, m.progress);
        if (this.mode === 'runs' || this.run?.dir === m.dir) this.renderProgress();
        return true;
      case 'evals.error':
        this.error = m.message;
        break;
      default:
        return false;
    }
    this.render();
    return true;
  }

  dispose(): void {
    this.container.remove();
  }

  // -------------------------------------------------------------------------------------------------------------

  private render(): void {
    const tab = (label: string, mode: 'runs' | 'run' | 'compare') => {
      const b = h('button', { 'aria-pressed': String(this.mode === mode) }, label);
      b.addEventListener('click', () => this.show(mode));
      return b;
    };
    const nav = h(
      'nav',
      { class: 'evals-nav', 'aria-label': 'Evaluations' },
      tab('Runs', 'runs'),
      this.run && tab(`Run: ${this.run.id}`, 'run'),
      this.comparison && tab('Comparison', 'compare'),
    );
    const body =
      this.mode === 'run' && this.run ? this.renderRun(this.run) : this.mode === 'compare' && this.comparison ? this.renderComparison(this.comparison) : this.renderRuns();
    const parts: Node[] = [nav];
    if (this.error) {
      const dismiss = h('button', {}, 'Dismiss');
      dismiss.addEventListener('click', () => {
        this.error = undefined;
        this.render();
      });
      parts.push(h('div', { class: 'evals-error', role: 'alert' }, h('span', {}, this.error), dismiss));
    }
    parts.push(h('div', { class: 'evals-progress', 'aria-live': 'polite' }), body);
    this.container.replaceChildren(...parts);
    this.renderProgress();
  }

  private show(mode: 'runs' | 'run' | 'compare'): void {
    this.mode = mode;
    if (mode === 'runs') this.request({ type: 'evals.listRuns' });
    this.render();
  }

  private renderProgress(): void {
    const box = this.container.querySelector('.evals-progress');
    if (!box) return;
    const lines: Node[] = [];
    for (const [dir, p] of this.progress) {
      if (p.kind === 'done') continue;
      const name = dir.split(/[\\/]/).pop() ?? dir;
      const meter = h('progress', { max: String(Math.max(1, p.total)), value: String(p.done), 'aria-label': `Progress of ${name}` });
      const text = `${name}: ${progressText(p)}`;
      lines.push(h('div', { class: 'evals-progress-line' }, meter, h('span', {}, text)));
    }
    if (lines.length) {
      const cancel = h('button', {}, 'Cancel run');
      cancel.addEventListener('click', () => this.request({ type: 'evals.cancel' }));
      lines.push(cancel);
    }
    box.replaceChildren(...lines);
  }

  // Runs list ----------------------------------------------------------------------------------------------------

  private renderRuns(): HTMLElement {
    const section = h('section', { class: 'evals-runs' });
    const compare = h('button', {}, `Compare selected (${this.selected.size})`);
    compare.addEventListener('click', () => this.open({ type: 'evals.compare', dirs: [...this.selected] }));
    compare.disabled = this.selected.size < 2;
    const refresh = h('button', {}, 'Refresh');
    refresh.addEventListener('click', () => this.request({ type: 'evals.listRuns' }));
    const toolbar = h('div', { class: 'evals-toolbar' }, h('h2', {}, 'Evaluation runs'), refresh, compare);
    if (this.host.compact) {
      const editor = h('button', { 'data-testid': 'evals-open-editor' }, 'Open in editor');
      editor.addEventListener('click', () => this.request({ type: 'evals.openInEditor' }));
      toolbar.append(editor);
    }
    section.append(toolbar);
    if (this.runs.length === 0) {
      section.append(h('p', { class: 'evals-empty' }, 'No runs yet. Run `moe-lens eval SUITE --model MODEL` or the “Run evaluation” command.'));
      return section;
    }
    const table = h('table', { class: 'evals-table' });
    // The sidebar keeps four columns; the editor tab has room for all.
    const compact = !!this.host.compact;
    const heads = compact ? ['', 'Run', 'Status', 'Samples'] : ['', 'Run', 'Suite', 'Models', 'Variants', 'Status', 'Started', 'Samples'];
    table.append(h('thead', {}, h('tr', {}, ...heads.map((label) => h('th', { scope: 'col' }, label)))));
    const tbody = h('tbody');
    for (const r of this.runs) {
      const box = h('input', { type: 'checkbox', 'aria-label': `Select ${r.id} for comparison` });
      box.checked = this.selected.has(r.dir);
      box.addEventListener('change', () => {
        if (box.checked) this.selected.add(r.dir);
        else this.selected.delete(r.dir);
        this.render();
      });
      const open = h('button', { class: 'evals-link' }, r.id);
      open.addEventListener('click', () => this.open({ type: 'evals.openRun', dir: r.dir }));
      const models = r.models.map(formatModelName).join(', ');
      const started = r.startedAt.replace('T', ' ').slice(0, 19);
      open.title = `${r.suite} · ${models} · ${r.variants.join(', ')} · ${started}`;
      const status = h('td', {}, h('span', { class: `evals-status evals-status-${r.status}` }, r.status));
      const samples = h('td', { class: 'num' }, String(r.samples));
      tbody.append(
        compact
          ? h('tr', {}, h('td', {}, box), h('td', {}, open), status, samples)
          : h(
              'tr',
              {},
              h('td', {}, box),
              h('td', {}, open),
              h('td', {}, r.suite),
              h('td', {}, models),
              h('td', {}, r.variants.join(', ')),
              status,
              h('td', {}, started),
              samples,
            ),
      );
    }
    table.append(tbody);
    section.append(scrollable(table));
    return section;
  }

  // One run --------------------------------------------------------------------------------------------------------

  private renderRun(run: LoadedRun): HTMLElement {
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
        this.render();
        (this.container.querySelector(`button.evals-sort[data-key="${c.key}"]`) as HTMLButtonElement | null)?.focus();
      });
      headRow.append(h('th', { class: c.numeric ? 'num' : undefined, scope: 'col', 'aria-sort': active ? (this.sort.dir === 1 ? 'ascending' : 'descending') : 'none' }, button));
    }
    table.append(h('thead', {}, headRow));
    const tbody = h('tbody');
    for (const s of this.sortedSamples(run.samples)) {
      const open = () => {
        this.sample = s;
        this.item = undefined;
        this.request({ type: 'evals.openItem', dir: run.dir, itemId: s.itemId });
        this.render();
        // The detail opens below the table, often below the fold: bring it into view.
        this.container.querySelector('.evals-sample')?.scrollIntoView({ block: 'start' });
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
        const content = c.render ? c.render(s) : String(c.value(s) ?? '–');
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

  // Comparison ---------------------------------------------------------------------------------------------------

  private renderComparison(c: RunComparison): HTMLElement {
    const section = h('section', { class: 'evals-compare' });
    section.append(h('h2', {}, `Comparison of ${new Set(c.columns.map((x) => x.run)).size} runs`));
    const chartLabel = (col: RunComparison['columns'][number]) => col.shortLabel ?? col.label;
    const charted = metricsIn('chart');
    section.append(
      h(
        'div',
        { class: 'evals-charts' },
        ...c.metrics.filter((m) => charted.includes(m.id)).map((m) => metricBars(m, c.columns.map((col, i) => ({ label: chartLabel(col), value: m.values[i] })))),
      ),
    );
    const table = h('table', { class: 'evals-table evals-compare-table' });
    table.append(h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Metric'), ...c.columns.map((col) => h('th', { scope: 'col', title: col.runDir }, col.label)))));
    const tbody = h('tbody');
    for (const m of c.metrics) {
      const present = m.values.filter((v): v is number => v !== undefined);
      const best = present.length > 1 && m.better !== 'neither' ? (m.better === 'higher' ? Math.max(...present) : Math.min(...present)) : undefined;
      tbody.append(
        h(
          'tr',
          { 'data-metric': m.id },
          h('th', { scope: 'row' }, `${metricHeading(m)}${{ higher: ' ↑', lower: ' ↓', neither: '' }[m.better]}`),
          ...m.values.map((v) => h('td', { class: `num${best !== undefined && v === best ? ' evals-best' : ''}` }, formatMetric(v, m.unit))),
        ),
      );
    }
    table.append(tbody);
    section.append(scrollable(table));

    const items = h('table', { class: 'evals-table' });
    items.append(h('caption', {}, 'ROUGE-L F per item'), h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Item'), ...c.columns.map((col) => h('th', { scope: 'col' }, col.label)))));
    const ib = h('tbody');
    for (const it of c.items) {
      ib.append(
        h(
          'tr',
          {},
          h('th', { scope: 'row', title: it.title ?? '' }, it.itemId),
          ...it.rougeL.map((v, i) =>
            h('td', { class: `num${it.failures[i]?.length ? ' evals-bad' : ''}` }, `${formatMetric(v, METRICS.rougeL.unit)}${it.failures[i]?.length ? ` (${it.failures[i].join(', ')})` : ''}`),
          ),
        ),
      );
    }
    items.append(ib);
    section.append(items);
    return section;
  }
}

let current: EvalsView | undefined;

/** Mounts the evals view into `root`; messages for it are passed to handleEvalsMessage (or view.handleMessage). */
export function mountEvalsView(root: HTMLElement, host: EvalsHost): EvalsView {
  current?.dispose();
  current = new EvalsView(root, host);
  return current;
}

/** Routes a host message to the mounted view; false when it is not an evals message or nothing is mounted. */
export function handleEvalsMessage(msg: unknown): boolean {
  return current?.handleMessage(msg) ?? false;
}
