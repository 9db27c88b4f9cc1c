// Tool calling on the real engine and a random-weight fixture: the native grammar sampler constrains output (a bad
// grammar is refused in words and the engine goes on), tool mode "required" yields one parseable call to one of the
// given tools with JSON input per its schema (random weights write such a call only under the grammar), and a
// call's result fed back is rendered in the template's format.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEngine } from '../../extension/engine/local-engine';
import { isEngineError } from '../../extension/engine/errors';
import type { ToolDefinition } from '../../extension/engine/types';
import { collect, greedy, MOE } from './helpers';
import { lmServerOn, Token } from './lm-server-fixture';

const TOOLS: ToolDefinition[] = [
  { name: 'get_weather', description: 'Tells the weather in a city', inputSchema: { type: 'object', properties: { city: { type: 'string', maxLength: 12 }, unit: { enum: ['c', 'f'] } }, required: ['city', 'unit'] } },
  { name: 'add', description: 'Adds two numbers', inputSchema: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } }, required: ['a', 'b'] } },
];

describe('tool calling on a random-weight fixture', () => {
  const engine = new LocalEngine();
  beforeAll(async () => {
    await engine.load({ modelPath: MOE, threads: 1, contextSize: 2048 });
  }, 60_000);
  afterAll(async () => {
    await engine.dispose();
  });

  it('a grammar constrains the generated text to its sentences', async () => {
    for (const seed of [1, 2, 3]) {
      const { result, text } = await collect(engine, {
        input: { kind: 'text', text: 'Answer:' },
        sampling: { temperature: 1, seed, maxTokens: 40, repeatPenalty: 1 },
        grammar: 'root ::= ( "yes" | "no" ) " [" [0-9] "]"',
        reuseCache: false,
      });
      expect(text).toMatch(/^(yes|no) \[[0-9]\]$/);
      expect(result.stopReason).toBe('eos');
    }
  });

  it('a grammar llama.cpp cannot parse is refused in words, and the engine answers the next request', async () => {
    const failed = await engine.generate({ input: { kind: 'text', text: 'Hi' }, sampling: greedy(4), grammar: 'root ::= ( "unclosed' }).catch((e: unknown) => e);
    expect(isEngineError(failed, 'internal')).toBe(true);
    expect((failed as Error).message).toContain('grammar');
    const { result } = await collect(engine, { input: { kind: 'text', text: 'Hi' }, sampling: greedy(4) });
    expect(result.generatedTokens).toBe(4);
  });

  it('tool mode "required" yields one call to a given tool with JSON input that matches its schema', async () => {
    for (const seed of [1, 2]) {
      const { result } = await collect(engine, {
        input: { kind: 'chat', messages: [{ role: 'user', content: 'What is the weather in Oslo?' }] },
        sampling: { temperature: 0.8, seed, maxTokens: 120, repeatPenalty: 1 },
        tools: TOOLS,
        toolMode: 'required',
        reuseCache: false,
      });
      expect(result.stopReason).toBe('eos');
      expect(result.toolCalls).toHaveLength(1);
      const call = result.toolCalls![0];
      if (call.name === 'get_weather') {
        expect(Object.keys(call.input)).toEqual(['city', 'unit']);
        expect(typeof call.input.city).toBe('string');
        expect((call.input.city as string).length).toBeLessThanOrEqual(12);
        expect(['c', 'f']).toContain(call.input.unit);
      } else {
        expect(call.name).toBe('add');
        expect(Object.keys(call.input)).toEqual(['a', 'b']);
        expect(Number.isInteger(call.input.a) && Number.isInteger(call.input.b)).toBe(true);
      }
      expect(result.text).toBe('');
    }
  });

  it('a call and its result go back into the prompt in the template’s format, beside the tools’ definitions', async () => {
    const { frames } = await collect(engine, {
      input: {
        kind: 'chat',
        messages: [
          { role: 'user', content: 'What is the weather in Oslo?' },
          { role: 'assistant', content: '', toolCalls: [{ name: 'get_weather', input: { city: 'Oslo', unit: 'c' }, result: '{"temperature":21}' }] },
        ],
      },
      sampling: greedy(2),
      tools: TOOLS,
      reuseCache: false,
    });
    const prompt = frames.filter((f) => f.phase === 'prompt').flatMap((f) => f.texts).join('');
    expect(prompt).toContain('Tells the weather in a city');
    expect(prompt).toMatch(/\|\|call: get_weather ?\(\{"city": ?"Oslo", ?"unit": ?"c"\} ?\)/);
    // The result as the template writes results (node-llama-cpp JSON-encodes it), and the assistant's turn goes on
    // after it: the prompt ends inside that turn, not with a new one.
    expect(prompt).toContain('||result: "{\\"temperature\\":21}"');
    expect(prompt.trimEnd().endsWith('||result: "{\\"temperature\\":21}"')).toBe(true);
  });
});

describe('VS Code chat requests with tools (the provider’s path, without vscode)', () => {
  const { server } = lmServerOn({ modelPath: MOE, threads: 1, contextSize: 2048 }, false);
  const never = new Token();

  it('required mode answers with one call (with an id) and no call syntax as text; its result fed back continues the turn', async () => {
    const streamed: string[] = [];
    const question = { role: 'user' as const, text: 'What is the weather in Oslo?' };
    const served = await server.serve([question], { temperature: 0, maxTokens: 120, repeatPenalty: 1 }, 'test', (t) => streamed.push(t), never, { tools: TOOLS, toolMode: 'required' });
    expect(served.toolCalls).toHaveLength(1);
    const call = served.toolCalls![0];
    expect(TOOLS.map((t) => t.name)).toContain(call.name);
    expect(call.callId).toBe(`${served.record.id}c0`);
    expect(streamed.join('')).not.toContain('||call');
    expect(served.record.assistant.status).toBe('complete');

    const next = await server.serve(
      [question, { role: 'assistant', text: '', toolCalls: [call] }, { role: 'user', text: '', toolResults: [{ callId: call.callId, text: 'done' }] }],
      { temperature: 0, maxTokens: 3, repeatPenalty: 1 },
      'test',
      () => {},
      never,
      { tools: TOOLS, toolMode: 'auto' },
    );
    expect(next.record.user.content).toBe(question.text);
    expect(next.record.assistant.stats?.generatedTokens).toBeGreaterThan(0);
  });
});
