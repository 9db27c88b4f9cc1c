// The host's frame batcher: a turn's first tokens go out on the next tick, later ones together once per interval.
import { describe, expect, it } from 'vitest';
import { FrameBatcher, STREAM_INTERVAL_MS, type Timers } from '../../../extension/chat/batcher';
import type { HostToWebview, RoutingBlock } from '../../../extension/protocol';

/** Timers that run when the test says so: `advance(ms)` fires what is due, in order. */
function manualTimers() {
  let now = 0;
  let next = 1;
  const due = new Map<number, { at: number; fn: () => void }>();
  const timers: Timers = {
    setTimeout: (fn, ms) => (due.set(next, { at: now + ms, fn }), next++),
    clearTimeout: (h) => void due.delete(h as number),
  };
  const advance = (ms: number) => {
    const end = now + ms;
    for (;;) {
      const [id, t] = [...due].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0] ?? [];
      if (id === undefined || !t) break;
      due.delete(id);
      now = t.at;
      t.fn();
    }
    now = end;
  };
  return { timers, advance, pending: () => due.size };
}

const block = (firstIndex: number, n: number): RoutingBlock => ({
  firstIndex,
  phase: 'generated',
  ids: Int32Array.from({ length: n }, (_, i) => 100 + i),
  texts: Array.from({ length: n }, () => 'x'),
  experts: new Uint16Array(n * 2),
  weights: new Float32Array(n * 2),
  k: 1,
  layers: 2,
});

describe('FrameBatcher', () => {
  it('sends a turn’s first tokens on the next tick, then one post per interval with every token in order', () => {
    const posts: Extract<HostToWebview, { type: 'chat.frames' }>[] = [];
    const t = manualTimers();
    const b = new FrameBatcher((m) => posts.push(m), STREAM_INTERVAL_MS, t.timers);
    b.push('a', 'He', block(0, 1));
    expect(posts).toHaveLength(0); // not inside the engine's callback
    t.advance(0);
    expect(posts.map((p) => p.textDelta)).toEqual(['He']);
    // 30 tokens over the next 290 ms: one post per interval, not one per token.
    for (let i = 1; i <= 30; i++) {
      t.advance(10);
      b.push('a', 'y', block(i, 1));
    }
    expect(posts.length).toBeGreaterThanOrEqual(3);
    expect(posts.length).toBeLessThanOrEqual(4);
    b.flush();
    expect(posts.map((p) => p.textDelta).join('')).toBe('He' + 'y'.repeat(30));
    // Consecutive blocks are merged: each post carries one block, and together they cover 0..30.
    const covered = posts.flatMap((p) => p.routing.map((r) => [r.firstIndex, r.ids.length]));
    expect(covered.reduce((n, [first, len]) => (first === n ? n + len : -1), 0)).toBe(31);
    expect(t.pending()).toBe(0);
  });

  it('gives another turn’s first tokens their own next-tick post; dispose drops what is pending', () => {
    const posts: Extract<HostToWebview, { type: 'chat.frames' }>[] = [];
    const t = manualTimers();
    const b = new FrameBatcher((m) => posts.push(m), 100, t.timers);
    b.push('user', '', { ...block(0, 3), phase: 'prompt' });
    t.advance(0);
    b.push('answer', 'A', block(3, 1));
    t.advance(0);
    expect(posts.map((p) => p.turnId)).toEqual(['user', 'answer']);
    b.push('answer', 'B', block(4, 1));
    t.advance(50);
    expect(posts).toHaveLength(2); // held until the interval ends
    b.dispose();
    t.advance(200);
    expect(posts).toHaveLength(2);
  });
});
