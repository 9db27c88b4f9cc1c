// Accumulates engine TokenFrames and posts them to the webview on a timer (~30 ms), never one post per token.
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

export class FrameBatcher {
  private pending = new Map<string, Pending>();
  private timer: unknown;

  constructor(
    private readonly post: (message: Extract<HostToWebview, { type: 'chat.frames' }>) => void,
    private readonly intervalMs = 30,
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
    if (this.timer === undefined) this.timer = this.timers.setTimeout(() => this.flush(), this.intervalMs);
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
  }
}
