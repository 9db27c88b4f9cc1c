// @vitest-environment happy-dom
// The lens grid's expert actions and the what-if comparison against a fake host: the context menu posts the
// action for the selected answer; the host's comparison shows where the answers part and the difference map in the
// sidebar, and both answers token by token with all three heat maps and their scales in the editor tab.
import { afterEach, describe, expect, it } from 'vitest';
import type { RoutingBlock, WhatIfState } from '../../extension/protocol';
import { block } from '../routing/fixtures';
import { click, mount, snapshot, tid, tids, turn, qa, unmount, type FakeHost } from './harness';

let host: FakeHost | undefined;
afterEach(unmount);

// The regenerated answer: 3 tokens, expert 3 ablated in both layers (E = 4, k = 2).
//   t0: L0 [0,1] L1 [2,0]   t1: L0 [0,2] L1 [2,1]   t2: L0 [1,2] L1 [0,1]
const variantBlock: RoutingBlock = {
  firstIndex: 0,
  phase: 'generated',
  ids: Int32Array.from([101, 105, 101]),
  texts: ['Hel', 'lo!', 'Hel'],
  experts: Uint16Array.from([0, 1, 2, 0, 0, 2, 2, 1, 1, 2, 0, 1]),
  weights: Float32Array.from([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]),
  k: 2,
  layers: 2,
};
const original = { text: 'Hel lo, "x"\n', tokens: ['Hel', 'lo', ', "x"', '\n'], ids: [101, 102, 103, 104], routing: [block(0, 4)] };
const base: WhatIfState = { id: 'w1', turnId: 'a1', action: 'ablate-all', layer: 0, expert: 3, label: 'without expert 3 in any layer', status: 'running', original };
const variant = { text: 'Hello!Hel', tokens: ['Hel', 'lo!', 'Hel'], ids: [101, 105, 101], routing: [variantBlock] };
const done: WhatIfState = { ...base, status: 'complete', variant, firstDifference: 1 };
/** Regenerated − original top-k counts. Original: L0 [2,3,1,2], L1 [1,1,3,3]; regenerated: L0 [2,2,2,0], L1 [2,2,2,0]. */
const DIFF = ['0:0=0', '0:1=-1', '0:2=1', '0:3=-2', '1:0=1', '1:1=1', '1:2=-1', '1:3=-3'];
const diffCells = () => tids('heat-cell', tid('what-if-heatmap-diff')!).map((c) => `${c.dataset.layer}:${c.dataset.expert}=${c.dataset.count}`);

async function conversation(): Promise<FakeHost> {
  host = await mount();
  host.send({ type: 'snapshot', snapshot: snapshot([turn('u1', 'user', 'Hello', [{ ...block(0, 2), phase: 'prompt' }]), turn('a1', 'assistant', 'Hel lo, "x"', [block(0, 4)])]) });
  click(tids('turn-lens-toggle')[1]);
  click(qa('[data-turn-id="a1"] [data-testid="token"]')[2]);
  return host;
}

function contextMenu(el: HTMLElement) {
  el.dispatchEvent(new MouseEvent('contextmenu', { bubbles: true, cancelable: true, clientX: 10, clientY: 20 }));
  host?.app.flush();
}

describe('expert actions in the token grid', () => {
  it('right-click on an expert offers the three actions and posts the chosen one for the answer', async () => {
    const h = await conversation();
    const cell = tids('grid-cell').find((c) => c.dataset.layer === '1' && c.dataset.expert === '3')!;
    contextMenu(cell);
    expect(tids('expert-menu')).toHaveLength(1);
    expect(qa('[data-testid^="expert-action-"]').map((b) => b.textContent)).toEqual([
      'Regenerate without expert 3 in layer 1',
      'Regenerate without expert 3 in all layers',
      'Force expert 3 in layer 1',
    ]);
    click(tid('expert-action-ablate-layer'));
    expect(h.posted.filter((m) => m.type === 'lens.whatIf')).toEqual([{ type: 'lens.whatIf', turnId: 'a1', layer: 1, expert: 3, action: 'ablate-layer' }]);
    expect(tids('expert-menu')).toHaveLength(0); // closed after the choice
    contextMenu(cell);
    click(tid('expert-action-force'));
    expect(h.posted.filter((m) => m.type === 'lens.whatIf').pop()).toMatchObject({ action: 'force', layer: 1, expert: 3 });
  });

  it('sidebar: running, then where the answers part, the difference map, Keep and Side by side; tied to its message', async () => {
    const h = await conversation();
    h.send({ type: 'lens.whatIf', whatIf: base });
    expect(tid('what-if')!.dataset.status).toBe('running');
    expect(tid('what-if-running')).not.toBeNull();
    h.send({ type: 'lens.whatIf', whatIf: done });
    expect(tid('what-if')!.dataset.status).toBe('complete');
    // Numbered within the answer from 1, as the token panel numbers it.
    expect(tid('what-if-first')!.textContent).toBe('The answers part at token 2: "lo" → "lo!".');
    expect(diffCells()).toEqual(DIFF);
    expect(tid('what-if-aligned')).toBeNull(); // the columns are in the editor tab
    click(tid('what-if-open-editor'));
    click(tid('what-if-keep'));
    expect(h.posted.filter((m) => m.type === 'lens.openInEditor' || m.type === 'lens.keepWhatIf')).toEqual([
      { type: 'lens.openInEditor', turnId: 'a1' },
      { type: 'lens.keepWhatIf', whatIfId: 'w1' },
    ]);
    // Shown with its answer only: the lens on the prompt has none; back on the answer it is there again.
    h.send({ type: 'lens.show', turnId: 'u1' });
    expect(tid('what-if')).toBeNull();
    h.send({ type: 'lens.show', turnId: 'a1' });
    expect(tid('what-if')!.dataset.turnId).toBe('a1');
    // The host replaced the answer (kept): the comparison no longer applies.
    h.send({ type: 'chat.turnAdded', turn: turn('a1', 'assistant', 'Hello!', [variantBlock]) });
    expect(tid('what-if')).toBeNull();
    expect(qa('[data-turn-id="a1"] [data-testid="token"]').map((s) => s.textContent)).toEqual(['Hel', 'lo!', 'Hel']);
  });

  it('editor tab: both answers token by token with the part point marked, heat maps on one scale and their difference', async () => {
    host = await mount(undefined, 'lens');
    host.send({ type: 'snapshot', snapshot: snapshot([turn('u1', 'user', 'Hello', [{ ...block(0, 2), phase: 'prompt' }]), turn('a1', 'assistant', 'Hel lo, "x"', [block(0, 4)])]) });
    host.send({ type: 'lens.show', turnId: 'a1' });
    host.send({ type: 'lens.whatIf', whatIf: done });
    const rows = qa('[data-testid="what-if-aligned"] .aligned-row:not(.aligned-head)');
    const cells = (r: HTMLElement) => [...r.children].map((c) => c.textContent);
    expect(rows.map(cells)).toEqual([
      ['1', 'Hel', 'Hel'],
      ['2', 'lo', 'lo!'],
      ['3', ', "x"', 'Hel'],
      ['4', '↵\n', ''],
    ]);
    expect(rows.map((r) => r.classList.contains('parted'))).toEqual([false, true, true, true]);
    // The marker sits right before token 2, where the answers part.
    const marker = tid('what-if-part-marker')!;
    expect(marker.textContent).toBe('The answers part here, at token 2');
    expect(marker.nextElementSibling).toBe(rows[1]);
    // Expert 3 was switched off in every layer: the regenerated map counts 0 for it, the original 2 and 3.
    const counts = (id: string) => tids('heat-cell', tid(id)!).map((c) => `${c.dataset.layer}:${c.dataset.expert}=${c.dataset.count}`);
    expect(counts('what-if-heatmap-original')).toEqual(['0:0=2', '0:1=3', '0:2=1', '0:3=2', '1:0=1', '1:1=1', '1:2=3', '1:3=3']);
    expect(counts('what-if-heatmap-variant')).toEqual(['0:0=2', '0:1=2', '0:2=2', '0:3=0', '1:0=2', '1:1=2', '1:2=2', '1:3=0']);
    expect(diffCells()).toEqual(DIFF);
    // The difference's cells: red where the regenerated answer uses an expert more, blue where less, by |Δ| / 3.
    const cell = (l: string, e: string) => tids('heat-cell', tid('what-if-heatmap-diff')!).find((c) => c.dataset.layer === l && c.dataset.expert === e)!;
    expect(cell('1', '3').querySelector('.heat-fill')!.className).toBe('heat-fill less');
    expect(Number((cell('1', '3').querySelector('.heat-fill') as HTMLElement).style.opacity)).toBe(1);
    expect(cell('0', '2').querySelector('.heat-fill')!.className).toBe('heat-fill more');
    expect(Number((cell('0', '2').querySelector('.heat-fill') as HTMLElement).style.opacity)).toBeCloseTo(1 / 3, 12);
    expect(cell('1', '3').getAttribute('aria-label')).toBe('Layer 1, expert 3: -3 tokens in top-2 (regenerated − original)');
    // Scales: both answers on one (0 … 3), the difference on −3 … +3.
    const scales = tids('heat-scale', tid('what-if')!);
    expect(scales.map((x) => x.dataset.max)).toEqual(['3', '3']);
    expect(tid('diff-scale')!.dataset.max).toBe('3');
    expect(tid('diff-scale')!.textContent).toBe('−30+3tokens in top-2');
    expect(tid('what-if-open-editor')).toBeNull();
    click(tid('what-if-close'));
    expect(tid('what-if')).toBeNull();
  });

  it('an error is shown on the comparison', async () => {
    const h = await conversation();
    const original = { text: 'x', tokens: [], ids: [], routing: [] };
    h.send({ type: 'lens.whatIf', whatIf: { id: 'w', turnId: 'a1', action: 'force', layer: 0, expert: 1, label: 'with only expert 1 in layer 0', status: 'error', error: 'layer 0 is not a MoE layer', original } });
    expect(tid('what-if-error')!.textContent).toBe('layer 0 is not a MoE layer');
  });
});
