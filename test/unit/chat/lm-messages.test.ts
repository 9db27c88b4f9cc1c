// VS Code chat's requests in the engine's terms: messages → prompt, modelOptions → sampling, the model's entry in
// the picker, the record the lens shows, and /experts' table.
import { describe, expect, it } from 'vitest';
import { LmRequestLog, expertsMarkdown, lmModelInformation, samplingFromModelOptions, toGenerationPrompt } from '../../../extension/chat/lm-messages';
import { isEngineError } from '../../../extension/engine/errors';
import type { TokenFrame } from '../../../extension/engine/types';
import { modelInfo } from '../../model-info';

describe('VS Code chat messages', () => {
  it('the last user message is answered; system messages join, same-role neighbours merge, empty ones go', () => {
    const p = toGenerationPrompt([
      { role: 'system', text: 'Be brief.' },
      { role: 'user', text: 'Hi' },
      { role: 'user', text: 'there' },
      { role: 'assistant', text: '' },
      { role: 'assistant', text: 'Hello.' },
      { role: 'system', text: 'No jokes.' },
      { role: 'user', text: 'Why?' },
    ]);
    expect(p.system).toEqual({ role: 'system', content: 'Be brief.\n\nNo jokes.' });
    expect(p.history).toEqual([
      { role: 'user', content: 'Hi\n\nthere' },
      { role: 'assistant', content: 'Hello.' },
    ]);
    expect(p.message).toEqual({ role: 'user', content: 'Why?' });
  });

  it('a request that ends with the assistant (or has no text) is refused in words', () => {
    for (const messages of [[], [{ role: 'user' as const, text: '  ' }], [{ role: 'user' as const, text: 'a' }, { role: 'assistant' as const, text: 'b' }]]) {
      expect(() => toGenerationPrompt(messages)).toThrow(/no user message to answer/);
    }
  });
});

describe('modelOptions → sampling', () => {
  it('reads the camelCase and the snake_case names', () => {
    expect(samplingFromModelOptions({ temperature: 0, max_tokens: 12, top_p: 0.5, top_k: 1, seed: 7, stop: 'END', repeat_penalty: 1 })).toEqual({
      temperature: 0,
      maxTokens: 12,
      topP: 0.5,
      topK: 1,
      seed: 7,
      stop: ['END'],
      repeatPenalty: 1,
    });
    expect(samplingFromModelOptions({ maxTokens: 3, stop: ['a', ''], other: 'ignored' })).toEqual({ maxTokens: 3, stop: ['a'] });
    expect(samplingFromModelOptions(undefined)).toEqual({});
  });

  it('a known option of the wrong kind is refused with its name', () => {
    const bad: Record<string, unknown>[] = [{ temperature: -1 }, { maxTokens: 1.5 }, { max_tokens: '10' }, { topP: 0 }, { topK: -2 }, { seed: 0.5 }, { stop: [1] }];
    for (const options of bad) {
      let caught: unknown;
      try {
        samplingFromModelOptions(options);
      } catch (error) {
        caught = error;
      }
      expect(isEngineError(caught), JSON.stringify(options)).toBe(true);
      expect(String((caught as Error).message)).toContain(`modelOptions.${Object.keys(options)[0].replace('max_tokens', 'maxTokens')}`);
    }
  });
});

describe('the model in the chat picker', () => {
  it('input and output share the context; the tooltip names the model, its experts and where it runs', () => {
    const info = lmModelInformation(modelInfo({ contextSize: 4096 }));
    expect(info.maxOutputTokens).toBe(2048);
    expect(info.maxInputTokens + info.maxOutputTokens).toBe(4096);
    expect(info.tooltip).toContain('toy-moe');
    expect(info.tooltip).toContain('4 experts, 2 per token, in 2 layers');
    expect(info.tooltip).toContain('CPU');
    expect(info.capabilities.toolCalling).toBe(true); // local: tools reach its chat template
    expect(info.id).toBe('local');
  });
});

function frame(phase: 'prompt' | 'generated', firstIndex: number, text: string, experts: number[]): TokenFrame {
  return { phase, firstIndex, ids: Int32Array.of(firstIndex + 1), texts: [text], textDelta: phase === 'prompt' ? '' : text, experts: Uint16Array.from(experts), weights: Float32Array.from(experts.map(() => 0.5)), k: 2, layers: 2 };
}

describe('the requests record', () => {
  it('keeps prompt routing on the question, text and routing on the answer, stats when finished', () => {
    const log = new LmRequestLog(2);
    const r = log.start('ext.one', 'Hello');
    LmRequestLog.addFrame(r, frame('prompt', 0, 'Hello', [0, 1, 2, 3]));
    LmRequestLog.addFrame(r, frame('generated', 1, ' world', [0, 1, 0, 2]));
    LmRequestLog.addFrame(r, frame('generated', 2, '!', [0, 3, 0, 1]));
    LmRequestLog.finish(r, 'complete', { promptTokens: 1, generatedTokens: 2, promptTokensPerSecond: 1, generatedTokensPerSecond: 1, timeToFirstTokenMs: 1, stopReason: 'max-tokens' }, ' world!');
    expect(r.user.routing.map((b) => b.ids.length)).toEqual([1]);
    expect(r.assistant.routing.reduce((n, b) => n + b.ids.length, 0)).toBe(2);
    expect(r.assistant.content).toBe(' world!');
    expect(log.list()).toMatchObject([{ caller: 'ext.one', promptTokens: 1, generatedTokens: 2, status: 'complete', turnId: r.assistant.id }]);
    expect(log.get(r.assistant.id)).toBe(r);

    const failed = log.start('ext.two', 'Q');
    LmRequestLog.fail(failed, 'boom');
    log.start('ext.three', 'R');
    // At most two kept: the oldest went.
    expect(log.list().map((s) => s.caller)).toEqual(['ext.two', 'ext.three']);
    expect(log.turns().map((t) => t.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(log.turns()[1]).toMatchObject({ status: 'error', error: 'boom' });
  });

  it("/experts counts the answer's tokens per layer, not the prompt's", () => {
    const log = new LmRequestLog();
    const r = log.start('@moe', 'Hi');
    LmRequestLog.addFrame(r, frame('prompt', 0, 'Hi', [3, 2, 3, 2]));
    LmRequestLog.addFrame(r, frame('generated', 1, 'a', [0, 1, 0, 2]));
    LmRequestLog.addFrame(r, frame('generated', 2, 'b', [0, 3, 0, 1]));
    const md = expertsMarkdown(r.assistant.routing, [5, 9], 4);
    expect(md).toContain('2 tokens');
    // Layer 5 (array layer 0): expert 0 in both tokens, 1 and 3 once each.
    expect(md).toContain('| 5 | #0 (100.0%), #1 (50.0%), #3 (50.0%) |');
    expect(md).toContain('| 9 | #0 (100.0%), #1 (50.0%), #2 (50.0%) |');
    expect(expertsMarkdown([], [5, 9], 4)).toMatch(/no recorded routing/);
  });
});
