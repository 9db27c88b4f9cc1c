// The lens's Message and Conversation tabs: tokens per layer × expert as a heat map (top-k or top-1), per-layer
// statistics with the uniform router beside them, and the routing exports.

import type { WebviewToHost } from '../../extension/protocol';
import type { LayerStats, RoutingSummary } from '../../extension/routing';
import { formatDecimal, formatPercent, MISSING } from '../../extension/format';
import { button, h } from '../components';
import { heatmap, type LayerId } from './heatmap';
import type { LensUi } from './panel';
import type { ModelRouting } from '../../extension/engine/types';

export interface AggregatesHooks {
  post(message: WebviewToHost): void;
  ui(): LensUi;
  setUi(patch: Partial<LensUi>): void;
  layerId: LayerId;
  /** The model's routing (a pruned model's original expert ids). */
  routing(): ModelRouting | undefined;
}

function bar(value: number | null, baseline: number | null, max = 1): HTMLElement {
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

function statCell(value: number | null, baseline: number | null, asPct: boolean, metric: string): HTMLElement {
  const text = asPct ? formatPercent(value) : formatDecimal(value, 2);
  return h('td', { 'data-metric': metric, 'data-value': value === null ? '' : String(value) }, h('span', { class: 'stat-value' }, text), bar(value, baseline));
}

function statsTable(layerId: LayerId, s: RoutingSummary): HTMLElement {
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
        h('td', {}, MISSING),
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
      statCell(L.loadEntropy, 1, false, 'loadEntropy'),
      statCell(L.gateEntropyNormK, null, false, 'gateEntropy'),
      statCell(L.keepTop1, b.keepTop1, true, 'keepTop1'),
      statCell(L.keepSet, b.keepSet, true, 'keepSet'),
      statCell(L.shareAny, b.shareAny, true, 'shareAny'),
    );
  tbody.append(row('mean', s.mean, { class: 'mean-row', 'data-testid': 'stats-mean' }));
  for (const L of s.perLayer) tbody.append(row(`L${layerId(L.layer)}`, L, { 'data-layer': L.layer, 'data-testid': 'stats-row' }));
  table.append(tbody);
  return table;
}

function exportButtons(hooks: AggregatesHooks, scope: string, turnIds: string[]): HTMLElement {
  return h(
    'div',
    { class: 'exports' },
    h('span', { class: 'muted' }, `Export ${scope} routing:`),
    button('JSONL', { testid: 'export-jsonl', appearance: 'secondary', title: 'One JSON object per token', attrs: { 'data-scope': scope }, onClick: () => hooks.post({ type: 'routing.export', format: 'jsonl', turnIds }) }),
    button('CSV', { testid: 'export-csv', appearance: 'secondary', title: 'One row per token, layer and rank', attrs: { 'data-scope': scope }, onClick: () => hooks.post({ type: 'routing.export', format: 'csv', turnIds }) }),
  );
}

/** The Message and Conversation tabs: a heat map, per-layer statistics beside the uniform router, exports. */
export function aggregates(hooks: AggregatesHooks, s: RoutingSummary, scope: 'message' | 'conversation', turnIds: string[]): HTMLElement {
  const ui = hooks.ui();
  const which = ui.heat;
  const toggle = button(which === 'topk' ? `Showing top-${s.k}` : 'Showing top-1', {
    testid: 'heat-mode',
    appearance: 'secondary',
    title: 'Switch the heat map between top-1 and top-k counts',
    onClick: () => hooks.setUi({ heat: which === 'topk' ? 'top1' : 'topk' }),
  });
  return h(
    'section',
    { class: 'aggregates', 'data-testid': 'aggregates', 'data-scope': scope, 'data-tokens': s.tokens },
    h('p', { class: 'muted summary' }, `${s.tokens} tokens · ${s.pairs} token pairs · ${s.layers} layers · ${s.experts} experts · top-${s.k}`),
    h('div', { class: 'section-label' }, 'Tokens per layer × expert ', toggle),
    heatmap(hooks.layerId, s, which, 'heatmap', hooks.routing()),
    h('div', { class: 'section-label' }, 'Per layer, with the uniform router beside it (tick on each bar)'),
    h('div', { class: 'table-wrap' }, statsTable(hooks.layerId, s)),
    exportButtons(hooks, scope, turnIds),
  );
}
