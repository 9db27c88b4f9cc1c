// @vitest-environment happy-dom
// The expert lens on a pruned model: the token path, grid, heat map and legend name each slot by its original id,
// with the line saying what it was pruned from; the routing (data-expert) stays in slots.
import { afterEach, describe, expect, it } from 'vitest';
import { block } from '../routing/fixtures';
import { click, modelSummary, mount, snapshot, tid, tids, turn, qa, unmount } from './harness';

afterEach(unmount);

// The fixture routes over 4 slots in 2 layers; the pruned model kept experts 0, 2, 5, 7 of layer 0 and 1, 2, 3, 6 of layer 1.
const routing = { moeLayers: [0, 1], experts: 4, expertsPerToken: 2, sharedExperts: 0, originalExperts: 8, originalExpertIds: { 0: [0, 2, 5, 7], 1: [1, 2, 3, 6] } };

describe('a pruned model in the lens', () => {
  it('shows experts by their original ids and says it was pruned', async () => {
    const host = await mount();
    host.send({ type: 'snapshot', snapshot: snapshot([turn('a1', 'assistant', 'Hel lo, "x"', [block(0, 4)])], modelSummary({}, { routing })) });
    click(tids('turn-lens-toggle')[0]);
    expect(tid('lens-pruned')!.hidden).toBe(false);
    expect(tid('lens-pruned')!.textContent).toMatch(/^Pruned from 8 experts per layer to 4: experts are named by their original ids/);

    // Token 3 routes layer 0 to slots 1, 3 and layer 1 to slots 2, 3 (fixture): top-1 slot 1 → E2, slot 2 → E3.
    click(qa('[data-turn-id="a1"] [data-testid="token"]')[2]);
    const chips = qa('[data-testid="token-path"] .chip');
    expect(chips.map((c) => [c.dataset.expert, c.textContent])).toEqual([['1', '2'], ['2', '3']]);
    const chosen = qa('[data-testid="token-grid"] .cell.chosen');
    expect(chosen.map((c) => [c.dataset.layerId, c.dataset.expert, c.dataset.original])).toEqual([['0', '1', '2'], ['0', '3', '7'], ['1', '2', '3'], ['1', '3', '6']]);
    expect(chosen[0].title).toBe(`Layer 0, expert 2 (slot 1): rank 1 of 2, gate weight ${chosen[0].dataset.weight}`);
    // The layers kept different experts: the columns are slots.
    expect(qa('[data-testid="token-grid"] [role="columnheader"]').map((c) => c.textContent)).toEqual(['L \\ slot', '0', '1', '2', '3']);

    // The message heat map: each cell's original id and label.
    click(tid('lens-tab-message'));
    const cells = qa('[data-testid="heatmap"] [data-testid="heat-cell"]');
    expect(cells.map((c) => c.dataset.original)).toEqual(['0', '2', '5', '7', '1', '2', '3', '6']);
    expect(cells[7].title).toMatch(/^Layer 1, expert 6 \(slot 3\): /);

    // The legend: by slot over all layers, by original id at one layer.
    expect(tids('legend-item').map((i) => i.textContent)).toEqual(['slot 0', 'slot 1', 'slot 2', 'slot 3']);
    const sel = tid('layer-select') as HTMLElement & { value: string };
    sel.value = '1';
    sel.dispatchEvent(new Event('change', { bubbles: true }));
    host.app.flush();
    expect(tids('legend-item').map((i) => i.textContent)).toEqual(['E1', 'E2', 'E3', 'E6']);
  });

  it('an unpruned model: no pruned line, experts by their ids', async () => {
    const host = await mount();
    host.send({ type: 'snapshot', snapshot: snapshot([turn('a1', 'assistant', 'Hel lo, "x"', [block(0, 4)])]) });
    click(tids('turn-lens-toggle')[0]);
    expect(tid('lens-pruned')!.hidden).toBe(true);
    click(qa('[data-turn-id="a1"] [data-testid="token"]')[2]);
    expect(qa('[data-testid="token-path"] .chip').map((c) => c.textContent)).toEqual(['1', '2']);
    expect(qa('[data-testid="token-grid"] [role="columnheader"]').map((c) => c.textContent)).toEqual(['L \\ E', '0', '1', '2', '3']);
  });
});
