// The answer-chunk parser: each server's real chunk shapes become typed chunks; malformed payloads (not JSON, cut
// short, missing choices, fields of the wrong type, a server error object mid-stream) are one EngineError naming
// the server and the field.
import { describe, expect, it } from 'vitest';
import { parseStreamChunk } from '../../extension/engine/sse-chunk';
import { EngineError } from '../../extension/engine/errors';
import type { EngineErrorCode } from '../../extension/engine/types';

const SERVER = 'http://127.0.0.1:8000';

function refusal(payload: string): EngineError {
  try {
    parseStreamChunk(payload, SERVER);
  } catch (error) {
    expect(error).toBeInstanceOf(EngineError);
    expect((error as Error).message.startsWith(SERVER)).toBe(true);
    expect((error as Error).message).not.toMatch(/\n/);
    return error as EngineError;
  }
  throw new Error(`expected ${payload} to be refused`);
}

function expectRefusal(payload: string, code: EngineErrorCode, pattern: RegExp): void {
  const error = refusal(payload);
  expect(error.code).toBe(code);
  expect(error.message).toMatch(pattern);
}

describe('parseStreamChunk', () => {
  it('reads the chunk shapes of llama-server, vLLM, SGLang and moe-lens serve', () => {
    const llama = parseStreamChunk(
      JSON.stringify({ choices: [{ index: 0, delta: { content: null }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 2 }, timings: { prompt_per_second: 50.5, predicted_per_second: 20 } }),
      SERVER,
    );
    expect(llama.choices[0]).toMatchObject({ delta: { content: null }, finish_reason: 'stop' });
    expect(llama.timings?.predicted_per_second).toBe(20);
    // OpenAI's usage-only last chunk.
    expect(parseStreamChunk('{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}', SERVER).choices).toEqual([]);
    const vllm = parseStreamChunk(JSON.stringify({ choices: [{ message: { content: 'a b' }, logprobs: { content: [{ token: 'a', logprob: -1 }] }, routed_experts: 'k05VTVBZ' }] }), SERVER);
    expect(vllm.choices[0].routed_experts).toBe('k05VTVBZ');
    expect(vllm.choices[0].logprobs?.content?.[0].token).toBe('a');
    const sglang = parseStreamChunk(JSON.stringify({ choices: [{ text: ' b', logprobs: { tokens: [' b'] }, sgl_ext: { routed_experts: 'AAAAAA==' } }] }), SERVER);
    expect(sglang.choices[0].sgl_ext?.routed_experts).toBe('AAAAAA==');
    const frame = { phase: 'generated', first_index: 4, token_ids: [7], token_texts: ['x'], gate_weights: 'AACAPw==' };
    expect(parseStreamChunk(JSON.stringify({ choices: [{ delta: { content: 'x' }, moe_lens: frame }] }), SERVER).choices[0].moe_lens).toEqual(frame);
    const whole = [{ ...frame, phase: 'prompt', first_index: 0, routed_experts: 'AAAAAA==' }, frame];
    expect(parseStreamChunk(JSON.stringify({ choices: [{ message: { content: 'x' }, moe_lens: whole }] }), SERVER).choices[0].moe_lens).toEqual(whole);
  });

  it('text that is not JSON (a chunk cut short) or not an object', () => {
    expectRefusal('{"choices": [{"delta": {"content": "t', 'remote-protocol', /sent an answer chunk that is not JSON: \{"choices"/);
    expectRefusal('', 'remote-protocol', /not JSON/);
    expectRefusal('[1, 2]', 'remote-protocol', /not a JSON object: \[1, 2\]/);
    expectRefusal('null', 'remote-protocol', /not a JSON object/);
  });

  it('a server error object mid-stream carries its message', () => {
    expectRefusal('{"error": {"message": "CUDA out of memory", "type": "internal"}}', 'remote-http', /reported an error mid-answer: CUDA out of memory$/);
    expectRefusal('{"error": "model unloaded"}', 'remote-http', /reported an error mid-answer: model unloaded$/);
  });

  it('missing choices, and choices that are not a list', () => {
    expectRefusal('{"id": "c1", "object": "chat.completion.chunk"}', 'remote-protocol', /cannot read: "choices" is missing$/);
    expectRefusal('{"choices": {"delta": {"content": "x"}}}', 'remote-protocol', /cannot read: choices must be array$/);
    expectRefusal('{"choices": ["x"]}', 'remote-protocol', /cannot read: choices\[0\] must be object$/);
  });

  it('fields of the wrong type are named', () => {
    expectRefusal('{"choices": [{"delta": {"content": 42}}]}', 'remote-protocol', /choices\[0\]\.delta\.content must be string$/);
    expectRefusal('{"choices": [{"text": ["a"]}]}', 'remote-protocol', /choices\[0\]\.text must be string$/);
    expectRefusal('{"choices": [{"finish_reason": 1}]}', 'remote-protocol', /choices\[0\]\.finish_reason must be string$/);
    expectRefusal('{"choices": [], "usage": {"prompt_tokens": "3"}}', 'remote-protocol', /usage\.prompt_tokens must be integer$/);
    expectRefusal('{"choices": [], "usage": {"completion_tokens": -1}}', 'remote-protocol', /usage\.completion_tokens must be >= 0$/);
    expectRefusal('{"choices": [], "timings": {"predicted_per_second": "fast"}}', 'remote-protocol', /timings\.predicted_per_second must be number$/);
    expectRefusal('{"choices": [{"logprobs": {"content": [{"logprob": -1}]}}]}', 'remote-protocol', /choices\[0\]\.logprobs\.content\[0\]: "token" is missing$/);
    expectRefusal('{"choices": [{"sgl_ext": {"routed_experts": [1, 2]}}]}', 'remote-protocol', /choices\[0\]\.sgl_ext\.routed_experts must be string$/);
  });

  it("moe-lens serve's frames: a bad phase, and a bad token id inside the whole answer's list", () => {
    expectRefusal(
      '{"choices": [{"moe_lens": {"phase": "middle", "first_index": 0, "token_ids": [], "token_texts": []}}]}',
      'remote-protocol',
      /choices\[0\]\.moe_lens\.phase must be equal to one of the allowed values$/,
    );
    expectRefusal(
      '{"choices": [{"moe_lens": [{"phase": "prompt", "first_index": 0, "token_ids": [1.5], "token_texts": ["a"]}]}]}',
      'remote-protocol',
      /choices\[0\]\.moe_lens\[0\]\.token_ids\[0\] must be integer$/,
    );
    expectRefusal('{"choices": [{"moe_lens": {"phase": "prompt", "token_ids": [], "token_texts": []}}]}', 'remote-protocol', /choices\[0\]\.moe_lens: "first_index" is missing$/);
  });
});
