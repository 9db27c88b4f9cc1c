// @vitest-environment happy-dom
// The expert lens against a fake host: colouring, the token grid, aggregates, compare, exports, states.
import { afterEach, describe, expect, it } from 'vitest';
import { block } from '../routing/fixtures';
import { click, mount, modelSummary, snapshot, tid, tids, turn, q, qa, unmount, type FakeHost } from './harness';

let host: FakeHost | undefined;
afterEach(unmount);

function chooseLayer(value: string) {
  const sel = tid('layer-select') as HTMLElement & { value: string };
  sel.value = value;
  sel.dispatchEvent(new Event('change', { bubbles: true }));
  host?.app.flush();
}

function key(el: HTMLElement, k: string) {
  el.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true }));
  host?.app.flush();
}

/** Snapshot: a user turn with prompt routing (tokens 0..1) and an assistant turn with tokens 0..3. */
async function conversation(): Promise<FakeHost> {
  host = await mount();
  const user = turn('u1', 'user', 'Hello', [{ ...block(0, 2), phase: 'prompt' }]);
  const answer = turn('a1', 'assistant', 'Hel lo, "x"', [block(0, 4)]);
  host.send({ type: 'snapshot', snapshot: snapshot([user, answer]) });
  return host;
}

const tokensOf = (turnId: string) => qa(`[data-turn-id="${turnId}"] [data-testid="token"]`);

describe('colour by expert', () => {
  it('colours each token by its top-1 expert at the chosen layer, by the most frequent one, or by agreement', async () => {
    const h = await conversation();
    click(tids('turn-lens-toggle')[1]);
    const spans = tokensOf('a1');
    expect(spans.map((s) => s.dataset.index)).toEqual(['0', '1', '2', '3']);
    // The newline token shows a visible ↵ before its line break (a bare "\n" has no width to click).
    expect(spans.map((s) => s.textContent)).toEqual(['Hel', 'lo', ', "x"', '↵\n']);
    expect(spans.map((s) => s.classList.contains('tok-nl'))).toEqual([false, false, false, true]);
    // Default: most frequent top-1 over layers (ties → lowest id): t0 {0,2}→0, t1 {0,3}→0, t2 {1,2}→1, t3 {1,0}→0.
    expect(spans.map((s) => s.dataset.expert)).toEqual(['0', '0', '1', '0']);

    chooseLayer('1');
    const l1 = tokensOf('a1');
    expect(l1.map((s) => s.dataset.expert)).toEqual(['2', '3', '2', '0']);
    expect(l1.map((s) => [...s.classList].find((c) => /^x\d+$/.test(c)))).toEqual(['x2', 'x3', 'x2', 'x0']);

    chooseLayer('0');
    expect(tokensOf('a1').map((s) => s.dataset.expert)).toEqual(['0', '0', '1', '1']);

    chooseLayer('agree');
    expect(tokensOf('a1').map((s) => s.dataset.agree ?? null)).toEqual([null, '0.50', '0.00', '0.50']);
    // The choice is UI state, persisted through vscode.setState.
    expect((h.state as { mode: string }).mode).toBe('agree');
  });

  it('shows a legend with one entry per expert', async () => {
    await conversation();
    click(tid('lens-toggle'));
    const items = tids('legend-item');
    expect(items.map((i) => i.dataset.expert)).toEqual(['0', '1', '2', '3']);
  });

  it('restores the colour mode from the saved state', async () => {
    host = await mount({ v: 1, mode: '1', tokenTurns: ['a1'], lensOpen: true });
    host.send({ type: 'snapshot', snapshot: snapshot([turn('a1', 'assistant', 'x', [block(0, 4)])]) });
    expect(tokensOf('a1').map((s) => s.dataset.expert)).toEqual(['2', '3', '2', '0']);
  });
});

describe('one token', () => {
  it('shows the layer × expert grid of exactly the routing reported for the selected token', async () => {
    await conversation();
    click(tids('turn-lens-toggle')[1]);
    click(tokensOf('a1')[2]);
    const detail = tid('token-detail')!;
    // Numbered within the message from 1: the third token is token 3 (its span's position is 2).
    expect(detail.dataset.number).toBe('3');
    expect(q('.token-head', detail)!.textContent).toBe('", \\"x\\"" token 3 of 4 · id 103 · generated');
    const cells = tids('grid-cell', detail);
    expect(cells).toHaveLength(2 * 4);
    const chosen = cells.filter((c) => c.dataset.weight !== undefined).map((c) => [c.dataset.layer, c.dataset.expert, c.dataset.rank, c.dataset.weight]);
    // token 2: L0 [1,3] (.75,.25), L1 [2,3] (.5,.5)
    expect(chosen).toEqual([
      ['0', '1', '0', '0.75'],
      ['0', '3', '1', '0.25'],
      ['1', '2', '0', '0.5'],
      ['1', '3', '1', '0.5'],
    ]);
    const c = cells.find((x) => x.dataset.layer === '0' && x.dataset.expert === '1')!;
    expect(c.getAttribute('aria-label')).toContain('gate weight 0.75');
    expect(c.title).toContain('rank 1 of 2');
    // Path of top-1 experts through the layers.
    expect(tid('token-path')!.textContent).toBe('12');
    expect(tokensOf('a1')[2].getAttribute('aria-selected')).toBe('true');
  });

  it('moves the selection with the arrow keys (roving tabindex)', async () => {
    await conversation();
    click(tids('turn-lens-toggle')[1]);
    click(tokensOf('a1')[1]);
    const spans = tokensOf('a1');
    expect(spans.filter((s) => s.tabIndex === 0).map((s) => s.dataset.index)).toEqual(['1']);
    key(spans[1], 'ArrowRight');
    expect(tid('token-detail')!.dataset.number).toBe('3');
    expect(tokensOf('a1').filter((s) => s.tabIndex === 0).map((s) => s.dataset.index)).toEqual(['2']);
    key(tokensOf('a1')[2], 'End');
    expect(tid('token-detail')!.dataset.number).toBe('4');
    key(tokensOf('a1')[3], 'ArrowLeft');
    const weights = tids('grid-cell').filter((c) => c.dataset.weight).map((c) => `${c.dataset.layer}:${c.dataset.expert}=${c.dataset.weight}`);
    expect(weights).toEqual(['0:1=0.75', '0:3=0.25', '1:2=0.5', '1:3=0.5']);
  });
});

describe('selected message highlight', () => {
  it('marks exactly the message the lens shows, whatever changed it', async () => {
    const h = await conversation();
    const highlighted = () => qa('.turn.lens-selected').map((t) => t.dataset.turnId);
    // Nothing chosen yet: the lens shows the last message with routing.
    expect(highlighted()).toEqual(['a1']);
    h.send({ type: 'lens.show', turnId: 'u1' });
    expect(highlighted()).toEqual(['u1']);
    click(q('[data-turn-id="a1"] .turn-header'));
    expect(highlighted()).toEqual(['a1']);
    // lens.show opened u1 as tokens; its toggle turns that off, and on again marks it.
    click(tids('turn-lens-toggle')[0]);
    expect(highlighted()).toEqual(['a1']);
    click(tids('turn-lens-toggle')[0]);
    expect(highlighted()).toEqual(['u1']);
    // The highlighted message goes: back to the last one with routing.
    h.send({ type: 'chat.turnRemoved', turnId: 'u1' });
    expect(highlighted()).toEqual(['a1']);
    // A newer message with routing takes over while nothing is chosen, also when its routing streams in.
    h.send({ type: 'chat.turnAdded', turn: turn('b1', 'assistant', 'more', [block(0, 4)]) });
    expect(highlighted()).toEqual(['b1']);
    h.send({ type: 'chat.turnAdded', turn: turn('b2', 'assistant', '', [], { status: 'streaming' }) });
    expect(highlighted()).toEqual(['b1']);
    h.send({ type: 'chat.frames', turnId: 'b2', textDelta: 'Hel', routing: [block(0, 1)] });
    expect(highlighted()).toEqual(['b2']);
    // Selecting a token moves it; a new snapshot starts over.
    click(tids('turn-lens-toggle')[0]);
    click(tokensOf('a1')[1]);
    expect(highlighted()).toEqual(['a1']);
    h.send({ type: 'snapshot', snapshot: snapshot([turn('c1', 'assistant', 'x', [block(0, 4)]), turn('c2', 'user', 'y')]) });
    expect(highlighted()).toEqual(['c1']);
  });
});

describe('aggregates', () => {
  it('message: heat map counts, per-layer entropy and keep rates with uniform baselines', async () => {
    await conversation();
    click(tids('turn-lens-toggle')[1]);
    click(tid('lens-tab-message'));
    const agg = tid('aggregates')!;
    expect(agg.dataset.scope).toBe('message');
    expect(agg.dataset.tokens).toBe('4');
    const heat = tids('heat-cell', agg).filter((c) => c.dataset.layer === '0').map((c) => Number(c.dataset.count));
    expect(heat).toEqual([2, 3, 1, 2]);
    const base = tid('baselines', agg)!;
    expect(Number(base.dataset.keepTop1)).toBe(0.25);
    expect(Number(base.dataset.keepSet)).toBeCloseTo(1 / 6, 12);
    expect(Number(base.dataset.shareAny)).toBeCloseTo(5 / 6, 12);
    const rows = tids('stats-row', agg);
    const value = (row: HTMLElement, metric: string) => Number(row.querySelector(`[data-metric="${metric}"]`)!.getAttribute('data-value'));
    expect(value(rows[0], 'keepTop1')).toBeCloseTo(2 / 3, 12);
    expect(value(rows[0], 'keepSet')).toBeCloseTo(1 / 3, 12);
    expect(value(rows[1], 'keepSet')).toBeCloseTo(2 / 3, 12);
    const h0 = 2 * 0.25 * Math.log(4) + 0.375 * Math.log(8 / 3) + 0.125 * Math.log(8);
    expect(value(rows[0], 'loadEntropy')).toBeCloseTo(h0 / Math.log(4), 12);
    // Top-1 heat map on demand.
    click(tid('heat-mode', agg));
    expect(tids('heat-cell').filter((c) => c.dataset.layer === '0').map((c) => Number(c.dataset.count))).toEqual([2, 2, 0, 0]);
  });

  it('conversation: sums the messages', async () => {
    await conversation();
    click(tid('lens-toggle'));
    click(tid('lens-tab-conversation'));
    const agg = tid('aggregates')!;
    expect(agg.dataset.scope).toBe('conversation');
    expect(agg.dataset.tokens).toBe('6');
    // layer 0 top-k: prompt tokens 0..1 {0,1},{0,2} + answer [2,3,1,2]
    expect(tids('heat-cell', agg).filter((c) => c.dataset.layer === '0').map((c) => Number(c.dataset.count))).toEqual([4, 4, 2, 2]);
  });

  it('compare: two messages side by side', async () => {
    await conversation();
    click(tid('lens-toggle'));
    click(tid('lens-tab-compare'));
    expect(tid('compare')).not.toBeNull();
    // Top-2 counts per layer:expert — the prompt's two tokens never chose expert 3 in layer 0 nor 0 and 1 in layer 1.
    const counts = (id: string) => tids('heat-cell', tid(id)!).map((c) => `${c.dataset.layer}:${c.dataset.expert}=${c.dataset.count}`);
    expect(counts('compare-heatmap-a')).toEqual(['0:0=2', '0:1=1', '0:2=1', '0:3=0', '1:0=0', '1:1=0', '1:2=2', '1:3=2']);
    expect(counts('compare-heatmap-b')).toEqual(['0:0=2', '0:1=3', '0:2=1', '0:3=2', '1:0=1', '1:1=1', '1:2=3', '1:3=3']);
    expect(tids('compare-row')).toHaveLength(2);
    // One answer only: its prompt against it.
    expect((tid('compare-a') as HTMLElement & { value: string }).value).toBe('u1');
    expect((tid('compare-b') as HTMLElement & { value: string }).value).toBe('a1');
  });

  it('compare defaults to the last two answers, whichever message the lens shows', async () => {
    host = await mount();
    const turns = [
      turn('u1', 'user', 'Hello', [{ ...block(0, 2), phase: 'prompt' }]),
      turn('a1', 'assistant', 'Hel lo', [block(0, 4)]),
      turn('u2', 'user', 'More', [{ ...block(0, 2), phase: 'prompt' }]),
      turn('a2', 'assistant', 'Hel', [block(1, 3)]),
    ];
    host.send({ type: 'snapshot', snapshot: snapshot(turns) });
    click(tids('turn-lens-toggle')[2]); // the lens on the second prompt
    click(tid('lens-tab-compare'));
    expect((tid('compare-a') as HTMLElement & { value: string }).value).toBe('a1');
    expect((tid('compare-b') as HTMLElement & { value: string }).value).toBe('a2');
    expect(q('.compare .summary')!.textContent).toBe('A: 4 tokens · B: 2 tokens');
  });

  it('every heat map has a colour scale from 0 to its largest count', async () => {
    await conversation();
    click(tids('turn-lens-toggle')[1]);
    click(tid('lens-tab-message'));
    const counts = tids('heat-cell', tid('heatmap')!).map((c) => Number(c.dataset.count));
    const scale = tid('heat-scale', tid('aggregates')!)!;
    expect(Number(scale.dataset.max)).toBe(Math.max(...counts));
    expect(Number(scale.dataset.max)).toBe(3);
    expect(scale.getAttribute('aria-label')).toBe('Colour scale: 0 to 3 tokens in top-2');
  });

  it('export buttons post routing.export with the format and turn ids', async () => {
    const h = await conversation();
    click(tids('turn-lens-toggle')[1]);
    click(tid('lens-tab-message'));
    click(tid('export-jsonl'));
    click(tid('export-csv'));
    click(tid('lens-tab-conversation'));
    click(tid('export-csv'));
    expect(h.posted.filter((m) => m.type === 'routing.export')).toEqual([
      { type: 'routing.export', format: 'jsonl', turnIds: ['a1'] },
      { type: 'routing.export', format: 'csv', turnIds: ['a1'] },
      { type: 'routing.export', format: 'csv', turnIds: ['u1', 'a1'] },
    ]);
  });
});

describe('lens states and explanation', () => {
  it('a dense model: the lens says there are no experts, chat still works', async () => {
    host = await mount();
    host.send({ type: 'snapshot', snapshot: snapshot([turn('a1', 'assistant', 'hi')], modelSummary({}, { routing: undefined, name: 'dense-toy' })) });
    click(tid('lens-toggle'));
    expect(tid('lens')!.dataset.state).toBe('dense');
    expect(tid('lens-status')!.textContent).toMatch(/no experts/);
    expect(tid('send')!.hasAttribute('disabled')).toBe(false);
  });

  it('a server that reports no routing: the lens says why, for each reason', async () => {
    const reasons = [
      ['server-does-not-report', /does not report which experts/],
      ['server-flag-off', /--enable-return-routed-experts/],
      ['vllm-streaming', /not streamed/],
      ['shape-unknown', /moeLens\.serverRoutingShape/],
    ] as const;
    for (const [reason, text] of reasons) {
      unmount();
      host = await mount();
      const capabilities = { routingIds: false, gateWeights: false, tokenIds: false, tokenCounting: 'exact' as const, placement: false, interventions: false, concurrentRequests: true, routingAbsent: reason };
      host.send({ type: 'snapshot', snapshot: snapshot([turn('a1', 'assistant', 'hi')], modelSummary({}, { name: 'served', capabilities, remote: { endpoint: 'http://127.0.0.1:8080', server: 'llama.cpp', model: 'served' } })) });
      click(tid('lens-toggle'));
      expect(tid('lens')!.dataset.state).toBe('no-routing');
      expect(tid('lens-status')!.textContent).toMatch(text);
    }
  });

  it('capture off: the lens says so and offers to turn it on', async () => {
    const h = await mount();
    host = h;
    h.send({ type: 'snapshot', snapshot: snapshot([], modelSummary({ captureRouting: false })) });
    click(tid('lens-toggle'));
    expect(tid('lens')!.dataset.state).toBe('capture-off');
    click(tid('enable-capture'));
    expect(h.posted).toContainEqual({ type: 'routing.setCapture', enabled: true });
    h.send({ type: 'model.state', model: modelSummary({ captureRouting: true }) });
    expect(tid('lens')!.dataset.state).toBe('ok');
  });

  it('"What am I looking at?" shows the built-in explanation', async () => {
    await conversation();
    click(tid('lens-toggle'));
    expect(tid('lens-explanation')!.hidden).toBe(true);
    click(tid('lens-explain-link'));
    expect(tid('lens-explanation')!.hidden).toBe(false);
    expect(tid('lens-explanation')!.textContent).toMatch(/top k/);
  });
});

describe('robustness', () => {
  it('leaves turns routed by a model of another shape out of the conversation aggregates', async () => {
    const h = await conversation();
    h.send({ type: 'chat.turnAdded', turn: turn('b1', 'assistant', 'other model', [{ ...block(0, 2), layers: 1, k: 4 }]) });
    click(tid('lens-toggle'));
    click(tid('lens-tab-conversation'));
    expect(tid('aggregates')!.dataset.tokens).toBe('2');
    expect(tid('aggregates-skipped')!.textContent).toMatch(/^2 message/);
    expect(h.posted.filter((m) => m.type === 'webview.error')).toEqual([]);
  });
});

describe("a user message's own tokens", () => {
  it('template, system prompt and re-evaluated history tokens are marked, counted and named; the message tokens are not', async () => {
    host = await mount();
    // 4 prompt tokens: template, history, message, message (the host's attribution when the answer ended).
    const user = turn('u1', 'user', 'Hello', [{ ...block(0, 4), phase: 'prompt' }], {
      promptSegments: [
        { start: 0, end: 1, role: 'template' },
        { start: 1, end: 2, role: 'history' },
        { start: 2, end: 4, role: 'message' },
      ],
    });
    host.send({ type: 'snapshot', snapshot: snapshot([user, turn('a1', 'assistant', 'Hel lo', [block(0, 2)])]) });
    click(tids('turn-lens-toggle')[0]);
    const spans = tokensOf('u1');
    expect(spans.map((s) => s.dataset.seg)).toEqual(['template', 'history', 'message', 'message']);
    expect(spans.map((s) => s.classList.contains('seg-template') || s.classList.contains('seg-history'))).toEqual([true, true, false, false]);
    expect(q('[data-turn-id="u1"] [data-testid="prompt-segments"]')!.textContent).toBe('2 tokens of your message · 1 earlier message evaluated again · 1 chat template (dimmed)');
    spans[0].dispatchEvent(new Event('pointerover', { bubbles: true }));
    expect(spans[0].title).toMatch(/^chat template · token 1 "Hel" id 101/);
    // Segments that arrive with a later update re-mark the tokens already shown.
    host.send({ type: 'chat.turnUpdated', turn: { ...(({ routing: _r, ...rest }) => rest)(user), promptSegments: [{ start: 0, end: 4, role: 'message' }] } });
    host.app.flush();
    expect(tokensOf('u1').map((s) => s.dataset.seg)).toEqual(['message', 'message', 'message', 'message']);
    expect(q('[data-turn-id="u1"] [data-testid="prompt-segments"]')).toBeNull();
  });
});

describe('the Lens button', () => {
  it('opens the lens with the last answer coloured by expert (no per-message toggle needed)', async () => {
    const h = await conversation();
    expect(tokensOf('a1')).toHaveLength(0);
    click(tid('lens-toggle'));
    h.app.flush();
    expect(tid('lens')!.hidden).toBe(false);
    expect(tokensOf('a1').map((s) => s.dataset.expert)).toEqual(['0', '0', '1', '0']);
    expect(tids('turn-lens-toggle')[1].getAttribute('aria-pressed')).toBe('true');
    expect(tids('turn-lens-toggle')[1].textContent).toBe('◧ Tokens');
  });
});

describe('the lens in an editor tab', () => {
  it('the sidebar offers it from the lens and from each message, and tells the host which message its lens shows', async () => {
    const h = await conversation();
    click(tids('turn-open-lens')[0]);
    click(tid('lens-toggle'));
    click(tid('lens-pop-out'));
    expect(h.posted.filter((m) => m.type === 'lens.openInEditor')).toEqual([
      { type: 'lens.openInEditor', turnId: 'u1' },
      { type: 'lens.openInEditor', turnId: 'a1' },
    ]);
    click(tids('turn-lens-toggle')[0]);
    click(q('[data-turn-id="a1"] .turn-header'));
    expect(h.posted.filter((m) => m.type === 'lens.follow').map((m) => (m as { turnId: string }).turnId)).toEqual(['a1', 'u1', 'a1']);
  });

  it('shows the message it follows as tokens beside the lens, without composer or close, and moves with lens.show', async () => {
    host = await mount(undefined, 'lens');
    host.send({ type: 'snapshot', snapshot: snapshot([turn('u1', 'user', 'Hello', [{ ...block(0, 2), phase: 'prompt' }]), turn('a1', 'assistant', 'Hel lo, "x"', [block(0, 4)])]) });
    host.send({ type: 'lens.show', turnId: 'a1' });
    expect(tid('app')!.classList.contains('lens-editor')).toBe(true);
    expect(tid('lens')!.hidden).toBe(false);
    expect(tokensOf('a1')).toHaveLength(4);
    expect(tid('lens-title')!.textContent).toBe('#2 Model: Hel lo, "x"');
    host.send({ type: 'lens.show', turnId: 'u1' });
    expect(tokensOf('u1')).toHaveLength(2);
    expect(tid('lens-title')!.textContent).toBe('#1 You: Hello');
    // It streams with the conversation: new routing of the followed message shows at once.
    host.send({ type: 'chat.frames', turnId: 'u1', textDelta: '', routing: [{ ...block(2, 4, 2), phase: 'prompt' }] });
    expect(tokensOf('u1')).toHaveLength(4);
    // The editor tab does not steer itself through the host.
    expect(host.posted.filter((m) => m.type === 'lens.follow')).toEqual([]);
  });
});
