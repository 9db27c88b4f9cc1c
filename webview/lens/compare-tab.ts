// The lens's Compare tab: two messages with routing side by side (by default the last two answers).

import { compareSummaries } from '../../extension/routing';
import { formatDecimal, formatPercent } from '../../extension/format';
import { dropdown, h } from '../components';
import type { Store, TurnModel } from '../store';
import { ROLE_LABEL } from '../chat/turn-view';
import type { AggregatesHooks } from './aggregates';
import { heatmap, type LayerId } from './heatmap';

/** "#3 Model: the first words…": a message in the lens's title and pickers. */
export function turnLabel(store: Store, t: TurnModel): string {
  const n = store.turns.indexOf(t) + 1;
  const who = ROLE_LABEL[t.info.role] ?? t.info.role;
  const text = t.info.display.replace(/\s+/g, ' ').trim();
  return `#${n} ${who}: ${text.length > 32 ? text.slice(0, 31) + '…' : text || '(empty)'}`;
}

/** Two messages with routing side by side: heat maps and per-layer statistics, A / B. */
export function compareTab(store: Store, hooks: Omit<AggregatesHooks, 'post' | 'layerId' | 'routing'>): HTMLElement {
  const ui = hooks.ui();
  const layerId: LayerId = (l) => store.layerId(l);
  const candidates = store.turns.filter((t) => t.hasRouting);
  if (candidates.length < 2) return h('p', { class: 'muted', 'data-testid': 'compare-empty' }, 'Compare needs two messages with routing.');
  // By default the last two answers (else the last two messages with routing), never a prompt against its own answer
  // when there are two answers to compare.
  const answers = candidates.filter((t) => t.info.role === 'assistant');
  const [defA, defB] = (answers.length >= 2 ? answers : candidates).slice(-2);
  const aId = candidates.some((t) => t.id === ui.compareA) ? ui.compareA! : defA.id;
  let bId = candidates.some((t) => t.id === ui.compareB) ? ui.compareB! : defB.id;
  if (bId === aId) bId = candidates.find((t) => t.id !== aId)!.id;
  const options = candidates.map((t) => ({ value: t.id, label: turnLabel(store, t) }));
  const da = dropdown({ testid: 'compare-a', label: 'Message A', onChange: (v) => hooks.setUi({ compareA: v }) });
  const db = dropdown({ testid: 'compare-b', label: 'Message B', onChange: (v) => hooks.setUi({ compareB: v }) });
  da.setOptions(options, aId);
  db.setOptions(options, bId);
  const a = store.get(aId)!.agg.summary();
  const b = store.get(bId)!.agg.summary();
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
        h('th', {}, `L${layerId(L.layer)}`),
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
    h('div', { class: 'side-by-side' }, h('div', {}, h('div', { class: 'section-label' }, 'A'), heatmap(layerId, a, ui.heat, 'compare-heatmap-a', store.model.info?.routing)), h('div', {}, h('div', { class: 'section-label' }, 'B'), heatmap(layerId, b, ui.heat, 'compare-heatmap-b', store.model.info?.routing))),
    h('div', { class: 'table-wrap' }, table),
  );
}
