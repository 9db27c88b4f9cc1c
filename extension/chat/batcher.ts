// Accumulates engine TokenFrames and posts them to the webview: a turn's first tokens at once (its first token is
// not held back), later ones together every STREAM_INTERVAL_MS, never one post per token.
import type { TokenFrame } from '../engine/types';
import type { HostToWebview, RoutingBlock } from '../protocol';
import { appendBlock } from './codec';

export function frameToBlock(frame: TokenFrame): RoutingBlock {
  return {
    firstIndex: frame.firstIndex,
    phase: frame.phase,
    ids: frame.ids,
    texts: frame.texts,
    experts: frame.experts,
    weights: frame.weights,
    k: frame.k,
    layers: frame.layers,
  };
}

interface Pending {
  textDelta: string;
  routing: RoutingBlock[];
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/**
 * Each post costs more than its tokens: VS Code relays it through the workbench and two webview frames, and the
 * webview lays out and paints once per post. Measured in code-server on 2 cores (scripts/bench-chat-speed.mjs):
 * 30 ms posts kept the browser busy enough to slow the engine beside it to about half its speed. Ten updates a
 * second still read as a live stream.
 */
export const STREAM_INTERVAL_MS = 100;

export class FrameBatcher {
  private pending = new Map<string, Pending>();
  private timer: unknown;
  /** The last turns that have had a post (their later frames wait for the timer). */
  private started = new Set<string>();

  constructor(
    private readonly post: (message: Extract<HostToWebview, { type: 'chat.frames' }>) => void,
    private readonly intervalMs = STREAM_INTERVAL_MS,
    private readonly timers: Timers = realTimers,
  ) {}

  push(turnId: string, textDelta: string, block?: RoutingBlock): void {
    let p = this.pending.get(turnId);
    if (!p) {
      p = { textDelta: '', routing: [] };
      this.pending.set(turnId, p);
    }
    p.textDelta += textDelta;
    if (block && block.ids.length > 0) appendBlock(p.routing, block);
    if (!this.started.has(turnId) && (textDelta || block?.ids.length)) {
      // A turn's first tokens go out on the next tick (with whatever else arrives in this one).
      this.started.add(turnId);
      if (this.started.size > 8) this.started.delete(this.started.values().next().value!);
      if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
      this.timer = this.timers.setTimeout(() => this.flush(), 0);
    } else if (this.timer === undefined) this.timer = this.timers.setTimeout(() => this.flush(), this.intervalMs);
  }

  flush(): void {
    if (this.timer !== undefined) {
      this.timers.clearTimeout(this.timer);
      this.timer = undefined;
    }
    const entries = [...this.pending];
    this.pending.clear();
    for (const [turnId, p] of entries) {
      if (!p.textDelta && p.routing.length === 0) continue;
      this.post({ type: 'chat.frames', turnId, textDelta: p.textDelta, routing: p.routing });
    }
  }

  dispose(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
    this.started.clear();
  }
}
