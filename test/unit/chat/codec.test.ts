import { describe, expect, it } from 'vitest';
import { ROUTING_DROPPED_NOTE, appendBlock, compactRouting, decodeConversation, encodeConversation } from '../../../extension/chat/codec';
import { frameToBlock } from '../../../extension/chat/batcher';
import type { ChatTurn, RoutingBlock } from '../../../extension/protocol';
import { frame } from '../chat/fake-engine';

describe('conversation codec (vscode-free, used with workspaceState)', () => {
  it('keeps routing for the newest turns within the byte budget and notes the rest', () => {
    const turn = (id: string): ChatTurn => ({ id, role: 'assistant', display: id, content: id, status: 'complete', routing: [frameToBlock(frame('generated', 0, [1, 2, 3, 4], 'x'))] });
    const turns = [turn('a'), turn('b'), turn('c')];
    const oneTurnBytes = 4 * 4 + 4 * 2 * 2 * 2 + 4 * 2 * 2 * 4;
    const stored = encodeConversation(turns, oneTurnBytes * 2);
    const back = decodeConversation(JSON.parse(JSON.stringify(stored)));
    expect(back.map((t) => t.routing.length)).toEqual([0, 1, 1]);
    expect(back[0].notes).toEqual([ROUTING_DROPPED_NOTE]);
    expect([...back[2].routing[0].weights]).toEqual([...turns[2].routing[0].weights]);
  });

  it('ignores garbage', () => {
    expect(decodeConversation(undefined)).toEqual([]);
    expect(decodeConversation({ format: 99, turns: [] })).toEqual([]);
    expect(decodeConversation({ format: 1, turns: [null, { id: 1 }, { id: 'x', content: 'c', role: 'user', status: 'complete', routing: [{ ids: '!!' }] }] })).toHaveLength(1);
  });

  it('compactRouting merges each run of consecutive blocks once, as appending them one by one would', () => {
    const plain = (blocks: RoutingBlock[]) => blocks.map((b) => ({ ...b, ids: [...b.ids], experts: [...b.experts], weights: [...b.weights], texts: [...b.texts] }));
    const frames = [frame('prompt', 0, [1, 2, 3], ''), ...Array.from({ length: 40 }, (_, i) => frame('generated', 3 + i, [10 + i], 'x')), frame('generated', 50, [9], 'y')];
    const expected: RoutingBlock[] = [];
    for (const f of frames) appendBlock(expected, frameToBlock(f));
    const streamed = frames.map(frameToBlock);
    const before = plain(streamed);
    const compacted = compactRouting(streamed);
    expect(compacted.map((b) => [b.phase, b.firstIndex, b.ids.length])).toEqual([['prompt', 0, 3], ['generated', 3, 40], ['generated', 50, 1]]);
    expect(plain(compacted)).toEqual(plain(expected));
    expect(plain(streamed)).toEqual(before); // the streamed blocks are left as they were
    expect(compactRouting([])).toEqual([]);
  });
});
