// The remote engine against local stub servers that answer in vLLM's and SGLang's shapes and against broken
// servers (connection refused, 401, 500 with a body, malformed JSON in the stream, a stream cut mid-token, an
// enormous answer): each gives one clear EngineError, and a chat keeps every turn it had.
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import { freePort } from './servers';
import { RemoteEngine, estimateTokens, isInsecureRemote, normalizeEndpoint, type CapabilityChange } from '../../extension/engine/remote-engine';
import { EngineError, isEngineError } from '../../extension/engine/errors';
import type { EngineCapabilities, EngineErrorCode, TokenFrame } from '../../extension/engine/types';
import { createAnyEngine } from '../../extension/engine/any-engine';
import { encodeSglangRouting } from '../../extension/engine/server-routing';
import { ChatController } from '../../extension/chat/controller';
import { ModelSession } from '../../extension/chat/session';
import { ConversationHistory } from '../../extension/chat/history';
import { json, models, npy, sse, startStub, type Stub, type StubHandler } from './stub-server';

const stubs: Stub[] = [];
afterEach(async () => {
  await Promise.all(stubs.splice(0).map((s) => s.close()));
});

async function stub(handler: StubHandler): Promise<Stub> {
  const s = await startStub(handler);
  stubs.push(s);
  return s;
}

const chat = { kind: 'chat' as const, messages: [{ role: 'user' as const, content: 'hello' }] };

async function failure(promise: Promise<unknown>): Promise<EngineError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(EngineError);
    expect((error as Error).message).not.toMatch(/\n/);
    return error as EngineError;
  }
  throw new Error('expected a failure');
}

// Routing of 4 generated tokens, 3 MoE layers, top-2.
const L = 3;
const K = 2;
const GEN_IDS = Array.from({ length: 4 * L * K }, (_, i) => (i * 5 + 1) % 8);
const PROMPT_IDS = Array.from({ length: 2 * L * K }, (_, i) => (i * 3) % 8);

describe('vLLM', () => {
  const handler: StubHandler = (req, res) => {
    if (req.url === '/v1/models') return json(res, 200, models('Qwen/Qwen3-30B-A3B', 'vllm', { max_model_len: 2048 }));
    const body = req.body as { stream?: boolean };
    if (body.stream) return sse(res, [{ choices: [{ delta: { content: 'Hi' } }] }, { choices: [{ delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 2, completion_tokens: 1 } }]);
    json(res, 200, {
      choices: [
        {
          message: { role: 'assistant', content: 'a b c d e' },
          finish_reason: 'stop',
          logprobs: { content: ['a', ' b', ' c', ' d', ' e'].map((token) => ({ token, logprob: -1 })) },
          // The last generated token has no row: 5 tokens, 4 rows.
          routed_experts: npy('<i4', [4, L, K], GEN_IDS).toString('base64'),
        },
      ],
      prompt_routed_experts: npy('<i4', [2, L, K], PROMPT_IDS).toString('base64'),
      usage: { prompt_tokens: 2, completion_tokens: 5 },
    });
  };

  it('detects vLLM; streaming reports no routing and says why', async () => {
    const s = await stub(handler);
    const engine = new RemoteEngine();
    const info = await engine.load({ backend: 'remote', endpoint: `${s.url}/v1` });
    expect(info.remote).toEqual({ endpoint: s.url, server: 'vllm', model: 'Qwen/Qwen3-30B-A3B' });
    expect(info.contextSize).toBe(2048);
    expect(info.capabilities).toMatchObject({ routingIds: false, gateWeights: false, routingAbsent: 'vllm-streaming', placement: false, concurrentRequests: true });
    // No routing shape configured: the experts are unknown, not zero.
    expect(info.routing).toBeUndefined();
    expect(info.layers).toBeUndefined();
    const frames: TokenFrame[] = [];
    const result = await engine.generate({ input: chat }, { onFrame: (f) => frames.push(f) });
    expect(result.text).toBe('Hi');
    expect(frames.map((f) => f.textDelta).join('')).toBe('Hi');
    expect(frames.every((f) => f.experts.length === 0)).toBe(true);
    expect((s.requests.at(-1)!.body as { return_routed_experts?: boolean }).return_routed_experts).toBeUndefined();
  });

  it('without streaming decodes routed_experts into one frame of the generated tokens (ids only)', async () => {
    const s = await stub(handler);
    const engine = new RemoteEngine();
    const info = await engine.load({ backend: 'remote', endpoint: s.url, stream: false, routingShape: { moeLayers: L, expertsPerToken: K, experts: 8 } });
    expect(info.capabilities.routingIds).toBe(true);
    expect(info.routing).toEqual({ moeLayers: Array.from({ length: L }, (_, i) => i), experts: 8, expertsPerToken: K, sharedExperts: 0 });
    const frames: TokenFrame[] = [];
    const result = await engine.generate({ input: chat, sampling: { maxTokens: 5, topK: 20, repeatPenalty: 1.1 } }, { onFrame: (f) => frames.push(f) });
    const sent = s.requests.at(-1)!.body as Record<string, unknown>;
    expect(sent).toMatchObject({ stream: false, max_tokens: 5, top_k: 20, repetition_penalty: 1.1, logprobs: true });
    expect(result).toMatchObject({ text: 'a b c d e', promptTokens: 2, generatedTokens: 5, routingCaptured: true, stopReason: 'eos' });
    const routed = frames.find((f) => f.experts.length > 0)!;
    expect(routed).toMatchObject({ phase: 'generated', firstIndex: 2, layers: L, k: K, textDelta: '' });
    expect(routed.texts).toEqual(['a', ' b', ' c', ' d']);
    expect(Array.from(routed.experts)).toEqual(GEN_IDS);
    expect(routed.weights.length).toBe(0);
    expect(frames.map((f) => f.textDelta).join('')).toBe('a b c d e');
  });

  it('counts tokens with vLLM /tokenize', async () => {
    const s = await stub((req, res) => {
      if (req.url === '/v1/models') return json(res, 200, models('m', 'vllm'));
      if (req.url === '/tokenize') return json(res, 200, { count: 17, tokens: [], max_model_len: 4096 });
      json(res, 404, {});
    });
    const engine = new RemoteEngine();
    await engine.load({ backend: 'remote', endpoint: s.url });
    expect(await engine.countTokens(chat)).toBe(17);
    expect(s.requests.at(-1)!.body).toEqual({ model: 'm', messages: chat.messages });
  });
});

describe('SGLang', () => {
  const sglang = (withRouting: boolean): StubHandler => (req, res) => {
    if (req.url === '/v1/models') return json(res, 200, models('deepseek-ai/DeepSeek-V3', 'sglang', { max_model_len: 8192 }));
    const rows = [...PROMPT_IDS, ...GEN_IDS];
    const completions = req.url === '/v1/completions';
    const piece = (t: string) => ({ index: 0, ...(completions ? { text: t, logprobs: { tokens: [t] } } : { delta: { content: t }, logprobs: { content: [{ token: t }] } }) });
    sse(res, [
      ...['a', ' b', ' c', ' d', ' e'].map((t) => ({ choices: [piece(t)] })),
      {
        choices: [{ index: 0, ...(completions ? { text: '' } : { delta: {} }), finish_reason: 'length', ...(withRouting ? { sgl_ext: { routed_experts: encodeSglangRouting(rows) } } : {}) }],
        usage: { prompt_tokens: 2, completion_tokens: 5 },
      },
    ]);
  };

  it('streams text and decodes the routed experts of the generated tokens (the prompt rows skipped)', async () => {
    const s = await stub(sglang(true));
    const engine = new RemoteEngine();
    const info = await engine.load({ backend: 'remote', endpoint: s.url, routingShape: { moeLayers: L, expertsPerToken: K, experts: 8 } });
    expect(info.remote?.server).toBe('sglang');
    expect(info.capabilities).toMatchObject({ routingIds: true, gateWeights: false });
    const frames: TokenFrame[] = [];
    const result = await engine.generate({ input: { kind: 'text', text: 'hello' } }, { onFrame: (f) => frames.push(f) });
    expect((s.requests.at(-1)!.body as Record<string, unknown>).return_routed_experts).toBe(true);
    expect(s.requests.at(-1)!.url).toBe('/v1/completions');
    expect(result).toMatchObject({ text: 'a b c d e', stopReason: 'max-tokens', routingCaptured: true });
    const text = frames.filter((f) => f.ids.length === 0);
    expect(text.map((f) => f.textDelta)).toEqual(['a', ' b', ' c', ' d', ' e']);
    const routed = frames.find((f) => f.experts.length > 0)!;
    expect(routed.firstIndex).toBe(2);
    expect(routed.texts).toEqual(['a', ' b', ' c', ' d']);
    expect(Array.from(routed.experts)).toEqual(GEN_IDS);
  });

  it('says why there is no routing: shape unknown, or the server flag off', async () => {
    const s = await stub(sglang(false));
    const unknown = await new RemoteEngine().load({ backend: 'remote', endpoint: s.url });
    expect(unknown.capabilities).toMatchObject({ routingIds: false, routingAbsent: 'shape-unknown' });
    expect(unknown.routing).toBeUndefined();
    const engine = new RemoteEngine();
    await engine.load({ backend: 'remote', endpoint: s.url, routingShape: { moeLayers: L, expertsPerToken: K } });
    const changes: CapabilityChange[] = [];
    engine.onCapabilitiesChanged((c) => changes.push(c));
    const result = await engine.generate({ input: chat });
    expect(result.routingCaptured).toBe(false);
    expect(engine.model!.capabilities).toMatchObject({ routingIds: false, routingAbsent: 'server-flag-off' });
    // Announced, not a silent mutation: one event with the capabilities before and after, and why.
    expect(changes).toHaveLength(1);
    expect(changes[0].previous).toMatchObject({ routingIds: true });
    expect(changes[0].previous.routingAbsent).toBeUndefined();
    expect(changes[0].capabilities).toBe(engine.model!.capabilities);
    expect(changes[0].model).toBe(engine.model);
    expect(changes[0].reason).toMatch(/returned no routed experts; start it with --enable-return-routed-experts/);
    // Routing is off now: the next request does not ask for it and nothing changes again.
    await engine.generate({ input: chat });
    expect((s.requests.at(-1)!.body as Record<string, unknown>).return_routed_experts).toBeUndefined();
    expect(changes).toHaveLength(1);
  });

  it("the answer's callbacks hear the change too, through the engine the extension uses", async () => {
    const s = await stub(sglang(false));
    const engine = createAnyEngine();
    try {
      await engine.load({ backend: 'remote', endpoint: s.url, routingShape: { moeLayers: L, expertsPerToken: K } });
      const heard: EngineCapabilities[] = [];
      await engine.generate({ input: chat }, { onCapabilities: (c) => heard.push(c) });
      expect(heard).toEqual([engine.model!.capabilities]);
      expect(heard[0]).toMatchObject({ routingIds: false, routingAbsent: 'server-flag-off' });
    } finally {
      await engine.dispose();
    }
  });

  it('a tokenizer endpoint that turns out missing: estimated counts from then on, announced', async () => {
    const s = await stub((req, res) => {
      if (req.url === '/v1/models') return json(res, 200, models('m', 'vllm'));
      json(res, 404, { detail: 'Not Found' });
    });
    const engine = new RemoteEngine();
    await engine.load({ backend: 'remote', endpoint: s.url });
    expect(engine.model!.capabilities.tokenCounting).toBe('exact');
    const changes: CapabilityChange[] = [];
    engine.onCapabilitiesChanged((c) => changes.push(c));
    expect(await engine.countTokens(chat)).toBe(estimateTokens(chat));
    expect(engine.model!.capabilities.tokenCounting).toBe('estimate');
    expect(changes.map((c) => [c.previous.tokenCounting, c.capabilities.tokenCounting])).toEqual([['exact', 'estimate']]);
    expect(changes[0].reason).toMatch(/has no usable tokenizer endpoint .*token counts are estimated/);
    const asked = s.requests.length;
    expect(await engine.detokenize(await engine.tokenize('abcdef'))).toBe('abcdef');
    expect(s.requests.length).toBe(asked);
    expect(changes).toHaveLength(1);
  });
});

describe('bad servers', () => {
  const okModels = (res: http.ServerResponse) => json(res, 200, models('m', 'llamacpp'));

  async function loaded(handler: StubHandler, options: ConstructorParameters<typeof RemoteEngine>[0] = {}) {
    const s = await stub((req, res) => (req.url === '/v1/models' ? okModels(res) : req.url === '/props' ? json(res, 200, { default_generation_settings: { n_ctx: 512 } }) : handler(req, res)));
    const engine = new RemoteEngine({ attempts: 2, retryDelaysMs: [10], ...options });
    await engine.load({ backend: 'remote', endpoint: s.url });
    return { s, engine };
  }

  async function expectCode(promise: Promise<unknown>, code: EngineErrorCode, pattern: RegExp) {
    const error = await failure(promise);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(pattern);
  }

  it('connection refused: one line, after retrying', async () => {
    const port = await freePort();
    await expectCode(new RemoteEngine({ attempts: 2, retryDelaysMs: [10] }).load({ backend: 'remote', endpoint: `http://127.0.0.1:${port}` }), 'remote-unavailable', /connection refused/);
  });

  it('401 names the key problem and carries the server message', async () => {
    const s = await stub((_req, res) => json(res, 401, { error: { message: 'Invalid API Key', type: 'authentication_error' } }));
    await expectCode(new RemoteEngine().load({ backend: 'remote', endpoint: s.url, apiKey: 'wrong' }), 'remote-auth', /HTTP 401, API key missing or wrong\): Invalid API Key/);
    expect(s.requests[0].headers.authorization).toBe('Bearer wrong');
  });

  it('500 with a body: the status and the server message, not retried once it answered', async () => {
    const { s, engine } = await loaded((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('CUDA out of memory\nstack trace follows');
    });
    await expectCode(engine.generate({ input: chat }), 'remote-http', /HTTP 500: CUDA out of memory stack trace follows/);
    expect(s.requests.filter((r) => r.url === '/v1/chat/completions')).toHaveLength(1);
  });

  it('503 before any answer is retried; a success on the retry is used', async () => {
    let calls = 0;
    const { engine } = await loaded((_req, res) => {
      if (calls++ === 0) return json(res, 503, { error: 'loading model' });
      sse(res, [{ choices: [{ delta: { content: 'ok' }, finish_reason: 'stop' }] }]);
    });
    expect((await engine.generate({ input: chat })).text).toBe('ok');
    expect(calls).toBe(2);
  });

  it('malformed JSON in the stream', async () => {
    const { engine } = await loaded((_req, res) => sse(res, [{ choices: [{ delta: { content: 'par' } }] }, '{"choices": [{"delta": {"content": "t'], { done: false }));
    await expectCode(engine.generate({ input: chat }), 'remote-protocol', /not JSON/);
  });

  it('a server error object mid-stream, and a chunk with a field of the wrong type, keep the text so far', async () => {
    let bad: unknown;
    const { engine } = await loaded((_req, res) => sse(res, [{ choices: [{ delta: { content: 'so far' } }] }, bad, { choices: [{ delta: { content: 'never' } }] }]));
    bad = { error: { message: 'KV cache full', type: 'server_error' } };
    const frames: TokenFrame[] = [];
    await expectCode(engine.generate({ input: chat }, { onFrame: (f) => frames.push(f) }), 'remote-http', /reported an error mid-answer: KV cache full$/);
    expect(frames.map((f) => f.textDelta).join('')).toBe('so far');
    bad = { choices: [{ delta: { content: { text: 'x' } } }] };
    frames.length = 0;
    await expectCode(engine.generate({ input: chat }, { onFrame: (f) => frames.push(f) }), 'remote-protocol', /cannot read: choices\[0\]\.delta\.content must be string$/);
    expect(frames.map((f) => f.textDelta).join('')).toBe('so far');
  });

  it('an answer that is not streamed is validated too', async () => {
    const { s, engine } = await loaded((_req, res) => json(res, 200, { id: 'x', object: 'chat.completion' }));
    await expectCode(engine.generate({ input: chat }), 'remote-protocol', /"choices" is missing$/);
    expect(s.requests.filter((r) => r.url === '/v1/chat/completions')).toHaveLength(1);
  });

  it('a stream that stops mid-token keeps the text so far and says so', async () => {
    const { engine } = await loaded((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: 'half an ans' } }] })}\n\n`);
      res.write('data: {"choices": [{"delta": {"con');
      res.end();
    });
    const frames: TokenFrame[] = [];
    await expectCode(engine.generate({ input: chat }, { onFrame: (f) => frames.push(f) }), 'remote-protocol', /ended its answer before finishing/);
    expect(frames.map((f) => f.textDelta).join('')).toBe('half an ans');
  });

  it('a connection reset mid-stream', async () => {
    const { engine } = await loaded((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: 'x' } }] })}\n\n`);
      setTimeout(() => res.socket?.destroy(), 20);
    });
    await expectCode(engine.generate({ input: chat }), 'remote-protocol', /closed the connection|ended its answer/);
  });

  it('an enormous answer is cut at the limit', async () => {
    const { engine } = await loaded(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const piece = `data: ${JSON.stringify({ choices: [{ delta: { content: 'x'.repeat(64 * 1024) } }] })}\n\n`;
        let sent = 0;
        const more = () => {
          while (sent < 200 && res.write(piece)) sent++;
          if (sent < 200) res.once('drain', more);
          else res.end();
        };
        more();
      },
      { maxBytes: 2 ** 20 },
    );
    await expectCode(engine.generate({ input: chat }), 'response-too-large', /more than 1 MiB/);
    // One enormous JSON document too.
    const big = await stub((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: [{ id: 'x'.repeat(3 * 2 ** 20) }] }));
    });
    await expectCode(new RemoteEngine({ maxBytes: 2 ** 20 }).load({ backend: 'remote', endpoint: big.url }), 'response-too-large', /more than 1 MiB/);
  });

  it('an idle server times out', async () => {
    const s = await stub((req, res) => (req.url === '/v1/models' ? okModels(res) : undefined));
    const engine = new RemoteEngine();
    await engine.load({ backend: 'remote', endpoint: s.url, timeoutMs: 200 });
    await expectCode(engine.generate({ input: chat }), 'remote-timeout', /sent nothing for 0 s/);
  });

  it('not a URL, and listing no models', async () => {
    await expectCode(new RemoteEngine().load({ backend: 'remote', endpoint: 'ftp://x' }), 'remote-unavailable', /not an http/);
    const s = await stub((_req, res) => json(res, 200, { object: 'list' }));
    await expectCode(new RemoteEngine().load({ backend: 'remote', endpoint: s.url }), 'remote-protocol', /did not list models/);
  });

  it('a chat through a failing server keeps every earlier turn and the new message', async () => {
    let fail: false | 'status' | 'cut' = false;
    const { engine } = await loaded((_req, res) => {
      if (fail === 'status') return json(res, 500, { error: { message: 'boom' } });
      if (fail === 'cut') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: 'half an ans' } }] })}\n\n`);
        res.end('data: {"choices": [{"delta": {"con');
        return;
      }
      sse(res, [{ choices: [{ delta: { content: 'first answer' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 2 } }]);
    });
    let saved: unknown;
    let past: unknown;
    const controller = new ChatController({
      engine,
      session: new ModelSession(engine, async () => ({ options: { backend: 'remote', endpoint: engine.model!.remote!.endpoint }, isDemo: false })),
      settings: () => ({ systemPrompt: '', sampling: { maxTokens: 8 }, captureRouting: true }),
      post: () => undefined,
      store: { load: () => saved, save: (d) => void (saved = JSON.parse(JSON.stringify(d))) },
      history: new ConversationHistory({ load: () => past, save: (d) => void (past = d) }),
      flushIntervalMs: 5,
      saveIntervalMs: 0,
    });
    await controller.send('one');
    fail = 'status';
    await controller.send('two');
    fail = 'cut';
    await controller.send('three');
    const turns = controller.conversation.map((t) => [t.role, t.content, t.status]);
    expect(turns).toEqual([
      ['user', 'one', 'complete'],
      ['assistant', 'first answer', 'complete'],
      ['user', 'two', 'complete'],
      ['assistant', '', 'error'],
      ['user', 'three', 'complete'],
      ['assistant', 'half an ans', 'error'],
    ]);
    expect(controller.conversation[3].error).toMatch(/HTTP 500: boom/);
    expect(controller.conversation[3].errorActions).toEqual(['retry']);
    expect(controller.conversation[5].error).toMatch(/ended its answer before finishing it .* the text so far is kept/);
  });
});

describe('endpoints and estimates', () => {
  it('normalises endpoints and tells which http:// addresses leave the machine', () => {
    expect(normalizeEndpoint('http://127.0.0.1:8080/v1/')).toBe('http://127.0.0.1:8080');
    expect(isInsecureRemote('http://127.0.0.1:8080')).toBe(false);
    expect(isInsecureRemote('http://localhost:1')).toBe(false);
    expect(isInsecureRemote('http://[::1]:1')).toBe(false);
    expect(isInsecureRemote('http://10.0.0.5:8000')).toBe(true);
    expect(isInsecureRemote('https://gpu.example:8000')).toBe(false);
  });

  it('the estimate over-counts typical text and round-trips through tokenize/detokenize', async () => {
    expect(estimateTokens({ kind: 'text', text: 'abcdefg' })).toBe(3);
    expect(estimateTokens(chat)).toBe(8 + 2);
    const s = await stub((req, res) => (req.url === '/v1/models' ? json(res, 200, models('m', 'library')) : json(res, 404, {})));
    const engine = new RemoteEngine();
    const info = await engine.load({ backend: 'remote', endpoint: s.url });
    expect(info.remote?.server).toBe('ollama');
    expect(info.capabilities).toMatchObject({ tokenCounting: 'estimate', routingIds: false, routingAbsent: 'server-does-not-report' });
    const text = 'The router picks two experts per token.';
    const ids = await engine.tokenize(text);
    expect(ids.length).toBe(Math.ceil(text.length / 3));
    expect(await engine.detokenize(ids)).toBe(text);
    expect(isEngineError(await failure(new RemoteEngine().tokenize('x')), 'no-model')).toBe(true);
  });
});
