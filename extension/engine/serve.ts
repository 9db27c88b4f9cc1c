// `moe-lens serve`: an engine behind the OpenAI-compatible HTTP API, so a machine with the model (a GPU box) can
// serve the lens to an editor elsewhere. No vscode import.
//
//   GET  /v1/models             the model, `owned_by: "moe-lens"`, with `moe_lens` facts (layers, experts, k, context, a pruned model's original expert ids)
//   POST /v1/chat/completions   messages → answer; `stream` as OpenAI's
//   POST /v1/completions        prompt (text or token ids) → answer
//   POST /tokenize, /detokenize vLLM's shapes: {prompt|messages} → {count, tokens}; {tokens} → {prompt}
//   GET  /health
//
// Routing, when the request has `return_routed_experts: true`: SGLang's format (each choice's
// `sgl_ext.routed_experts`, base64 little-endian int32, [tokens, MoE layers, top-k], prompt tokens first) plus the
// gate weights and token ids/texts in `moe_lens` (see MoeLensChunk in remote-engine.ts). Streaming sends one chunk
// per engine frame, so each chunk's routing covers exactly that chunk's tokens.
//
// Invariants: one generation at a time (requests queue; a client that goes away is dropped from the queue or its
// generation aborted); request bodies are limited to 8 MiB; with an API key every route but /health needs
// `Authorization: Bearer KEY` (compared in constant time); errors are `{error: {message, type}}` with the engine's
// code as type.
import http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { EngineError, isAbort } from './errors';
import { encodeSglangRouting } from './server-routing';
import type { MoeLensModelMeta } from './dialects';
import type { MoeLensChunk } from './sse-chunk';
import type { ChatMessage, Engine, GenerateInput, GenerateRequest, ModelInfo, SamplingOptions, TokenFrame } from './types';

export const MAX_REQUEST_BYTES = 8 * 2 ** 20;

export interface ServeOptions {
  engine: Engine;
  /** Required from clients when set. */
  apiKey?: string;
  log?: (message: string) => void;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = 'invalid_request_error',
  ) {
    super(message);
  }
}

function statusOf(error: unknown): { status: number; type: string; message: string } {
  if (error instanceof HttpError) return { status: error.status, type: error.type, message: error.message };
  if (error instanceof EngineError) {
    const status = error.code === 'context-overflow' ? 400 : error.code === 'busy' || error.code === 'no-model' ? 503 : 500;
    return { status, type: error.code, message: error.message };
  }
  return { status: 500, type: 'internal', message: (error as Error)?.message ?? String(error) };
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > MAX_REQUEST_BYTES) throw new HttpError(413, `request body larger than ${MAX_REQUEST_BYTES / 2 ** 20} MiB`);
    chunks.push(chunk);
  }
  if (bytes === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the request body is not JSON');
  }
}

export function modelMeta(info: ModelInfo): MoeLensModelMeta {
  return {
    context_size: info.contextSize,
    layers: info.layers ?? 0,
    moe_layers: info.routing?.moeLayers ?? [],
    experts: info.routing?.experts ?? 0,
    experts_per_token: info.routing?.expertsPerToken ?? 0,
    architecture: info.architecture,
    is_moe: info.routing !== undefined,
    ...(info.routing?.originalExpertIds ? { original_expert_ids: info.routing.originalExpertIds, original_experts: info.routing.originalExperts } : {}),
  };
}

function float32Base64(values: Float32Array): string {
  const buf = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) buf.writeFloatLE(values[i], i * 4);
  return buf.toString('base64');
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** OpenAI request fields → the engine's sampling options (llama.cpp's and vLLM's names for the extras). */
function samplingOf(body: Record<string, unknown>): Partial<SamplingOptions> {
  const s: Partial<SamplingOptions> = {};
  const set = <K extends keyof SamplingOptions>(key: K, value: SamplingOptions[K] | undefined) => {
    if (value !== undefined) s[key] = value;
  };
  set('maxTokens', num(body.max_tokens) ?? num(body.max_completion_tokens));
  set('temperature', num(body.temperature));
  set('topP', num(body.top_p));
  set('topK', num(body.top_k));
  set('minP', num(body.min_p));
  set('repeatPenalty', num(body.repeat_penalty) ?? num(body.repetition_penalty));
  set('repeatLastN', num(body.repeat_last_n));
  set('seed', num(body.seed));
  const stop = typeof body.stop === 'string' ? [body.stop] : Array.isArray(body.stop) ? body.stop.filter((x): x is string => typeof x === 'string') : undefined;
  set('stop', stop);
  return s;
}

function inputOf(chat: boolean, body: Record<string, unknown>): GenerateInput {
  if (chat) {
    const messages = body.messages;
    if (!Array.isArray(messages) || messages.length === 0) throw new HttpError(400, '"messages" must be a non-empty array');
    return {
      kind: 'chat',
      messages: messages.map((m: { role?: unknown; content?: unknown }): ChatMessage => {
        const role = m?.role === 'system' || m?.role === 'assistant' ? m.role : m?.role === 'user' ? 'user' : undefined;
        if (!role) throw new HttpError(400, `message role ${JSON.stringify(m?.role)} is not system, user or assistant`);
        const content = typeof m.content === 'string' ? m.content : Array.isArray(m.content) ? m.content.map((p: { text?: unknown }) => (typeof p?.text === 'string' ? p.text : '')).join('') : '';
        return { role, content };
      }),
    };
  }
  const prompt = body.prompt;
  if (typeof prompt === 'string') return { kind: 'text', text: prompt };
  if (Array.isArray(prompt) && prompt.every((x) => Number.isInteger(x))) return { kind: 'tokens', ids: prompt as number[] };
  throw new HttpError(400, '"prompt" must be a string or an array of token ids');
}

/** One engine frame as the `moe_lens` part of a chunk. */
function chunkOf(frame: TokenFrame, withRouting: boolean): MoeLensChunk & { routed_experts?: string } {
  const routed = withRouting && frame.experts.length > 0;
  return {
    phase: frame.phase,
    first_index: frame.firstIndex,
    token_ids: Array.from(frame.ids),
    token_texts: frame.texts,
    ...(routed && frame.weights.length ? { gate_weights: float32Base64(frame.weights) } : {}),
    ...(routed ? { routed_experts: encodeSglangRouting(frame.experts) } : {}),
  };
}

export function createServeHandler(options: ServeOptions): http.RequestListener {
  const { engine } = options;
  let queue: Promise<unknown> = Promise.resolve();
  let served = 0;

  const authorized = (req: http.IncomingMessage) => {
    if (!options.apiKey) return true;
    const given = Buffer.from(/^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '');
    const want = Buffer.from(options.apiKey);
    return given.length === want.length && timingSafeEqual(given, want);
  };

  const model = () => {
    if (!engine.model) throw new EngineError('no-model', 'no model is loaded');
    return engine.model;
  };

  async function completion(chat: boolean, body: Record<string, unknown>, req: http.IncomingMessage, res: http.ServerResponse) {
    const info = model();
    const input = inputOf(chat, body);
    const stream = body.stream === true;
    const withRouting = body.return_routed_experts === true;
    const id = `${chat ? 'chatcmpl' : 'cmpl'}-moelens-${++served}`;
    const created = Math.floor(Date.now() / 1000);
    const object = chat ? (stream ? 'chat.completion.chunk' : 'chat.completion') : 'text_completion';
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const request: GenerateRequest = { input, sampling: samplingOf(body), captureRouting: withRouting, reuseCache: false };
    const frames: TokenFrame[] = [];
    const choice = (textDelta: string, extra: Record<string, unknown>) => ({
      index: 0,
      ...(chat ? (stream ? { delta: textDelta ? { content: textDelta } : {} } : { message: { role: 'assistant', content: textDelta } }) : { text: textDelta }),
      finish_reason: null,
      ...extra,
    });
    const write = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
    // Queued behind the generation before it: the local engine runs one at a time.
    const run = queue.then(async () => {
      if (controller.signal.aborted) throw new EngineError('aborted', 'the client went away');
      if (stream) res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      return engine.generate(request, {
        signal: controller.signal,
        onFrame: (frame) => {
          if (!stream) return void frames.push(frame);
          const { routed_experts: routed, ...m } = chunkOf(frame, withRouting);
          write({ id, object, created, model: info.name, choices: [choice(frame.textDelta, { moe_lens: m, ...(routed ? { sgl_ext: { routed_experts: routed } } : {}) })] });
        },
      });
    });
    queue = run.catch(() => undefined);
    try {
      const result = await run;
      const finish = result.stopReason === 'max-tokens' || result.stopReason === 'context-full' ? 'length' : 'stop';
      const usage = { prompt_tokens: result.promptTokens, completion_tokens: result.generatedTokens, total_tokens: result.promptTokens + result.generatedTokens };
      const timings = { prompt_per_second: result.promptTokensPerSecond, predicted_per_second: result.generatedTokensPerSecond, ttft_ms: result.timeToFirstTokenMs };
      if (stream) {
        write({ id, object, created, model: info.name, choices: [{ ...choice('', {}), finish_reason: finish }], usage, timings });
        res.end('data: [DONE]\n\n');
        return;
      }
      const chunks = frames.map((f) => chunkOf(f, withRouting));
      const all = withRouting ? frames.flatMap((f) => Array.from(f.experts)) : [];
      sendJson(res, 200, {
        id,
        object,
        created,
        model: info.name,
        choices: [{ ...choice(result.text, { moe_lens: chunks, ...(all.length ? { sgl_ext: { routed_experts: encodeSglangRouting(all) } } : {}) }), finish_reason: finish }],
        usage,
        timings,
      });
    } catch (error) {
      if (isAbort(error, controller.signal)) return void res.end();
      const { status, type, message } = statusOf(error);
      options.log?.(`${req.url}: ${message}`);
      if (res.headersSent) {
        write({ error: { message, type } });
        res.end();
      } else sendJson(res, status, { error: { message, type } });
    }
  }

  return (req, res) => {
    void (async () => {
      try {
        const url = new URL(req.url ?? '/', 'http://localhost');
        if (req.method === 'GET' && url.pathname === '/health') return sendJson(res, 200, { status: 'ok' });
        if (!authorized(req)) throw new HttpError(401, 'missing or wrong API key (send Authorization: Bearer KEY)', 'authentication_error');
        if (req.method === 'GET' && url.pathname === '/v1/models') {
          const info = model();
          return sendJson(res, 200, { object: 'list', data: [{ id: info.name, object: 'model', created: 0, owned_by: 'moe-lens', max_model_len: info.contextSize, moe_lens: modelMeta(info) }] });
        }
        if (req.method !== 'POST') throw new HttpError(404, `no route ${req.method} ${url.pathname}`);
        const body = (await readBody(req)) as Record<string, unknown>;
        if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'the request body must be a JSON object');
        switch (url.pathname) {
          case '/v1/chat/completions':
            return await completion(true, body, req, res);
          case '/v1/completions':
            return await completion(false, body, req, res);
          case '/tokenize': {
            const loaded = model(); // refuses before any work when no model is loaded
            if (Array.isArray(body.messages)) return sendJson(res, 200, { count: await engine.countTokens(inputOf(true, body)), tokens: [] });
            const text = typeof body.prompt === 'string' ? body.prompt : typeof body.content === 'string' ? body.content : undefined;
            if (text === undefined) throw new HttpError(400, '"prompt" must be a string');
            const special = body.add_special_tokens !== false;
            const tokens = await engine.tokenize(text);
            const count = special ? await engine.countTokens({ kind: 'text', text }) : tokens.length;
            return sendJson(res, 200, { count, tokens, max_model_len: loaded.contextSize });
          }
          case '/detokenize': {
            model();
            if (!Array.isArray(body.tokens) || !body.tokens.every((x) => Number.isInteger(x))) throw new HttpError(400, '"tokens" must be an array of token ids');
            return sendJson(res, 200, { prompt: await engine.detokenize(body.tokens as number[]) });
          }
          default:
            throw new HttpError(404, `no route POST ${url.pathname}`);
        }
      } catch (error) {
        const { status, type, message } = statusOf(error);
        if (!res.headersSent) sendJson(res, status, { error: { message, type } });
        else res.end();
      }
    })();
  };
}
