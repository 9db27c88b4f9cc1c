// @vitest-environment happy-dom
// The webview's one invalidation path: the store's versions say which data moved, the scheduler's one dirty
// set carries UI changes, and one render runs per animation frame.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Scheduler, type Dirty } from '../../webview/scheduler';
import { Store } from '../../webview/store';
import { randomBlock } from '../routing/fixtures';
import { mount, snapshot, tid, turn, type FakeHost } from './harness';

let host: FakeHost | undefined;
afterEach(() => {
  host?.app.dispose();
  host = undefined;
  vi.useRealTimers();
});

describe('scheduler', () => {
  it('merges every invalidation before a frame into one render with one dirty set', () => {
    const frames: FrameRequestCallback[] = [];
    vi.stubGlobal('requestAnimationFrame', (cb: FrameRequestCallback) => frames.push(cb));
    vi.stubGlobal('cancelAnimationFrame', () => undefined);
    const renders: Dirty[][] = [];
    const s = new Scheduler((d) => renders.push([...d]));
    s.invalidate('lens');
    s.invalidate('turn:a', 'recolor');
    s.invalidate();
    expect(frames).toHaveLength(1);
    frames[0](0);
    expect(renders).toEqual([['lens', 'turn:a', 'recolor']]);
    // The next invalidation starts a new set.
    s.invalidate('window');
    expect(frames).toHaveLength(2);
    s.flush();
    expect(renders[1]).toEqual(['window']);
    vi.unstubAllGlobals();
  });
});

describe('store versions', () => {
  it('a change bumps the changed field of that turn and the store, nothing else', () => {
    const store = new Store();
    store.load(snapshot([turn('u1', 'user', 'hi'), turn('a1', 'assistant', 'hello', [randomBlock(0, 3, 2, 8, 2, 1)])]));
    const [u, a] = store.turns;
    const before = { u: { ...u }, a: { t: a.textVersion, r: a.routingVersion, i: a.infoVersion }, store: store.version, structure: store.structureVersion };
    a.appendText(' there');
    expect(a.textVersion).toBeGreaterThan(before.a.t);
    expect([a.routingVersion, a.infoVersion]).toEqual([before.a.r, before.a.i]);
    expect([u.textVersion, u.routingVersion, u.infoVersion]).toEqual([before.u.textVersion, before.u.routingVersion, before.u.infoVersion]);
    expect(store.version).toBeGreaterThan(before.store);
    expect(store.structureVersion).toBe(before.structure);
    a.addRouting(randomBlock(3, 2, 2, 8, 2, 2));
    expect(a.routingVersion).toBeGreaterThan(before.a.r);
    store.put(turn('a1', 'assistant', 'replaced'));
    expect(store.structureVersion).toBeGreaterThan(before.structure);
  });
});

describe('rendering follows the versions', () => {
  it('streaming into one turn re-renders only that turn; a finished turn keeps its DOM', async () => {
    host = await mount();
    host.send({ type: 'snapshot', snapshot: snapshot([turn('u1', 'user', 'first question'), turn('a1', 'assistant', 'first **answer**'), turn('u2', 'user', 'second')]) });
    const firstAnswer = tid('turn-text', document.querySelector('[data-turn-id="a1"]')!)!;
    const firstNodes = [...firstAnswer.childNodes];
    host.send({ type: 'chat.turnAdded', turn: turn('a2', 'assistant', '', [], { status: 'streaming' }) });
    for (const piece of ['Hel', 'lo ', 'world']) host.send({ type: 'chat.frames', turnId: 'a2', textDelta: piece, routing: [] });
    const streaming = document.querySelector('[data-turn-id="a2"]')!;
    expect(streaming.textContent).toContain('Hello world');
    // The other turns' rendered markdown was not rebuilt.
    expect([...tid('turn-text', document.querySelector('[data-turn-id="a1"]')!)!.childNodes]).toEqual(firstNodes);
    expect(tid('turn-text', document.querySelector('[data-turn-id="a1"]')!)).toBe(firstAnswer);
    // The final update (status only, same text) renders the meta and the final markdown of that turn.
    host.send({ type: 'chat.turnUpdated', turn: turn('a2', 'assistant', 'Hello world', [], { status: 'complete', stats: { generatedTokens: 3, generatedTokensPerSecond: 12.5 } as never }) });
    expect(streaming.getAttribute('data-status')).toBe('complete');
    expect(tid('turn-stats', streaming)!.textContent).toContain('12.5 tok/s');
    expect(tid('turn-text', document.querySelector('[data-turn-id="a1"]')!)).toBe(firstAnswer);
  });

  it('turns added, replaced and removed by the host appear in the store order without explicit view calls', async () => {
    host = await mount();
    host.send({ type: 'snapshot', snapshot: snapshot([turn('u1', 'user', 'one'), turn('a1', 'assistant', 'two')]) });
    host.send({ type: 'chat.turnAdded', turn: turn('u2', 'user', 'three') });
    host.send({ type: 'chat.turnAdded', turn: turn('a1', 'assistant', 'two, retried') });
    const ids = () => [...document.querySelectorAll('[data-testid="turn"]')].map((e) => e.getAttribute('data-turn-id'));
    expect(ids()).toEqual(['u1', 'a1', 'u2']);
    expect(document.querySelector('[data-turn-id="a1"]')!.textContent).toContain('two, retried');
    host.send({ type: 'chat.turnRemoved', turnId: 'u1' });
    expect(ids()).toEqual(['a1', 'u2']);
  });
});
