// Evals views for the webview: runs list, a run's samples table (sortable, keyboard accessible) with failure
// evidence, an item's document / summary / references side by side, small SVG charts, and run comparisons.
// Everything from documents or model output is untrusted: it is only ever set with textContent.

import type { EvalsRequest, EvalsResponse, EvalItemView } from '../../extension/evals/protocol';
import type { EvalProgress, LoadedRun, RunComparison, RunListEntry, SampleRecord, GroupSummary } from '../../extension/evals/types';
import { bars, histogram } from './charts';

export interface EvalsHost {
  post(msg: unknown): void;
}

type Child = Node | string | null | undefined | false;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { class?: string; attrs?: Record<string, string>; text?: string; on?: Partial<Record<keyof HTMLElementEventMap, (e: Event) => void>> } = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.class) node.className = props.class;
  if (props.attrs) for (const [k, v] of Object.entries(props.attrs)) node.setAttribute(k, v);
  if (props.text !== undefined) node.textContent = props.text;
  if (props.on) for (const [k, fn] of Object.entries(props.on)) node.addEventListener(k, fn as EventListener);
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return node;
}

const pct = (x: number | undefined) => (x === undefined ? '–' : (x * 100).toFixed(1));
const fixed = (x: number | undefined, d = 1) => (x === undefined ? '–' : x.toFixed(d));
const shortModel = (s: { modelName: string }) => s.modelName;

function formatEta(ms: number | undefined): string {
  if (ms === undefined) return '';
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

interface Column {
  key: string;
  label: string;
  numeric: boolean;
  value: (s: SampleRecord) => number | string | undefined;
  render?: (s: SampleRecord) => Node | string;
}

const SAMPLE_COLUMNS: Column[] = [
  { key: 'item', label: 'Item', numeric: false, value: (s) => s.itemId },
  { key: 'model', label: 'Model', numeric: false, value: (s) => s.modelName },
  { key: 'variant', label: 'Variant', numeric: false, value: (s) => s.variant },
  { key: 'r1', label: 'ROUGE-1', numeric: true, value: (s) => s.metrics?.rouge?.rouge1.fmeasure, render: (s) => pct(s.metrics?.rouge?.rouge1.fmeasure) },
  { key: 'r2', label: 'ROUGE-2', numeric: true, value: (s) => s.metrics?.rouge?.rouge2.fmeasure, render: (s) => pct(s.metrics?.rouge?.rouge2.fmeasure) },
  { key: 'rl', label: 'ROUGE-L', numeric: true, value: (s) => s.metrics?.rouge?.rougeL.fmeasure, render: (s) => pct(s.metrics?.rouge?.rougeL.fmeasure) },
  { key: 'words', label: 'Words', numeric: true, value: (s) => s.metrics?.summaryWords },
  { key: 'compression', label: 'Compr.', numeric: true, value: (s) => s.metrics?.compression, render: (s) => fixed(s.metrics?.compression) },
  { key: 'ttft', label: 'TTFT ms', numeric: true, value: (s) => s.speed?.timeToFirstTokenMs, render: (s) => fixed(s.speed?.timeToFirstTokenMs, 0) },
  { key: 'gen', label: 'Gen t/s', numeric: true, value: (s) => s.speed?.generatedTokensPerSecond, render: (s) => fixed(s.speed?.generatedTokensPerSecond) },
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
      if (s.error) return el('span', { class: 'evals-flag evals-flag-error', text: 'error', attrs: { title: s.error } });
      const wrap = el('span');
      for (const f of s.failures) {
        wrap.append(el('span', { class: `evals-flag evals-flag-${f.kind}`, text: f.kind, attrs: { title: `${f.message}: ${f.evidence}` } }));
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
    this.container = el('div', { class: 'evals-root' });
    root.append(this.container);
    this.request({ type: 'evals.listRuns' });
    this.render();
  }

  private request(msg: EvalsRequest): void {
    this.host.post(msg);
  }

  /** Handles a host message; returns false for messages that are not for this view. */
  handleMessage(msg: unknown): boolean {
    if (typeof msg !== 'object' || msg === null || typeof (msg as { type?: unknown }).type !== 'string') return false;
    const m = msg as EvalsResponse;
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
    const nav = el(
      'nav',
      { class: 'evals-nav', attrs: { 'aria-label': 'Evaluations' } },
      el('button', { text: 'Runs', attrs: { 'aria-pressed': String(this.mode === 'runs') }, on: { click: () => this.show('runs') } }),
      this.run && el('button', { text: `Run: ${this.run.id}`, attrs: { 'aria-pressed': String(this.mode === 'run') }, on: { click: () => this.show('run') } }),
      this.comparison && el('button', { text: 'Comparison', attrs: { 'aria-pressed': String(this.mode === 'compare') }, on: { click: () => this.show('compare') } }),
    );
    const body =
      this.mode === 'run' && this.run ? this.renderRun(this.run) : this.mode === 'compare' && this.comparison ? this.renderComparison(this.comparison) : this.renderRuns();
    const parts: Node[] = [nav];
    if (this.error) {
      parts.push(
        el(
          'div',
          { class: 'evals-error', attrs: { role: 'alert' } },
          el('span', { text: this.error }),
          el('button', { text: 'Dismiss', on: { click: () => { this.error = undefined; this.render(); } } }),
        ),
      );
    }
    parts.push(el('div', { class: 'evals-progress', attrs: { 'aria-live': 'polite' } }), body);
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
      const meter = el('progress', { attrs: { max: String(Math.max(1, p.total)), value: String(p.done), 'aria-label': `Progress of ${name}` } });
      const text = `${name}: ${p.done} of ${p.total}${p.itemId ? ` · ${p.itemId}` : ''}${p.etaMs !== undefined ? ` · ETA ${formatEta(p.etaMs)}` : ''}`;
      lines.push(el('div', { class: 'evals-progress-line' }, meter, el('span', { text })));
    }
    if (lines.length) lines.push(el('button', { text: 'Cancel run', on: { click: () => this.request({ type: 'evals.cancel' }) } }));
    box.replaceChildren(...lines);
  }

  // Runs list ----------------------------------------------------------------------------------------------------

  private renderRuns(): HTMLElement {
    const section = el('section', { class: 'evals-runs' });
    const compare = el('button', {
      text: `Compare selected (${this.selected.size})`,
      on: { click: () => this.request({ type: 'evals.compare', dirs: [...this.selected] }) },
    });
    compare.disabled = this.selected.size < 2;
    section.append(
      el('div', { class: 'evals-toolbar' }, el('h2', { text: 'Evaluation runs' }), el('button', { text: 'Refresh', on: { click: () => this.request({ type: 'evals.listRuns' }) } }), compare),
    );
    if (this.runs.length === 0) {
      section.append(el('p', { class: 'evals-empty', text: 'No runs yet. Run `moe-lens eval SUITE --model MODEL` or the “Run evaluation” command.' }));
      return section;
    }
    const table = el('table', { class: 'evals-table' });
    table.append(
      el('thead', {}, el('tr', {}, ...['', 'Run', 'Suite', 'Models', 'Variants', 'Status', 'Started', 'Samples'].map((h) => el('th', { text: h, attrs: { scope: 'col' } })))),
    );
    const tbody = el('tbody');
    for (const r of this.runs) {
      const box = el('input', { attrs: { type: 'checkbox', 'aria-label': `Select ${r.id} for comparison` } });
      box.checked = this.selected.has(r.dir);
      box.addEventListener('change', () => {
        if (box.checked) this.selected.add(r.dir);
        else this.selected.delete(r.dir);
        this.render();
      });
      const open = el('button', { class: 'evals-link', text: r.id, on: { click: () => this.request({ type: 'evals.openRun', dir: r.dir }) } });
      tbody.append(
        el(
          'tr',
          {},
          el('td', {}, box),
          el('td', {}, open),
          el('td', { text: r.suite }),
          el('td', { text: r.models.map((m) => m.split(/[\\/]/).pop()!).join(', ') }),
          el('td', { text: r.variants.join(', ') }),
          el('td', {}, el('span', { class: `evals-status evals-status-${r.status}`, text: r.status })),
          el('td', { text: r.startedAt.replace('T', ' ').slice(0, 19) }),
          el('td', { class: 'num', text: String(r.samples) }),
        ),
      );
    }
    table.append(tbody);
    section.append(table);
    return section;
  }

  // One run --------------------------------------------------------------------------------------------------------

  private renderRun(run: LoadedRun): HTMLElement {
    const section = el('section', { class: 'evals-run' });
    const info = run.info;
    section.append(
      el('h2', { text: `${info.suite.name} — ${run.id}` }),
      el(
        'p',
        { class: 'evals-meta' },
        `${info.status} · ${info.samples.done}/${info.samples.total} samples · ${info.mode} mode · maxTokens ${info.generation.maxTokens}, temperature ${info.generation.temperature}, seed ${info.generation.seed} · long inputs: ${info.longInput.strategy}`,
      ),
    );
    const groups = run.summary.groups;
    const label = (g: GroupSummary) => `${g.modelName} / ${g.variant}`;
    const rougeL = run.samples.map((s) => s.metrics?.rouge?.rougeL.fmeasure).filter((v): v is number => v !== undefined);
    section.append(
      el(
        'div',
        { class: 'evals-charts' },
        histogram(rougeL, { title: 'ROUGE-L F distribution', format: (x) => x.toFixed(1) }),
        bars(groups.map((g) => ({ label: label(g), value: g.rougeL?.mean })), { title: 'Mean ROUGE-L F', max: 1, format: (x) => (x * 100).toFixed(1) }),
        bars(groups.map((g) => ({ label: label(g), value: g.failureRates.any })), { title: 'Failure rate', max: 1, format: (x) => `${(x * 100).toFixed(0)}%` }),
        bars(groups.map((g) => ({ label: label(g), value: g.generatedTokensPerSecond?.mean })), { title: 'Generation tokens/s', format: (x) => x.toFixed(1) }),
      ),
    );
    section.append(this.renderGroups(groups));
    section.append(el('h3', { text: 'Samples' }), this.renderSamplesTable(run));
    if (this.sample) section.append(this.renderSample(this.sample));
    return section;
  }

  private renderGroups(groups: GroupSummary[]): HTMLElement {
    const table = el('table', { class: 'evals-table evals-groups' });
    const heads = ['Model', 'Variant', 'n', 'ROUGE-1', 'ROUGE-2', 'ROUGE-L (mean / median)', 'Refusal', 'Blank', 'Repetition', 'TTFT ms', 'Prompt t/s', 'Gen t/s', 'Load entropy', 'Errors'];
    table.append(el('caption', { text: 'Per model × variant' }), el('thead', {}, el('tr', {}, ...heads.map((h) => el('th', { text: h, attrs: { scope: 'col' } })))));
    const tbody = el('tbody');
    for (const g of groups) {
      const rate = (x: number) => el('td', { class: `num${x > 0 ? ' evals-bad' : ''}`, text: `${(x * 100).toFixed(0)}%` });
      tbody.append(
        el(
          'tr',
          {},
          el('td', { text: g.modelName, attrs: { title: g.model } }),
          el('td', { text: g.variant }),
          el('td', { class: 'num', text: String(g.samples) }),
          el('td', { class: 'num', text: pct(g.rouge1?.mean) }),
          el('td', { class: 'num', text: pct(g.rouge2?.mean) }),
          el('td', { class: 'num', text: `${pct(g.rougeL?.mean)} / ${pct(g.rougeL?.median)}` }),
          rate(g.failureRates.refusal),
          rate(g.failureRates.blank),
          rate(g.failureRates.repetition),
          el('td', { class: 'num', text: fixed(g.timeToFirstTokenMs?.mean, 0) }),
          el('td', { class: 'num', text: fixed(g.promptTokensPerSecond?.mean) }),
          el('td', { class: 'num', text: fixed(g.generatedTokensPerSecond?.mean) }),
          el('td', { class: 'num', text: fixed(g.loadEntropy?.mean, 2) }),
          el('td', { class: `num${g.errors ? ' evals-bad' : ''}`, text: String(g.errors) }),
        ),
      );
    }
    table.append(tbody);
    return table;
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
    const table = el('table', { class: 'evals-table evals-samples' });
    const headRow = el('tr');
    for (const c of SAMPLE_COLUMNS) {
      const active = this.sort.key === c.key;
      const th = el('th', {
        attrs: { scope: 'col', 'aria-sort': active ? (this.sort.dir === 1 ? 'ascending' : 'descending') : 'none' },
        class: c.numeric ? 'num' : '',
      });
      const button = el('button', {
        class: 'evals-sort',
        text: `${c.label}${active ? (this.sort.dir === 1 ? ' ▲' : ' ▼') : ''}`,
        attrs: { 'data-key': c.key },
        on: {
          click: () => {
            this.sort = { key: c.key, dir: active ? (this.sort.dir === 1 ? -1 : 1) : c.numeric ? -1 : 1 };
            this.render();
            (this.container.querySelector(`button.evals-sort[data-key="${c.key}"]`) as HTMLButtonElement | null)?.focus();
          },
        },
      });
      th.append(button);
      headRow.append(th);
    }
    table.append(el('thead', {}, headRow));
    const tbody = el('tbody');
    for (const s of this.sortedSamples(run.samples)) {
      const open = () => {
        this.sample = s;
        this.item = undefined;
        this.request({ type: 'evals.openItem', dir: run.dir, itemId: s.itemId });
        this.render();
      };
      const tr = el('tr', {
        class: `${s.failures.length || s.error ? 'evals-flagged' : ''}${this.sample?.key === s.key ? ' evals-selected' : ''}`,
        attrs: { tabindex: '0', 'aria-label': `${s.itemId}, ${s.modelName}, ${s.variant}: open` },
        on: {
          click: open,
          keydown: (e) => {
            const k = (e as KeyboardEvent).key;
            if (k === 'Enter' || k === ' ') {
              e.preventDefault();
              open();
            }
          },
        },
      });
      for (const c of SAMPLE_COLUMNS) {
        const content = c.render ? c.render(s) : String(c.value(s) ?? '–');
        tr.append(el('td', { class: c.numeric ? 'num' : '' }, content));
      }
      tbody.append(tr);
    }
    table.append(tbody);
    return table;
  }

  private renderSample(s: SampleRecord): HTMLElement {
    const section = el('section', { class: 'evals-sample', attrs: { 'aria-label': `Sample ${s.itemId}` } });
    section.append(el('h3', { text: `${s.itemId}${s.title ? ` — ${s.title}` : ''} · ${shortModel(s)} · ${s.variant}` }));
    if (s.error) section.append(el('p', { class: 'evals-flag-error', text: `Error: ${s.error}` }));
    if (s.failures.length) {
      const list = el('ul', { class: 'evals-failures' });
      for (const f of s.failures) {
        list.append(el('li', {}, el('span', { class: `evals-flag evals-flag-${f.kind}`, text: f.kind }), ` ${f.message}: `, el('q', { class: 'evals-evidence', text: f.evidence })));
      }
      section.append(list);
    }
    const facts: string[] = [];
    if (s.strategy) {
      facts.push(`document ${s.strategy.documentTokens} tokens, prompt ${s.strategy.promptTokens} of ${s.strategy.budgetTokens}`);
      if (s.strategy.strategy === 'truncate-middle') facts.push(`middle truncated: ${s.strategy.tokensDropped} tokens dropped`);
      if (s.strategy.strategy === 'map-reduce') facts.push(`map-reduce: ${s.strategy.chunks} chunks, ${s.strategy.chunksMerged} summaries merged, ${s.strategy.levels} level(s)`);
    }
    if (s.speed) facts.push(`TTFT ${s.speed.timeToFirstTokenMs.toFixed(0)} ms, prompt ${s.speed.promptTokensPerSecond.toFixed(1)} t/s, generation ${s.speed.generatedTokensPerSecond.toFixed(1)} t/s, stop: ${s.speed.stopReason}`);
    if (s.metrics?.repetition) {
      const r = s.metrics.repetition;
      facts.push(`repeated ${r.n}-grams ${(r.repeatedNgramRate * 100).toFixed(0)}%, distinct-1 ${r.distinct1.toFixed(2)}, distinct-2 ${r.distinct2.toFixed(2)}, longest repeat ${r.longestRepeatedSpanWords} words`);
    }
    if (s.routing) {
      facts.push(`routing: load entropy ${s.routing.meanLoadEntropy.toFixed(2)}, same top-1 as previous token ${(s.routing.meanSameTop1Rate * 100).toFixed(0)}% (uniform ${(s.routing.sameTop1Baseline * 100).toFixed(0)}%)`);
    }
    if (facts.length) section.append(el('ul', { class: 'evals-facts' }, ...facts.map((f) => el('li', { text: f }))));

    const item = this.item;
    const refs = item ? item.references : [];
    const columns = el('div', { class: 'evals-side-by-side' });
    columns.append(
      el('div', { class: 'evals-pane' }, el('h4', { text: 'Document' }), el('pre', { class: 'evals-text', text: item === undefined ? 'Loading…' : item === null ? '(not found in this run)' : item.document })),
      el('div', { class: 'evals-pane' }, el('h4', { text: 'Summary' }), el('pre', { class: 'evals-text', text: s.output })),
      el(
        'div',
        { class: 'evals-pane' },
        el('h4', { text: refs.length > 1 ? `References (${refs.length})` : 'Reference' }),
        ...(refs.length ? refs.map((r) => el('pre', { class: 'evals-text', text: r })) : [el('p', { class: 'evals-empty', text: item === undefined ? 'Loading…' : 'No reference for this item.' })]),
      ),
    );
    section.append(columns);
    return section;
  }

  // Comparison ---------------------------------------------------------------------------------------------------

  private renderComparison(c: RunComparison): HTMLElement {
    const section = el('section', { class: 'evals-compare' });
    section.append(el('h2', { text: `Comparison of ${new Set(c.columns.map((x) => x.run)).size} runs` }));
    const rl = c.metrics.find((m) => m.name.startsWith('ROUGE-L F (mean)'));
    const speed = c.metrics.find((m) => m.name.startsWith('Generated tokens/s'));
    section.append(
      el(
        'div',
        { class: 'evals-charts' },
        rl ? bars(c.columns.map((col, i) => ({ label: col.label, value: rl.values[i] })), { title: 'Mean ROUGE-L F', max: 1, format: (x) => (x * 100).toFixed(1) }) : null,
        speed ? bars(c.columns.map((col, i) => ({ label: col.label, value: speed.values[i] })), { title: 'Generation tokens/s', format: (x) => x.toFixed(1) }) : null,
      ),
    );
    const table = el('table', { class: 'evals-table evals-compare-table' });
    table.append(el('thead', {}, el('tr', {}, el('th', { text: 'Metric', attrs: { scope: 'col' } }), ...c.columns.map((col) => el('th', { text: col.label, attrs: { scope: 'col', title: col.runDir } })))));
    const tbody = el('tbody');
    for (const m of c.metrics) {
      const present = m.values.filter((v): v is number => v !== undefined);
      const best = present.length > 1 ? (m.better === 'higher' ? Math.max(...present) : Math.min(...present)) : undefined;
      const isRate = m.name.includes('rate');
      const isScore = m.name.startsWith('ROUGE');
      const fmt = (v: number | undefined) => (v === undefined ? '–' : isRate ? `${(v * 100).toFixed(0)}%` : isScore ? (v * 100).toFixed(1) : v.toFixed(1));
      tbody.append(
        el(
          'tr',
          {},
          el('th', { text: `${m.name} ${m.better === 'higher' ? '↑' : '↓'}`, attrs: { scope: 'row' } }),
          ...m.values.map((v) => el('td', { class: `num${best !== undefined && v === best ? ' evals-best' : ''}`, text: fmt(v) })),
        ),
      );
    }
    table.append(tbody);
    section.append(table);

    const items = el('table', { class: 'evals-table' });
    items.append(el('caption', { text: 'ROUGE-L F per item' }), el('thead', {}, el('tr', {}, el('th', { text: 'Item', attrs: { scope: 'col' } }), ...c.columns.map((col) => el('th', { text: col.label, attrs: { scope: 'col' } })))));
    const ib = el('tbody');
    for (const it of c.items) {
      ib.append(
        el(
          'tr',
          {},
          el('th', { text: it.itemId, attrs: { scope: 'row', title: it.title ?? '' } }),
          ...it.rougeL.map((v, i) =>
            el('td', { class: `num${it.failures[i]?.length ? ' evals-bad' : ''}`, text: `${pct(v)}${it.failures[i]?.length ? ` (${it.failures[i].join(', ')})` : ''}` }),
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
