// Compact persistence of routing: typed arrays as base64 strings (no vscode import).
import type { ChatTurn, RoutingBlock } from '../protocol';

function toBase64(view: ArrayBufferView): string {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64');
}

function fromBase64(text: string): ArrayBuffer {
  const bytes = Buffer.from(text, 'base64');
  // Copy into a fresh, aligned ArrayBuffer (Buffer's pool offset may not be aligned for Float32/Int32).
  const out = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(out).set(bytes);
  return out;
}

export interface StoredRoutingBlock {
  firstIndex: number;
  phase: RoutingBlock['phase'];
  texts: string[];
  k: number;
  layers: number;
  /** base64 of Int32Array / Uint16Array / Float32Array (little-endian, as in memory). */
  ids: string;
  experts: string;
  weights: string;
}

export function encodeBlock(block: RoutingBlock): StoredRoutingBlock {
  return {
    firstIndex: block.firstIndex,
    phase: block.phase,
    texts: block.texts,
    k: block.k,
    layers: block.layers,
    ids: toBase64(block.ids),
    experts: toBase64(block.experts),
    weights: toBase64(block.weights),
  };
}

export function decodeBlock(stored: StoredRoutingBlock): RoutingBlock {
  return {
    firstIndex: stored.firstIndex,
    phase: stored.phase,
    texts: Array.isArray(stored.texts) ? stored.texts : [],
    k: stored.k,
    layers: stored.layers,
    ids: new Int32Array(fromBase64(stored.ids)),
    experts: new Uint16Array(fromBase64(stored.experts)),
    weights: new Float32Array(fromBase64(stored.weights)),
  };
}

export function routingBytes(blocks: RoutingBlock[]): number {
  let n = 0;
  for (const b of blocks) n += b.ids.byteLength + b.experts.byteLength + b.weights.byteLength;
  return n;
}

/** True when `next` continues `prev` (same phase and layout, consecutive token indices). */
export function canMerge(prev: RoutingBlock, next: RoutingBlock): boolean {
  return (
    prev.phase === next.phase &&
    prev.k === next.k &&
    prev.layers === next.layers &&
    prev.firstIndex + prev.ids.length === next.firstIndex
  );
}

/** One block of a run of blocks that each continue the previous one (see canMerge): one allocation per array. */
function mergeRun(run: RoutingBlock[]): RoutingBlock {
  if (run.length === 1) return run[0];
  const cat = <T extends Int32Array | Uint16Array | Float32Array>(pick: (b: RoutingBlock) => T): T => {
    const Ctor = pick(run[0]).constructor as new (n: number) => T;
    const out = new Ctor(run.reduce((n, b) => n + pick(b).length, 0));
    let at = 0;
    for (const b of run) {
      out.set(pick(b) as never, at);
      at += pick(b).length;
    }
    return out;
  };
  const { firstIndex, phase, k, layers } = run[0];
  return {
    firstIndex,
    phase,
    k,
    layers,
    ids: cat((b) => b.ids),
    texts: run.flatMap((b) => b.texts),
    experts: cat((b) => b.experts),
    weights: cat((b) => b.weights),
  };
}

export function mergeBlocks(prev: RoutingBlock, next: RoutingBlock): RoutingBlock {
  return mergeRun([prev, next]);
}

/**
 * Merges every run of consecutive blocks that continue one another into one block. A stream appends its
 * blocks as they come and compacts once at the end: merging per frame would copy the routing so far each time.
 */
export function compactRouting(blocks: RoutingBlock[]): RoutingBlock[] {
  const out: RoutingBlock[] = [];
  let run: RoutingBlock[] = [];
  for (const block of blocks) {
    if (run.length && !canMerge(run[run.length - 1], block)) {
      out.push(mergeRun(run));
      run = [];
    }
    run.push(block);
  }
  if (run.length) out.push(mergeRun(run));
  return out;
}

/** Appends `block` to `blocks`, merging it into the last one when it continues it. Mutates `blocks`. */
export function appendBlock(blocks: RoutingBlock[], block: RoutingBlock): void {
  const last = blocks[blocks.length - 1];
  if (last && canMerge(last, block)) blocks[blocks.length - 1] = mergeBlocks(last, block);
  else blocks.push(block);
}

export const CONVERSATION_FORMAT = 1;

export interface StoredTurn extends Omit<ChatTurn, 'routing'> {
  routing: StoredRoutingBlock[];
}

export interface StoredConversation {
  format: typeof CONVERSATION_FORMAT;
  savedAt: number;
  turns: StoredTurn[];
}

export const ROUTING_DROPPED_NOTE = 'Routing of this turn was not kept (conversation storage limit).';

/**
 * Serializes a conversation. Routing is kept for the newest turns up to `maxRoutingBytes` of raw arrays;
 * older turns lose their routing with a visible note rather than bloating workspace storage.
 */
export function encodeConversation(turns: ChatTurn[], maxRoutingBytes = 4 * 1024 * 1024): StoredConversation {
  let budget = maxRoutingBytes;
  const out: StoredTurn[] = new Array(turns.length);
  for (let i = turns.length - 1; i >= 0; i--) {
    const turn = turns[i];
    const bytes = routingBytes(turn.routing);
    const keep = bytes <= budget;
    if (keep) budget -= bytes;
    const notes = turn.notes ? [...turn.notes] : [];
    if (!keep && bytes > 0 && !notes.includes(ROUTING_DROPPED_NOTE)) notes.push(ROUTING_DROPPED_NOTE);
    const { routing: _routing, ...rest } = turn;
    out[i] = {
      ...rest,
      ...(notes.length ? { notes } : {}),
      routing: keep ? turn.routing.map(encodeBlock) : [],
    };
  }
  return { format: CONVERSATION_FORMAT, savedAt: Date.now(), turns: out };
}

export const INTERRUPTED_NOTE = 'The answer was interrupted (window reloaded or VS Code closed).';

/** Parses stored data defensively; turns that were streaming when saved come back as stopped. */
export function decodeConversation(data: unknown): ChatTurn[] {
  if (!data || typeof data !== 'object') return [];
  const stored = data as Partial<StoredConversation>;
  if (stored.format !== CONVERSATION_FORMAT || !Array.isArray(stored.turns)) return [];
  const turns: ChatTurn[] = [];
  for (const t of stored.turns) {
    if (!t || typeof t !== 'object' || typeof t.id !== 'string' || typeof t.content !== 'string') continue;
    let routing: RoutingBlock[] = [];
    try {
      routing = Array.isArray(t.routing) ? t.routing.map(decodeBlock) : [];
    } catch {
      routing = [];
    }
    const turn: ChatTurn = { ...t, display: typeof t.display === 'string' ? t.display : t.content, routing };
    if (turn.status === 'streaming') {
      turn.status = 'stopped';
      turn.notes = [...(turn.notes ?? []), INTERRUPTED_NOTE];
    }
    turns.push(turn);
  }
  return turns;
}
