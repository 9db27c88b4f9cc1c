import { describe, expect, it } from 'vitest';
import { FakeEngine } from '../fake-engine';
import { prepareInput, chunkByTokens, LongInputError, type Summarize } from '../../extension/evals/long-input';
import type { LongInputConfig } from '../../extension/evals/types';
import type { GenerateInput } from '../../extension/engine/types';

const words = (n: number, prefix = 'w') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const doc200 = words(200).join(' ');
const truncate: LongInputConfig = { strategy: 'truncate-middle', chunkOverlap: 0, maxDepth: 3 };
const textOf = (input: GenerateInput) => FakeEngine.promptText(input);

/** A summarizer that keeps the first `n` words of the part after the blank line, like the fake engine. */
function firstWords(n: number, calls: string[]): Summarize {
  return async (input, maxTokens) => {
    const prompt = textOf(input);
    calls.push(prompt);
    const part = prompt.slice(prompt.indexOf('\n\n') + 2);
    return part.split(/\s+/).filter(Boolean).slice(0, Math.min(n, maxTokens)).join(' ');
  };
}

describe('truncate-middle', () => {
  it('keeps the first and last halves of the token budget (raw prompt)', async () => {
    const engine = new FakeEngine();
    // context 100, answer 20 → 80 prompt tokens; the template adds none → 40 head + 40 tail tokens.
    const r = await prepareInput(engine, { mode: 'raw', template: '{document}' }, doc200, { contextSize: 100, maxTokens: 20, config: truncate });
    expect(r.info).toEqual({ strategy: 'truncate-middle', documentTokens: 200, promptTokens: 80, budgetTokens: 80, tokensDropped: 120 });
    expect(textOf(r.input)).toBe([...words(40), ...words(200).slice(160)].join(' '));
  });

  it('accounts for the chat template and the prompt around the document', async () => {
    const engine = new FakeEngine();
    // chat: 3 tokens per message + "Summarize:" (1 word) = 4 → 76 document tokens: 38 + 38.
    const r = await prepareInput(engine, { mode: 'chat', template: 'Summarize:\n\n{document}' }, doc200, {
      contextSize: 100,
      maxTokens: 20,
      config: truncate,
    });
    expect(r.info.tokensDropped).toBe(124);
    expect(r.info.promptTokens).toBe(80);
    const kept = textOf(r.input).split('\n\n')[1].split(' ');
    expect(kept.slice(0, 38)).toEqual(words(38));
    expect(kept.slice(38)).toEqual(words(200).slice(162));
  });

  it('honours reserveTokens instead of maxTokens', async () => {
    const r = await prepareInput(new FakeEngine(), { mode: 'raw', template: '{document}' }, doc200, {
      contextSize: 100,
      maxTokens: 20,
      config: { ...truncate, reserveTokens: 50 },
    });
    expect(r.info.tokensDropped).toBe(150);
  });

  it('leaves a document that fits alone', async () => {
    const r = await prepareInput(new FakeEngine(), { mode: 'raw', template: 'Summarize:\n\n{document}' }, 'short text here', {
      contextSize: 100,
      maxTokens: 20,
      config: truncate,
    });
    expect(r.info).toEqual({ strategy: 'none', documentTokens: 3, promptTokens: 4, budgetTokens: 80 });
    expect(textOf(r.input)).toBe('Summarize:\n\nshort text here');
  });

  it('fails clearly when the template leaves no room', async () => {
    await expect(
      prepareInput(new FakeEngine(), { mode: 'raw', template: `${words(90).join(' ')} {document}` }, doc200, { contextSize: 100, maxTokens: 20, config: truncate }),
    ).rejects.toBeInstanceOf(LongInputError);
  });
});

describe('map-reduce', () => {
  const mr: LongInputConfig = { strategy: 'map-reduce', chunkTokens: 30, chunkOverlap: 0, mapTemplate: 'Part:\n\n{document}', maxDepth: 3 };

  it('chunks by tokens', async () => {
    const chunks = await chunkByTokens(new FakeEngine(), doc200, 30);
    expect(chunks).toHaveLength(7);
    expect(chunks[6].split(' ')).toEqual(words(200).slice(180));
    const overlapping = await chunkByTokens(new FakeEngine(), words(10).join(' '), 4, 1);
    expect(overlapping).toEqual(['w0 w1 w2 w3', 'w3 w4 w5 w6', 'w6 w7 w8 w9']);
  });

  it('summarises each chunk and merges the summaries in one level', async () => {
    const calls: string[] = [];
    const r = await prepareInput(
      new FakeEngine(),
      { mode: 'raw', template: 'Summarize:\n\n{document}' },
      doc200,
      { contextSize: 100, maxTokens: 20, config: { ...mr, mapMaxTokens: 10 } },
      firstWords(12, calls),
    );
    // 200 tokens / 30 → 7 chunks; each summary is its first 10 words → 70 words + 1 ≤ 80: fits after one level.
    expect(calls).toHaveLength(7);
    expect(calls[1]).toBe(`Part:\n\n${words(200).slice(30, 60).join(' ')}`);
    expect(r.info).toMatchObject({ strategy: 'map-reduce', documentTokens: 200, chunks: 7, chunksMerged: 7, levels: 1, calls: 8 });
    expect(r.partials![0][1]).toBe(words(200).slice(30, 40).join(' '));
    const merged = textOf(r.input);
    expect(merged.startsWith('Summarize:\n\nw0 w1')).toBe(true);
    expect(merged).toContain('w9\n\nw30 w31');
  });

  it('recurses while the merged summaries are too long', async () => {
    const calls: string[] = [];
    const r = await prepareInput(
      new FakeEngine(),
      { mode: 'raw', template: '{document}' },
      doc200,
      { contextSize: 100, maxTokens: 20, config: { ...mr, mapMaxTokens: 20 } },
      firstWords(20, calls),
    );
    // level 1: 7 chunks → 7×20 = 140 words; level 2: 140 in chunks of 30 → 5 chunks → 100 words;
    // level 3: 100 → chunks of 30, 30, 30, 10 → summaries of 20, 20, 20, 10 = 70 words: fits.
    expect(r.info).toMatchObject({ chunks: 7, chunksMerged: 16, levels: 3, calls: 17 });
    expect(r.partials!.map((p) => p.length)).toEqual([7, 5, 4]);
    expect(r.info.promptTokens).toBe(70);
  });

  it('truncates the middle of the merged summaries after maxDepth levels', async () => {
    const r = await prepareInput(
      new FakeEngine(),
      { mode: 'raw', template: '{document}' },
      doc200,
      { contextSize: 100, maxTokens: 20, config: { ...mr, mapMaxTokens: 20, maxDepth: 2 } },
      firstWords(20, []),
    );
    // after 2 levels: 100 words > 80 → 20 dropped from the middle.
    expect(r.info).toMatchObject({ levels: 2, chunksMerged: 12, tokensDropped: 20, promptTokens: 80 });
  });
});
