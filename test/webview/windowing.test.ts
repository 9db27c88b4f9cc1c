// @vitest-environment happy-dom
// Windowing: with a (stubbed) layout, turns far from the viewport are parked (emptied, held at their
// height) and rendered again when scrolled near; long token views come in chunks.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomBlock } from '../routing/fixtures';
import { mount, snapshot, turn, tid, tids, qa, type FakeHost } from './harness';

let host: FakeHost | undefined;
let scroll = 0;
const TURN_HEIGHT = 400;
const VIEW = 500;
const saved = { rect: HTMLElement.prototype.getBoundingClientRect, ch: Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'clientHeight') };

beforeEach(() => {
  scroll = 0;
  // A fake layout: turn i occupies [i*400, (i+1)*400) of the transcript, which shows 500 px from `scroll`.
  HTMLElement.prototype.getBoundingClientRect = function (this: HTMLElement) {
    const turnEl = this.closest('[data-testid="turn"]') as HTMLElement | null;
    let top = 0;
    let height = 0;
    if (this.dataset.testid === 'transcript') height = VIEW;
    else if (turnEl) {
      const i = tids('turn').indexOf(turnEl);
      top = i * TURN_HEIGHT - scroll;
      height = this === turnEl ? TURN_HEIGHT : TURN_HEIGHT - 40;
    }
    return { top, bottom: top + height, height, left: 0, right: 300, width: 300, x: 0, y: top, toJSON: () => ({}) } as DOMRect;
  };
  Object.defineProperty(HTMLElement.prototype, 'clientHeight', {
    configurable: true,
    get(this: HTMLElement) {
      return this.dataset.testid === 'transcript' ? VIEW : 0;
    },
  });
});

afterEach(() => {
  host?.app.dispose();
  host = undefined;
  HTMLElement.prototype.getBoundingClientRect = saved.rect;
  if (saved.ch) Object.defineProperty(HTMLElement.prototype, 'clientHeight', saved.ch);
});

const parked = () => tids('turn').map((t) => t.classList.contains('parked'));

describe('windowing', () => {
  it('parks turns far from the viewport and renders them when scrolled near', async () => {
    host = await mount();
    const turns = Array.from({ length: 30 }, (_, i) => turn(`t${i}`, i % 2 ? 'assistant' : 'user', `Turn ${i} text`));
    host.send({ type: 'snapshot', snapshot: snapshot(turns) });
    // Viewport 0..500 plus a margin of max(600, 1.5 × 500) = 750 px: turns 0..3 are near.
    let p = parked();
    expect(p.slice(0, 4)).toEqual([false, false, false, false]);
    expect(p.slice(5).every(Boolean)).toBe(true);
    expect(tids('turn')[10].querySelector('.turn-body')!.childElementCount).toBe(0);
    expect(tids('turn')[10].querySelector<HTMLElement>('.turn-body')!.style.height).not.toBe('');

    scroll = 20 * TURN_HEIGHT;
    const scroller = tid('transcript')!;
    Object.defineProperty(scroller, 'scrollTop', { configurable: true, get: () => scroll, set: () => {} });
    scroller.dispatchEvent(new Event('scroll'));
    host.app.flush();
    p = parked();
    expect(p[20]).toBe(false);
    expect(tids('turn')[20].textContent).toContain('Turn 20 text');
    expect(p[0]).toBe(true);
    expect(tids('turn')[0].querySelector('.turn-body')!.childElementCount).toBe(0);
  });

  it('follows the answer unless the user scrolled up; a new question brings it back', async () => {
    host = await mount();
    const turns = Array.from({ length: 30 }, (_, i) => turn(`t${i}`, i % 2 ? 'assistant' : 'user', `Turn ${i} text`));
    host.send({ type: 'snapshot', snapshot: snapshot(turns) });
    const scroller = tid('transcript')!;
    const bottom = () => tids('turn').length * TURN_HEIGHT - VIEW;
    Object.defineProperty(scroller, 'scrollHeight', { configurable: true, get: () => tids('turn').length * TURN_HEIGHT });
    Object.defineProperty(scroller, 'scrollTop', { configurable: true, get: () => scroll, set: (v: number) => (scroll = Math.max(0, Math.min(v, bottom()))) });
    const streamTurn = (id: string) => {
      host!.send({ type: 'chat.turnAdded', turn: turn(id, 'assistant', '', [], { status: 'streaming' }) });
      host!.send({ type: 'chat.frames', turnId: id, textDelta: `Answer ${id}`, routing: [] });
      host!.app.flush();
    };
    host.send({ type: 'chat.turnAdded', turn: turn('q1', 'user', 'Question 1') });
    streamTurn('a1');
    expect(scroll).toBe(bottom());

    // The user scrolls up to read: streaming does not pull the view away.
    scroll = 0;
    scroller.dispatchEvent(new Event('scroll'));
    host.app.flush();
    host.send({ type: 'chat.frames', turnId: 'a1', textDelta: ' more', routing: [] });
    host.app.flush();
    expect(scroll).toBe(0);

    // A question from outside the input (Summarize Selection, Retry) scrolls to its answer, rendered.
    host.send({ type: 'chat.turnAdded', turn: turn('q2', 'user', 'Summarize this') });
    streamTurn('a2');
    expect(scroll).toBe(bottom());
    const answer = tids('turn').at(-1)!;
    expect(answer.classList.contains('parked')).toBe(false);
    expect(answer.textContent).toContain('Answer a2');
  });

  it('splits a long token view into chunks', async () => {
    host = await mount({ v: 1, tokenTurns: ['a'] });
    const b = randomBlock(0, 1000, 2, 4, 2, 3);
    host.send({ type: 'snapshot', snapshot: snapshot([turn('a', 'assistant', 'x', [b])]) });
    const chunks = qa('[data-turn-id="a"] .chunk');
    expect(chunks.length).toBeGreaterThanOrEqual(Math.ceil(1000 / 320));
    expect(chunks.map((c) => Number(c.dataset.start))).toEqual([...chunks.map((c) => Number(c.dataset.start))].sort((x, y) => x - y));
    // Chunks near the (stubbed) viewport are rendered; every token is reachable by index.
    expect(qa('[data-turn-id="a"] [data-testid="token"]').length).toBeGreaterThan(0);
  });
});
