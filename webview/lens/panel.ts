// The expert lens panel: legend and colour mode, the selected token's layer × expert grid and path,
// aggregates of the selected message and of the conversation, a comparison of two messages, exports.

import type { WebviewToHost } from '../../extension/protocol';
import { compareSummaries, float32Shortest, type RoutingSummary, type LayerStats } from '../../extension/routing';
import { formatDecimal, formatPercent, routingAbsenceText } from '../../extension/format';
import { button, dropdown, h, tabs, type Dropdown, type Tabs } from '../components';
import type { Store, TurnModel } from '../store';
import { ROLE_LABEL } from '../chat/turn-view';
import { explanation } from './explain';
import { installPalette } from './palette';
import './lens.css';

export type LensTab = 'token' | 'message' | 'conversation' | 'compare';

export interface LensUi {
  mode: string;
  tab: LensTab;
  heat: 'topk' | 'top1';
  numbers: boolean;
  explainOpen: boolean;
  compareA?: string;
  compareB?: string;
}

export interface LensHooks {
  post(message: WebviewToHost): void;
  ui(): LensUi;
  setUi(patch: Partial<LensUi>): void;
  selection(): { turnId: string; pos: number } | undefined;
  selectedTurn(): TurnModel | undefined;
  close(): void;
  /** An expert's context menu in the token grid (interventions.ts). */
  expertMenu?(cell: HTMLElement, at?: { x: number; y: number }): void;
  /** The what-if comparison shown above the tabs (interventions.ts), if any. */
  whatIf?(): HTMLElement | undefined;
}


function turnLabel(store: Store, t: TurnModel): string {
  const n = store.turns.indexOf(t) + 1;
  const who = ROLE_LABEL[t.info.role] ?? t.info.role;
  const text = t.info.display.replace(/\s+/g, ' ').trim();
  return `#${n} ${who}: ${text.length > 32 ? text.slice(0, 31) + '…' : text || '(empty)'}`;
}

/** The colour scale under a heat map: 0 … max (counts), or −max … 0 … +max (a difference, two hues). */
export function heatScale(max: number, unit: string, diverging = false, testid = 'heat-scale'): HTMLElement {
  const bar = h('span', { class: diverging ? 'scale-bar diverging' : 'scale-bar' });
  const ends = diverging ? [`−${max}`, '0', `+${max}`] : ['0', String(max)];
  return h(
    'div',
    { class: 'heat-scale', 'data-testid': testid, 'data-max': max, role: 'img', 'aria-label': diverging ? `Colour scale: −${max} (blue) to +${max} ${unit} (red)` : `Colour scale: 0 to ${max} ${unit}` },
    h('span', { class: 'scale-end' }, ends[0]),
    bar,
    ...ends.slice(1).map((t, i, all) => h('span', { class: i === all.length - 1 ? 'scale-end' : 'scale-mid' }, t)),
    h('span', { class: 'muted scale-unit' }, unit),
  );
}

/** The header row of a layer × expert grid: `L \ E`, then the expert numbers. */
function gridHead(E: number): HTMLElement {
  const head = h('div', { role: 'row', class: 'grid-row grid-head' }, h('span', { role: 'columnheader', class: 'grid-label' }, 'L \\ E'));
  for (let e = 0; e < E; e++) head.append(h('span', { role: 'columnheader', class: 'grid-col' }, String(e)));
  return head;
}

export class LensPanel {
  readonly el: HTMLElement;
  private layerSelect: Dropdown;
  private status: HTMLElement;
  private explainEl: HTMLElement;
  private legend: HTMLElement;
  private title: HTMLElement;
  private tabs: Tabs;
  private numbersBtn: HTMLElement;
  private whatIfSlot: HTMLElement;
  private lastLegendKey = '';

  constructor(
    private store: Store,
    private hooks: LensHooks,
  ) {
    this.title = h('span', { class: 'lens-subtitle', 'data-testid': 'lens-title' });
    this.layerSelect = dropdown({ testid: 'layer-select', label: 'Colour tokens by the top-1 expert of', onChange: (v) => this.hooks.setUi({ mode: v }) });
    this.numbersBtn = button('#', {
      testid: 'lens-numbers',
      appearance: 'icon',
      title: 'Show expert numbers on tokens',
      onClick: () => this.hooks.setUi({ numbers: !this.hooks.ui().numbers }),
    });
    const explainLink = h('a', { href: '#', class: 'explain-link', 'data-testid': 'lens-explain-link', role: 'button' }, 'What am I looking at?');
    explainLink.addEventListener('click', (e) => {
      e.preventDefault();
      this.hooks.setUi({ explainOpen: !this.hooks.ui().explainOpen });
    });
    const close = button('✕', { testid: 'lens-close', appearance: 'icon', title: 'Close the expert lens', onClick: () => this.hooks.close() });
    const popOut = button('↗', {
      testid: 'lens-pop-out',
      appearance: 'icon',
      title: 'Open the lens in an editor tab (full width)',
      attrs: { 'aria-label': 'Open the lens in an editor tab' },
      onClick: () => this.hooks.post({ type: 'lens.openInEditor', turnId: this.hooks.selectedTurn()?.id }),
    });
    this.status = h('div', { class: 'lens-status', 'data-testid': 'lens-status', role: 'status' });
    this.explainEl = explanation();
    this.legend = h('div', { class: 'legend', 'data-testid': 'lens-legend', 'aria-label': 'Expert colours' });
    this.whatIfSlot = h('div', { class: 'what-if-slot' });
    this.tabs = tabs({
      testid: 'lens-tab',
      label: 'Expert lens views',
      tabs: [
        { id: 'token', label: 'Token' },
        { id: 'message', label: 'Message' },
        { id: 'conversation', label: 'Conversation' },
        { id: 'compare', label: 'Compare' },
      ],
      selected: hooks.ui().tab,
      onSelect: (id) => {
        if (id !== this.hooks.ui().tab) this.hooks.setUi({ tab: id as LensTab });
      },
    });
    this.el = h(
      'section',
      { class: 'lens', 'data-testid': 'lens', 'aria-label': 'Expert lens' },
      h('div', { class: 'lens-bar' }, h('strong', {}, 'Expert lens'), this.title, h('span', { class: 'spacer' }), popOut, close),
      h('div', { class: 'lens-controls' }, h('label', { class: 'control-label' }, 'Colour by'), this.layerSelect.el, this.numbersBtn, explainLink),
      this.status,
      this.explainEl,
      this.legend,
      this.whatIfSlot,
      this.tabs.el,
    );
  }

  /** Re-render everything that depends on store + UI state. */
  render(): void {
    const ui = this.hooks.ui();
    const model = this.store.model;
    const info = model.info;
    const turn = this.hooks.selectedTurn();
    this.title.textContent = turn ? turnLabel(this.store, turn) : '';
    this.explainEl.hidden = !ui.explainOpen;
    this.numbersBtn.setAttribute('aria-pressed', String(ui.numbers));

    const layers = this.layerCount();
    const opts = [
      { value: 'mode', label: 'All layers: most frequent top-1' },
      { value: 'agree', label: 'All layers: path agreement' },
      ...Array.from({ length: layers }, (_, l) => ({ value: String(l), label: `Layer ${this.store.layerId(l)}` })),
    ];
    this.layerSelect.setOptions(opts, opts.some((o) => o.value === ui.mode) ? ui.mode : 'mode');

    // Status: why the lens may have nothing to show.
    const status: (string | Node)[] = [];
    if (!info) status.push('No model loaded. Select a model to see which experts each token uses.');
    else if (!info.capabilities.routingIds) status.push(routingAbsenceText(info.capabilities.routingAbsent, info.name));
    else if (!model.captureRouting) {
      status.push(
        'Routing capture is off: new tokens are generated without recording the router’s choices. ',
        button('Turn capture on', { testid: 'enable-capture', appearance: 'primary', onClick: () => this.hooks.post({ type: 'routing.setCapture', enabled: true }) }),
      );
    } else if (turn && !turn.hasRouting) status.push('No routing was recorded for this message.');
    else if (!turn) status.push('Select a message: click its ◧ button or one of its tokens.');
    this.status.replaceChildren(...status);
    this.status.hidden = status.length === 0;
    const absent = info?.capabilities.routingAbsent;
    this.el.dataset.state = !info ? 'no-model' : !info.capabilities.routingIds ? (absent === 'dense-model' ? 'dense' : 'no-routing') : !model.captureRouting ? 'capture-off' : 'ok';

    this.renderLegend(ui.mode);
    const whatIf = this.hooks.whatIf?.();
    this.whatIfSlot.replaceChildren(...(whatIf ? [whatIf] : []));
    this.tabs.select(ui.tab);
    for (const id of ['token', 'message', 'conversation', 'compare'] as LensTab[]) {
      const view = this.tabs.view(id);
      if (id !== ui.tab) {
        view.replaceChildren();
        continue;
      }
      if (id === 'token') view.replaceChildren(this.tokenDetail());
      else if (id === 'message') view.replaceChildren(turn && turn.hasRouting ? this.aggregates(turn.agg.summary(), 'message', [turn.id]) : h('p', { class: 'muted' }, 'No routing for the selected message.'));
      else if (id === 'conversation') {
        const { agg, skipped } = this.store.conversationAggregate();
        view.replaceChildren(
          agg.tokens > 0
            ? this.aggregates(agg.summary(), 'conversation', this.store.turns.filter((t) => t.hasRouting).map((t) => t.id))
            : h('p', { class: 'muted' }, 'No routing recorded in this conversation yet.'),
        );
        if (skipped > 0) view.append(h('p', { class: 'muted', 'data-testid': 'aggregates-skipped' }, `${skipped} message(s) routed by a model of another shape are not included.`));
      } else view.replaceChildren(this.compare());
    }
  }

  private layerCount(): number {
    for (const t of this.store.turns) if (t.agg.layers) return t.agg.layers;
    return this.store.moeLayers.length || this.store.model.info?.routing?.moeLayers.length || 0;
  }

  private experts(): number {
    let e = this.store.model.info?.routing?.experts ?? 0;
    for (const t of this.store.turns) e = Math.max(e, t.agg.experts);
    return e;
  }

  private renderLegend(mode: string): void {
    const E = this.experts();
    const key = `${mode}:${E}`;
    if (key === this.lastLegendKey) return;
    this.lastLegendKey = key;
    installPalette(E);
    if (mode === 'agree') {
      this.legend.replaceChildren(
        h('span', { class: 'legend-label' }, 'Layers keeping the previous token’s top-1:'),
        ...['0–20%', '20–40%', '40–60%', '60–80%', '80–100%'].map((label, i) => h('span', { class: `legend-item tok a${i}`, 'data-agree-bucket': i }, label)),
      );
      return;
    }
    const items: Node[] = [h('span', { class: 'legend-label' }, mode === 'mode' ? 'Most frequent top-1 expert:' : `Top-1 expert at layer ${this.store.layerId(Number(mode))}:`)];
    for (let e = 0; e < E; e++) items.push(h('span', { class: `legend-item tok x${e}`, 'data-expert': e, 'data-testid': 'legend-item' }, `E${e}`));
    this.legend.replaceChildren(...items);
  }

  /** The grid of the last rendered token, reused while the shape (layers × experts) stays the same. */
  private gridCache: { grid: HTMLElement; layers: number; E: number; key: string; cells: HTMLElement[]; chosen: HTMLElement[] } | undefined;

  /** Re-render only the token tab (selection changed). */
  renderToken(): void {
    if (this.hooks.ui().tab !== 'token') return;
    const view = this.tabs.view('token');
    view.replaceChildren(this.tokenDetail());
    const turn = this.hooks.selectedTurn();
    this.title.textContent = turn ? turnLabel(this.store, turn) : '';
  }

  private tokenDetail(): HTMLElement {
    const sel = this.hooks.selection();
    const turn = sel ? this.store.get(sel.turnId) : undefined;
    const tok = turn && sel ? turn.routing.token(sel.pos) : undefined;
    if (!turn || !tok || !sel) return h('p', { class: 'muted', 'data-testid': 'token-detail-empty' }, 'Select a token: click it, or focus the tokens and use the arrow keys.');
    const E = Math.max(this.experts(), turn.agg.experts);
    // One numbering everywhere (token view, what-if, exports): within the message, from 1.
    const number = sel.pos + 1;
    const root = h('div', { class: 'token-detail', 'data-testid': 'token-detail', 'data-pos': sel.pos, 'data-number': number, 'data-turn-id': turn.id });
    root.append(
      h(
        'div',
        { class: 'token-head' },
        h('code', { class: 'token-text' }, JSON.stringify(tok.text)),
        h('span', { class: 'muted' }, ` token ${number} of ${turn.routing.count} · id ${tok.id} · ${tok.phase === 'prompt' ? 'prompt' : 'generated'}`),
      ),
    );
    if (tok.layers === 0) {
      root.append(h('p', { class: 'muted' }, 'No routing was recorded for this token.'));
      return root;
    }
    const { layers, k } = tok;
    // Path of top-1 experts.
    const path = h('div', { class: 'path', 'data-testid': 'token-path', 'aria-label': 'Top-1 expert per layer' });
    for (let l = 0; l < layers; l++) {
      const e = tok.experts[l * k];
      const w = float32Shortest(tok.weights[l * k]);
      const label = `Layer ${this.store.layerId(l)}: top-1 expert ${e}, gate weight ${w}`;
      path.append(h('span', { class: `chip tok x${e}`, 'data-layer': l, 'data-expert': e, title: label, 'aria-label': label, tabindex: -1 }, String(e)));
    }
    root.append(h('div', { class: 'section-label' }, 'Path of top-1 experts (layer 0 → last)'), path);

    // Layer × expert grid: built once per shape, then only the chosen cells change between tokens.
    let cache = this.gridCache;
    const key = `${layers}x${E}:${this.store.moeLayers.join(',')}`;
    if (!cache || cache.key !== key) cache = this.gridCache = { ...this.buildGrid(layers, E), key };
    const { grid, cells } = cache;
    for (const cell of cache.chosen) {
      const l = Number(cell.dataset.layer);
      const e = Number(cell.dataset.expert);
      cell.className = 'cell';
      cell.removeAttribute('data-weight');
      cell.removeAttribute('data-rank');
      cell.tabIndex = -1;
      cell.replaceChildren();
      const label = `Layer ${this.store.layerId(l)}, expert ${e}: not chosen`;
      cell.title = label;
      cell.setAttribute('aria-label', label);
    }
    cache.chosen = [];
    for (let l = 0; l < layers; l++) {
      for (let r = 0; r < k; r++) {
        const e = tok.experts[l * k + r];
        const cell = cells[l * E + e];
        if (!cell) continue;
        const weight = tok.weights[l * k + r];
        const w = float32Shortest(weight);
        cell.className = `cell chosen x${e}`;
        cell.setAttribute('data-weight', String(w));
        cell.setAttribute('data-rank', String(r));
        const label = `Layer ${this.store.layerId(l)}, expert ${e}: rank ${r + 1} of ${k}, gate weight ${w}`;
        cell.title = label;
        cell.setAttribute('aria-label', label);
        const fill = h('span', { class: 'fill' });
        fill.style.width = `${Math.max(0, Math.min(1, weight)) * 100}%`;
        cell.replaceChildren(fill);
        cache.chosen.push(cell);
      }
    }
    if (cache.chosen[0]) cache.chosen[0].tabIndex = 0;
    grid.setAttribute('aria-label', `Gate weights of token ${number}: rows are layers, columns experts`);
    root.append(h('div', { class: 'section-label' }, `Gate weights: ${layers} layers × ${E} experts, top-${k} filled by weight`), grid);
    return root;
  }

  private buildGrid(layers: number, E: number): Omit<NonNullable<LensPanel['gridCache']>, 'key'> {
    const grid = h('div', { class: 'grid', role: 'grid', 'data-testid': 'token-grid', 'aria-rowcount': layers + 1, 'aria-colcount': E + 1 });
    grid.style.gridTemplateColumns = `auto repeat(${E}, minmax(10px, 1fr))`;
    grid.append(gridHead(E));
    const cells: HTMLElement[] = [];
    for (let l = 0; l < layers; l++) {
      const row = h('div', { role: 'row', class: 'grid-row', 'data-layer': l }, h('span', { role: 'rowheader', class: 'grid-label' }, `L${this.store.layerId(l)}`));
      for (let e = 0; e < E; e++) {
        const label = `Layer ${this.store.layerId(l)}, expert ${e}: not chosen`;
        const cell = h('span', { role: 'gridcell', class: 'cell', 'data-testid': 'grid-cell', 'data-layer': l, 'data-layer-id': this.store.layerId(l), 'data-expert': e, tabindex: -1, title: label, 'aria-label': label });
        cells.push(cell);
        row.append(cell);
      }
      grid.append(row);
    }
    grid.addEventListener('keydown', (ev) => this.gridKey(grid, ev, E));
    // An expert's actions (regenerate without it, force it): right-click, or the context-menu key / Shift+F10.
    grid.addEventListener('contextmenu', (ev) => {
      const cell = (ev.target as HTMLElement).closest('.cell') as HTMLElement | null;
      if (!cell || !this.hooks.expertMenu) return;
      ev.preventDefault();
      this.hooks.expertMenu(cell, ev.clientX || ev.clientY ? { x: ev.clientX, y: ev.clientY } : undefined);
    });
    return { grid, layers, E, cells, chosen: [] };
  }

  private gridKey(grid: HTMLElement, e: KeyboardEvent, E: number): void {
    const cell = (e.target as HTMLElement).closest('.cell') as HTMLElement | null;
    if (!cell) return;
    const l = Number(cell.dataset.layer);
    const x = Number(cell.dataset.expert);
    const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const m = moves[e.key];
    if (!m) return;
    e.preventDefault();
    const next = grid.querySelector(`.cell[data-layer="${l + m[0]}"][data-expert="${Math.max(0, Math.min(E - 1, x + m[1]))}"]`) as HTMLElement | null;
    if (next) {
      cell.tabIndex = -1;
      next.tabIndex = 0;
      next.focus();
    }
  }

  /** A heat map of tokens per layer × expert with its colour scale. */
  heatmap(s: RoutingSummary, which: 'topk' | 'top1', testid = 'heatmap'): HTMLElement {
    const values = s.perLayer.map((L) => Array.from({ length: s.experts }, (_, e) => L[which][e] ?? 0));
    const max = Math.max(0, ...values.flat());
    return h('div', { class: 'heat-wrap' }, this.heatGrid(s, which, testid, max), heatScale(max, which === 'topk' ? `tokens in top-${s.k}` : 'tokens top-1'));
  }

  /** The heat map's grid: one cell per layer and expert, filled by `value / max` (or by |value| in two hues when `diff`). */
  heatGrid(s: RoutingSummary, which: 'topk' | 'top1', testid: string, max: number, diff?: number[][]): HTMLElement {
    const E = s.experts;
    const grid = h('div', { class: 'grid heat', role: 'grid', 'data-testid': testid, 'data-which': which, 'aria-label': `Tokens per layer and expert (${which === 'topk' ? 'in top-k' : 'top-1'})` });
    grid.style.gridTemplateColumns = `auto repeat(${E}, minmax(8px, 1fr))`;
    grid.append(gridHead(E));
    s.perLayer.forEach((L, i) => {
      const row = h('div', { role: 'row', class: 'grid-row' }, h('span', { role: 'rowheader', class: 'grid-label' }, `L${this.store.layerId(L.layer)}`));
      const total = s.tokens;
      for (let e = 0; e < E; e++) {
        const d = diff?.[i]?.[e];
        const v = d ?? L[which][e] ?? 0;
        const where = `Layer ${this.store.layerId(L.layer)}, expert ${e}`;
        const label =
          d !== undefined
            ? `${where}: ${d > 0 ? '+' : ''}${d} tokens in top-${s.k} (regenerated − original)`
            : `${where}: ${L.top1[e] ?? 0} tokens top-1, ${L.topk[e] ?? 0} in top-${s.k} (${formatPercent(total ? (L.topk[e] ?? 0) / total : 0)} of tokens)`;
        const cell = h('span', { role: 'gridcell', class: 'cell heat-cell', 'data-testid': 'heat-cell', 'data-layer': L.layer, 'data-expert': e, 'data-count': v, title: label, 'aria-label': label });
        const fill = h('span', { class: d === undefined ? 'heat-fill' : d < 0 ? 'heat-fill less' : 'heat-fill more' });
        fill.style.opacity = String(max ? Math.abs(v) / max : 0);
        cell.append(fill);
        row.append(cell);
      }
      grid.append(row);
    });
    return grid;
  }

  private bar(value: number | null, baseline: number | null, max = 1): HTMLElement {
    const wrap = h('span', { class: 'bar' });
    const fill = h('span', { class: 'bar-fill' });
    fill.style.width = `${value === null ? 0 : Math.min(1, value / max) * 100}%`;
    wrap.append(fill);
    if (baseline !== null && Number.isFinite(baseline)) {
      const tick = h('span', { class: 'bar-base', title: `uniform router: ${formatPercent(baseline, 2)}` });
      tick.style.left = `${Math.min(1, baseline / max) * 100}%`;
      wrap.append(tick);
    }
    return wrap;
  }

  private statCell(value: number | null, baseline: number | null, asPct: boolean, metric: string): HTMLElement {
    const text = asPct ? formatPercent(value) : formatDecimal(value, 2);
    return h('td', { 'data-metric': metric, 'data-value': value === null ? '' : String(value) }, h('span', { class: 'stat-value' }, text), this.bar(value, baseline));
  }

  private statsTable(s: RoutingSummary): HTMLElement {
    const b = s.baselines;
    const table = h('table', { class: 'stats-table', 'data-testid': 'layer-stats' });
    table.append(
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Layer'),
          h('th', { scope: 'col', title: 'Entropy of the top-k load over experts ÷ ln E (1 = balanced)' }, 'Load H'),
          h('th', { scope: 'col', title: 'Mean entropy of a token’s k gate weights ÷ ln k' }, 'Gate H'),
          h('th', { scope: 'col', title: 'Token keeps the previous token’s top-1 expert' }, 'Keep top-1'),
          h('th', { scope: 'col', title: 'Token’s top-k set equals the previous token’s' }, `Keep top-${s.k}`),
          h('th', { scope: 'col', title: 'Token shares at least one expert with the previous token' }, 'Share ≥1'),
        ),
        h(
          'tr',
          { class: 'baseline-row', 'data-testid': 'baselines', 'data-keep-top1': b.keepTop1, 'data-keep-set': b.keepSet, 'data-share-any': b.shareAny },
          h('th', { scope: 'row', title: 'What a router choosing experts uniformly at random would score' }, 'uniform'),
          h('td', {}, formatDecimal(1, 2)),
          h('td', {}, '–'),
          h('td', { title: `1/E = 1/${s.experts}` }, formatPercent(b.keepTop1)),
          h('td', { title: `1/C(E,k) = 1/C(${s.experts},${s.k})` }, formatPercent(b.keepSet, 2)),
          h('td', { title: `1 − C(E−k,k)/C(E,k)` }, formatPercent(b.shareAny)),
        ),
      ),
    );
    const tbody = h('tbody', {});
    const row = (label: string, L: Pick<LayerStats, 'loadEntropy' | 'gateEntropyNormK' | 'keepTop1' | 'keepSet' | 'shareAny'>, attrs: Record<string, string | number>) =>
      h(
        'tr',
        attrs,
        h('th', { scope: 'row' }, label),
        this.statCell(L.loadEntropy, 1, false, 'loadEntropy'),
        this.statCell(L.gateEntropyNormK, null, false, 'gateEntropy'),
        this.statCell(L.keepTop1, b.keepTop1, true, 'keepTop1'),
        this.statCell(L.keepSet, b.keepSet, true, 'keepSet'),
        this.statCell(L.shareAny, b.shareAny, true, 'shareAny'),
      );
    tbody.append(row('mean', s.mean, { class: 'mean-row', 'data-testid': 'stats-mean' }));
    for (const L of s.perLayer) tbody.append(row(`L${this.store.layerId(L.layer)}`, L, { 'data-layer': L.layer, 'data-testid': 'stats-row' }));
    table.append(tbody);
    return table;
  }

  private exportButtons(scope: string, turnIds: string[]): HTMLElement {
    return h(
      'div',
      { class: 'exports' },
      h('span', { class: 'muted' }, `Export ${scope} routing:`),
      button('JSONL', { testid: 'export-jsonl', appearance: 'secondary', title: 'One JSON object per token', attrs: { 'data-scope': scope }, onClick: () => this.hooks.post({ type: 'routing.export', format: 'jsonl', turnIds }) }),
      button('CSV', { testid: 'export-csv', appearance: 'secondary', title: 'One row per token, layer and rank', attrs: { 'data-scope': scope }, onClick: () => this.hooks.post({ type: 'routing.export', format: 'csv', turnIds }) }),
    );
  }

  private aggregates(s: RoutingSummary, scope: 'message' | 'conversation', turnIds: string[]): HTMLElement {
    const ui = this.hooks.ui();
    const which = ui.heat;
    const toggle = button(which === 'topk' ? `Showing top-${s.k}` : 'Showing top-1', {
      testid: 'heat-mode',
      appearance: 'secondary',
      title: 'Switch the heat map between top-1 and top-k counts',
      onClick: () => this.hooks.setUi({ heat: which === 'topk' ? 'top1' : 'topk' }),
    });
    return h(
      'section',
      { class: 'aggregates', 'data-testid': 'aggregates', 'data-scope': scope, 'data-tokens': s.tokens },
      h('p', { class: 'muted summary' }, `${s.tokens} tokens · ${s.pairs} token pairs · ${s.layers} layers · ${s.experts} experts · top-${s.k}`),
      h('div', { class: 'section-label' }, 'Tokens per layer × expert ', toggle),
      this.heatmap(s, which),
      h('div', { class: 'section-label' }, 'Per layer, with the uniform router beside it (tick on each bar)'),
      h('div', { class: 'table-wrap' }, this.statsTable(s)),
      this.exportButtons(scope, turnIds),
    );
  }

  private compare(): HTMLElement {
    const ui = this.hooks.ui();
    const candidates = this.store.turns.filter((t) => t.hasRouting);
    if (candidates.length < 2) return h('p', { class: 'muted', 'data-testid': 'compare-empty' }, 'Compare needs two messages with routing.');
    // By default the last two answers (else the last two messages with routing), never a prompt against its own answer
    // when there are two answers to compare.
    const answers = candidates.filter((t) => t.info.role === 'assistant');
    const [defA, defB] = (answers.length >= 2 ? answers : candidates).slice(-2);
    const aId = candidates.some((t) => t.id === ui.compareA) ? ui.compareA! : defA.id;
    let bId = candidates.some((t) => t.id === ui.compareB) ? ui.compareB! : defB.id;
    if (bId === aId) bId = candidates.find((t) => t.id !== aId)!.id;
    const options = candidates.map((t) => ({ value: t.id, label: turnLabel(this.store, t) }));
    const da = dropdown({ testid: 'compare-a', label: 'Message A', onChange: (v) => this.hooks.setUi({ compareA: v }) });
    const db = dropdown({ testid: 'compare-b', label: 'Message B', onChange: (v) => this.hooks.setUi({ compareB: v }) });
    da.setOptions(options, aId);
    db.setOptions(options, bId);
    const a = this.store.get(aId)!.agg.summary();
    const b = this.store.get(bId)!.agg.summary();
    if (a.layers !== b.layers || a.k !== b.k) return h('div', { 'data-testid': 'compare' }, da.el, db.el, h('p', { class: 'muted' }, 'These messages were routed by different models; they cannot be compared layer by layer.'));
    const c = compareSummaries(a, b);
    const table = h('table', { class: 'stats-table compare-table', 'data-testid': 'compare-table' });
    table.append(
      h(
        'thead',
        {},
        h('tr', {}, h('th', {}, 'Layer'), h('th', { title: 'Keep top-1: A / B' }, 'Keep top-1 A / B'), h('th', {}, `Keep top-${a.k} A / B`), h('th', {}, 'Load H A / B'), h('th', { title: 'Total variation distance between the two load distributions' }, 'Load dist.')),
        h('tr', { class: 'baseline-row' }, h('th', {}, 'uniform'), h('td', {}, formatPercent(a.baselines.keepTop1)), h('td', {}, formatPercent(a.baselines.keepSet, 2)), h('td', {}, '1.00'), h('td', {}, '0')),
      ),
    );
    const tbody = h('tbody', {});
    const ab = (x: number | null, y: number | null, f: (v: number | null) => string) => `${f(x)} / ${f(y)}`;
    tbody.append(h('tr', { class: 'mean-row' }, h('th', {}, 'mean'), h('td', {}, ab(a.mean.keepTop1, b.mean.keepTop1, (v) => formatPercent(v))), h('td', {}, ab(a.mean.keepSet, b.mean.keepSet, (v) => formatPercent(v))), h('td', {}, ab(a.mean.loadEntropy, b.mean.loadEntropy, (v) => formatDecimal(v, 2))), h('td', {}, formatDecimal(c.meanLoadDistance, 2))));
    for (const L of c.perLayer) {
      tbody.append(
        h(
          'tr',
          { 'data-layer': L.layer, 'data-testid': 'compare-row' },
          h('th', {}, `L${this.store.layerId(L.layer)}`),
          h('td', {}, ab(L.a.keepTop1, L.b.keepTop1, (v) => formatPercent(v))),
          h('td', {}, ab(L.a.keepSet, L.b.keepSet, (v) => formatPercent(v))),
          h('td', {}, ab(L.a.loadEntropy, L.b.loadEntropy, (v) => formatDecimal(v, 2))),
          h('td', { 'data-value': L.loadDistance }, formatDecimal(L.loadDistance, 2)),
        ),
      );
    }
    table.append(tbody);
    return h(
      'section',
      { class: 'compare', 'data-testid': 'compare' },
      h('div', { class: 'compare-pick' }, h('label', {}, 'A'), da.el, h('label', {}, 'B'), db.el),
      h('p', { class: 'muted summary' }, `A: ${a.tokens} tokens · B: ${b.tokens} tokens`),
      h('div', { class: 'side-by-side' }, h('div', {}, h('div', { class: 'section-label' }, 'A'), this.heatmap(a, ui.heat, 'compare-heatmap-a')), h('div', {}, h('div', { class: 'section-label' }, 'B'), this.heatmap(b, ui.heat, 'compare-heatmap-b'))),
      h('div', { class: 'table-wrap' }, table),
    );
  }
}
