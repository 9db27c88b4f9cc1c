// @vitest-environment happy-dom
// The lens grid's expert actions and the what-if comparison against a fake host: the context menu posts the
// action for the selected answer, and the host's comparison shows both answers, where they part, and both routings.
import { afterEach, describe, expect, it } from 'vitest';
import type { WhatIfState } from '../../extension/protocol';
import { block } from '../routing/fixtures';
import { click, mount, snapshot, tid, tids, turn, qa, unmount, type FakeHost } from './harness';

let host: FakeHost | undefined;
afterEach(unmount);

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

  it('shows the comparison: running, then both answers with the first differing token marked and both routings', async () => {
    const h = await conversation();
    const original = { text: 'Hel lo, "x"\n', tokens: ['Hel', 'lo', ', "x"', '\n'], ids: [5, 6, 7, 8], routing: [block(0, 4)] };
    const base: WhatIfState = { id: 'w1', turnId: 'a1', action: 'ablate-layer', layer: 1, expert: 3, label: 'without expert 3 in layer 1', status: 'running', original };
    h.send({ type: 'lens.whatIf', whatIf: base });
    expect(tid('what-if')!.dataset.status).toBe('running');
    expect(tid('what-if-running')).not.toBeNull();
    const variant = { text: 'Hel p!', tokens: ['Hel', ' p', '!'], ids: [5, 9, 10], routing: [block(0, 3)] };
    h.send({ type: 'lens.whatIf', whatIf: { ...base, status: 'complete', variant, firstDifference: 1 } });
    expect(tid('what-if')!.dataset.status).toBe('complete');
    expect(tid('what-if-first')!.textContent).toBe('The answers part at token 2: "lo" → " p".');
    const marked = (id: string) => qa(`[data-testid="${id}"] .what-if-text span`).map((s) => `${s.textContent}${s.classList.contains('parted') ? '*' : ''}`);
    expect(marked('what-if-original')).toEqual(['Hel', 'lo*', ', "x"*', '\n*']);
    expect(marked('what-if-variant')).toEqual(['Hel', ' p*', '!*']);
    expect(tids('heat-cell', tid('what-if-heatmap-original')!).length).toBeGreaterThan(0);
    expect(tids('heat-cell', tid('what-if-heatmap-variant')!).length).toBeGreaterThan(0);
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
