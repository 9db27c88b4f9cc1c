import { describe, expect, it } from 'vitest';
import { csvField, float32Shortest, messagesToCsv, messagesToJsonl, normalizeRoutingBlock, toCsv, toJsonl } from '../../extension/routing';
import { block } from './fixtures';

describe('export', () => {
  it('JSONL: one object per token in the CLI format', () => {
    expect(toJsonl([block(0, 1), block(2, 3)])).toBe(
      '{"index":0,"phase":"generated","id":101,"text":"Hel","experts":[[0,1],[2,3]],"weights":[[0.75,0.25],[0.5,0.5]]}\n' +
        '{"index":2,"phase":"generated","id":103,"text":", \\"x\\"","experts":[[1,3],[2,3]],"weights":[[0.75,0.25],[0.5,0.5]]}\n',
    );
    expect(toJsonl([])).toBe('');
  });

  it('JSONL weights are the shortest float32 decimals', () => {
    const b = { ...block(0, 1), weights: Float32Array.from([0.6, 0.4, 0.1, 0.9]) };
    expect(toJsonl([b])).toContain('"weights":[[0.6,0.4],[0.1,0.9]]');
    expect(float32Shortest(Math.fround(0.1))).toBe(0.1);
    expect(float32Shortest(1 / 3)).toBe(0.33333334);
  });

  it('CSV with RFC 4180 quoting and CRLF', () => {
    expect(toCsv([block(2, 4)])).toBe(
      'token_index,token,layer,rank,expert,weight\r\n' +
        '2,", ""x""",0,0,1,0.75\r\n' +
        '2,", ""x""",0,1,3,0.25\r\n' +
        '2,", ""x""",1,0,2,0.5\r\n' +
        '2,", ""x""",1,1,3,0.5\r\n' +
        '3,"\n",0,0,1,0.5\r\n' +
        '3,"\n",0,1,3,0.5\r\n' +
        '3,"\n",1,0,0,0.75\r\n' +
        '3,"\n",1,1,1,0.25\r\n',
    );
    expect(toCsv([block(0, 1)], { layerIds: [4, 9], header: false }).split('\r\n')[2]).toBe('0,Hel,9,0,2,0.5');
    expect(csvField('plain text')).toBe('plain text');
    expect(csvField('a\rb')).toBe('"a\rb"');
  });

  it('neutralises cells a spreadsheet would run as a formula (token texts are model output), JSONL stays exact', () => {
    for (const evil of ['=HYPERLINK("http://x","y")', '+1+1', '-2+3', '@SUM(A1)', '\tcmd', '\r=1'])
      expect(csvField(evil).replace(/^"/, '')).toMatch(/^'/);
    expect(csvField('=1+1')).toBe("'=1+1");
    expect(csvField('=A1,B1')).toBe(`"'=A1,B1"`);
    expect(csvField(' =1')).toBe(' =1');
    expect(csvField('a-b')).toBe('a-b');
    const b = { ...block(0, 1), texts: ['=cmd|x'] };
    expect(toCsv([b], { header: false }).split('\r\n')[0]).toMatch(/^0,'=cmd\|x,/);
    expect(JSON.parse(toJsonl([b]).split('\n')[0]).text).toBe('=cmd|x');
  });

  it('normalises blocks that lost their typed arrays in transit', () => {
    const b = block(0, 2);
    const viaJson = JSON.parse(JSON.stringify(b));
    const n = normalizeRoutingBlock(viaJson);
    expect(n.experts).toBeInstanceOf(Uint16Array);
    expect(Array.from(n.experts)).toEqual(Array.from(b.experts));
    expect(Array.from(n.weights)).toEqual(Array.from(b.weights));
    const fromArrays = normalizeRoutingBlock({ ...b, ids: [101, 102], experts: Array.from(b.experts), weights: Array.from(b.weights) } as never);
    expect(fromArrays.ids).toBeInstanceOf(Int32Array);
    expect(toJsonl([fromArrays])).toBe(toJsonl([b]));
  });

  it("the chat's export numbers tokens as the lens does: message from 1, token within it from 1 (not the context position)", () => {
    // Message 1: a prompt of 2 tokens at positions 0..1; message 2: an answer of 2 tokens at context positions 14..15.
    const messages = [
      { message: 1, blocks: [{ ...block(0, 2), phase: 'prompt' as const }] },
      { message: 2, blocks: [block(2, 3, 14), block(3, 4, 15)] },
    ];
    const csv = messagesToCsv(messages, { layerIds: [4, 9] }).split('\r\n');
    expect(csv[0]).toBe('message,token_index,token,layer,rank,expert,weight');
    expect(csv.slice(1, 5)).toEqual(['1,1,Hel,4,0,0,0.75', '1,1,Hel,4,1,1,0.25', '1,1,Hel,9,0,2,0.5', '1,1,Hel,9,1,3,0.5']);
    expect(csv.filter((r) => /^\d/.test(r)).map((r) => r.split(',').slice(0, 2).join(','))).toEqual([...Array(4).fill('1,1'), ...Array(4).fill('1,2'), ...Array(4).fill('2,1'), ...Array(4).fill('2,2')]);
    expect(csv[9]).toBe('2,1,", ""x""",4,0,1,0.75');
    expect(csv.pop()).toBe('');
    const jsonl = messagesToJsonl(messages).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(jsonl.map((t) => [t.message, t.index, t.phase, t.id])).toEqual([
      [1, 1, 'prompt', 101],
      [1, 2, 'prompt', 102],
      [2, 1, 'generated', 103],
      [2, 2, 'generated', 104],
    ]);
    expect(messagesToJsonl(messages).split('\n')[2]).toBe('{"message":2,"index":1,"phase":"generated","id":103,"text":", \\"x\\"","experts":[[1,3],[2,3]],"weights":[[0.75,0.25],[0.5,0.5]]}');
  });
});
