// The expert lens panel: title, colour mode, status, explanation, legend, the what-if slot and the tabs — Token
// (token-tab.ts), Message and Conversation (aggregates.ts), Compare (compare-tab.ts).

import type { WebviewToHost } from '../../extension/protocol';
import { routingAbsenceText } from '../../extension/format';
import { button, dropdown, h, tabs, type Dropdown, type Tabs } from '../components';
import type { Store, TurnModel } from '../store';
import { aggregates, type AggregatesHooks } from './aggregates';
import { compareTab, turnLabel } from './compare-tab';
import { explanation } from './explain';
import { TokenTab } from './token-tab';
import { installPalette } from './palette';
import { originalId, prunedNote } from '../../extension/engine/original-experts';
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

export class LensPanel {
  readonly el: HTMLElement;
  private layerSelect: Dropdown;
  private status: HTMLElement;
  private explainEl: HTMLElement;
  private legend: HTMLElement;
  private pruned: HTMLElement;
  private title: HTMLElement;
  private tabs: Tabs;
  private numbersBtn: HTMLElement;
  private whatIfSlot: HTMLElement;
  private lastLegendKey = '';
  private readonly tokenTab: TokenTab;
  private readonly aggregateHooks: AggregatesHooks;

  constructor(
    private store: Store,
    private hooks: LensHooks,
  ) {
    this.tokenTab = new TokenTab(store, { selection: () => hooks.selection(), experts: () => this.experts(), expertMenu: hooks.expertMenu && ((cell, at) => hooks.expertMenu?.(cell, at)) });
    this.aggregateHooks = { post: (m) => hooks.post(m), ui: () => hooks.ui(), setUi: (patch) => hooks.setUi(patch), layerId: (l) => store.layerId(l), routing: () => store.model.info?.routing };
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
    this.pruned = h('p', { class: 'muted', 'data-testid': 'lens-pruned' });
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
      this.pruned,
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

    const note = prunedNote(info?.routing);
    this.pruned.textContent = note ?? '';
    this.pruned.hidden = !note;
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
      if (id === 'token') view.replaceChildren(this.tokenTab.render());
      else if (id === 'message') view.replaceChildren(turn && turn.hasRouting ? aggregates(this.aggregateHooks, turn.agg.summary(), 'message', [turn.id]) : h('p', { class: 'muted' }, 'No routing for the selected message.'));
      else if (id === 'conversation') {
        const { agg, skipped } = this.store.conversationAggregate();
        view.replaceChildren(
          agg.tokens > 0
            ? aggregates(this.aggregateHooks, agg.summary(), 'conversation', this.store.turns.filter((t) => t.hasRouting).map((t) => t.id))
            : h('p', { class: 'muted' }, 'No routing recorded in this conversation yet.'),
        );
        if (skipped > 0) view.append(h('p', { class: 'muted', 'data-testid': 'aggregates-skipped' }, `${skipped} message(s) routed by a model of another shape are not included.`));
      } else view.replaceChildren(compareTab(this.store, this.hooks));
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
    const routing = this.store.model.info?.routing;
    const key = `${mode}:${E}:${JSON.stringify(routing?.originalExpertIds ?? null)}`;
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
    // Colours are slots; at one layer a pruned model's slots are named by their original ids, over all layers by slot.
    const layer = mode === 'mode' ? undefined : this.store.layerId(Number(mode));
    const bySlot = layer === undefined && routing?.originalExpertIds !== undefined;
    const items: Node[] = [h('span', { class: 'legend-label' }, layer === undefined ? `Most frequent top-1 ${bySlot ? 'slot' : 'expert'}:` : `Top-1 expert at layer ${layer}:`)];
    for (let e = 0; e < E; e++) {
      const name = bySlot ? `slot ${e}` : `E${layer === undefined ? e : originalId(routing, layer, e)}`;
      items.push(h('span', { class: `legend-item tok x${e}`, 'data-expert': e, 'data-testid': 'legend-item' }, name));
    }
    this.legend.replaceChildren(...items);
  }

  /** Re-render only the token tab (selection changed). */
  renderToken(): void {
    if (this.hooks.ui().tab !== 'token') return;
    const view = this.tabs.view('token');
    view.replaceChildren(this.tokenTab.render());
    const turn = this.hooks.selectedTurn();
    this.title.textContent = turn ? turnLabel(this.store, turn) : '';
  }
}
