// The engine over a server's OpenAI-compatible HTTP API: llama-server, vLLM, SGLang, Ollama, LM Studio,
// `moe-lens serve` and any other OpenAI-compatible server. `load` reads `/v1/models`, detects the server's dialect
// (dialects.ts: everything that differs between servers) and reports what it can do; `generate` streams
// `/v1/chat/completions` (chat input) or `/v1/completions` (text or token input), validates each chunk
// (sse-chunk.ts) and turns the answer into TokenFrames. No vscode import.
//
// Frames: servers that report no tokens give text-only frames (no ids, no routing: `capabilities.tokenIds` false).
// `moe-lens serve` sends each engine frame as one chunk (ids, texts, SGLang-format routing, gate weights), so its
// frames equal the local engine's. SGLang and vLLM report routing once, at the end of the answer: the client then
// emits one more frame with the routed generated tokens (texts from the answer's logprobs where the server gave
// them), ids -1 (unknown), no gate weights; the prompt's rows are not shown (their token texts are unknown).
//
// Token counting: exact through the server's tokenizer endpoints where its dialect has them, else the documented
// estimate `estimateTokens`.
//
// Capabilities can change after load — an answer without the routing asked for (the server's flag is off), a
// tokenizer endpoint that turns out missing — and each change is an event (`onCapabilitiesChanged`; during an answer
// also its callbacks' `onCapabilities`, which the method map carries across AnyEngine and process boundaries).
import { formatIntervention } from './intervention';
import { formatModelIdentity, formatModelName } from '../format';
import { Emitter } from '../chat/events';
import { EngineError, isAbort } from './errors';
import { routeByGenerate } from './route';
import { HttpClient, isLoopbackHost } from './http';
import { decodeSglangRouting, type DecodedRouting } from './server-routing';
import { detectDialect, dialectCapabilities, moeLensOriginalIds, type ModelEntry, type RoutingShape, type ServerDialect, type ServerKind, type TokenizerRoute } from './dialects';
import { parseStreamChunk, type MoeLensChunk, type StreamChoice, type StreamChunk } from './sse-chunk';
import type {
  Engine,
  EngineCapabilities,
  GenerateCallbacks,
  GenerateInput,
  GenerateRequest,
  GenerationResult,
  Log,
  ModelInfo,
  PerplexityRequest,
  PerplexityResult,
  RemoteLoadOptions,
  RouteRequest,
  RouteResult,
  StopReason,
  TokenFrame,
} from './types';

export interface RemoteEngineOptions {
  log?: Log;
  /** Largest answer read (default 64 MiB). */
  maxBytes?: number;
  /** Attempts and waits for requests that got no answer (see HttpClient). */
  attempts?: number;
  retryDelaysMs?: number[];
}

/** A loaded model's capabilities changed after load; `reason` says why in one line. */
export interface CapabilityChange {
  model: ModelInfo;
  previous: EngineCapabilities;
  capabilities: EngineCapabilities;
  reason: string;
}

const ESTIMATE_PIECE = 3;

/**
 * The token estimate where a server has no tokenizer endpoint: one token per 3 characters (rounded up) — English
 * prose and code average nearer 4 with BPE vocabularies, so this over-counts and trimming stays on the safe side —
 * plus 8 tokens of chat template per message. The same split backs `tokenize`/`detokenize` there (pieces of up to
 * 3 characters, so detokenize(tokenize(text)) === text).
 */
export function estimateTokens(input: GenerateInput): number {
  if (input.kind === 'tokens') return input.ids.length;
  if (input.kind === 'text') return Math.ceil(input.text.length / ESTIMATE_PIECE);
  return input.messages.reduce((n, m) => n + 8 + Math.ceil(m.content.length / ESTIMATE_PIECE), 0);
}

/** Normalises a user's endpoint: scheme required, no trailing slash, a trailing /v1 removed (paths add it). */
export function normalizeEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint.trim());
  } catch {
    throw new EngineError('remote-unavailable', `"${endpoint}" is not a URL (expected e.g. http://127.0.0.1:8080)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new EngineError('remote-unavailable', `"${endpoint}" is not an http:// or https:// address`);
  return url.toString().replace(/\/+$/, '').replace(/\/v1$/, '');
}

/** True for http:// addresses that leave this machine (the extension asks before sending to one). */
export function isInsecureRemote(endpoint: string): boolean {
  const url = new URL(endpoint);
  return url.protocol === 'http:' && !isLoopbackHost(url.hostname);
}

interface Connection {
  http: HttpClient;
  dialect: ServerDialect & { kind: ServerKind };
  modelId: string;
  info: ModelInfo;
  shape?: RoutingShape;
  /** The dialect's tokenizer, until one of its endpoints turns out missing. */
  tokenizer?: TokenizerRoute;
  stream: boolean;
}

/** Expert interventions need the local engine's graph callback: a server runs its own router. */
function noInterventions(model: string): EngineError {
  return new EngineError('bad-intervention', `${model} runs on a server: expert interventions (ablate, force) need a local GGUF model`);
}

export class RemoteEngine implements Engine<RemoteLoadOptions> {
  model: ModelInfo | undefined;
  private connection: Connection | undefined;
  /** The estimate tokenizer's pieces (ids index this table). */
  private readonly pieces: string[] = [];
  private readonly pieceIds = new Map<string, number>();
  private readonly capabilityChanges = new Emitter<CapabilityChange>();
  /** Fires when the loaded model's capabilities change after load (`model.capabilities` holds the new ones). */
  readonly onCapabilitiesChanged = this.capabilityChanges.event;

  constructor(private readonly options: RemoteEngineOptions = {}) {}

  private client(options: RemoteLoadOptions): HttpClient {
    return new HttpClient({
      base: normalizeEndpoint(options.endpoint),
      apiKey: options.apiKey,
      timeoutMs: options.timeoutMs,
      maxBytes: this.options.maxBytes,
      attempts: this.options.attempts,
      retryDelaysMs: this.options.retryDelaysMs,
    });
  }

  private async modelEntries(http: HttpClient, signal?: AbortSignal): Promise<ModelEntry[]> {
    const list = await http.json<{ data?: ModelEntry[] }>('/v1/models', undefined, signal);
    const entries = Array.isArray(list?.data) ? list.data.filter((e) => e && typeof e.id === 'string') : undefined;
    if (!entries) throw new EngineError('remote-protocol', `${http.base}/v1/models did not list models (no "data" array)`);
    if (entries.length === 0) throw new EngineError('remote-protocol', `${http.base} serves no model`);
    return entries;
  }

  /** The model ids a server lists in `/v1/models` (Select Model's list). */
  async listModels(options: RemoteLoadOptions, signal?: AbortSignal): Promise<string[]> {
    return (await this.modelEntries(this.client(options), signal)).map((e) => e.id);
  }

  private async connect(options: RemoteLoadOptions, signal?: AbortSignal): Promise<Connection> {
    const http = this.client(options);
    const base = http.base;
    const entries = await this.modelEntries(http, signal);
    const entry = options.model ? entries.find((e) => e.id === options.model) : entries[0];
    if (!entry) throw new EngineError('remote-http', `${base} does not serve "${options.model}" (it serves ${entries.map((e) => e.id).join(', ')})`);
    const dialect = detectDialect(entry);
    const meta = entry.moe_lens;
    const contextSize =
      meta?.context_size ?? entry.max_model_len ?? entry.meta?.n_ctx ?? options.contextSize ?? (await dialect.contextSize?.(http, entry, signal)) ?? 4096;
    const shapeHint = options.routingShape;
    const shape = meta?.is_moe
      ? { layers: meta.moe_layers.length, k: meta.experts_per_token }
      : shapeHint && shapeHint.moeLayers > 0 && shapeHint.expertsPerToken > 0
        ? { layers: shapeHint.moeLayers, k: shapeHint.expertsPerToken }
        : undefined;
    const stream = options.stream ?? true;
    const capabilities = dialectCapabilities(dialect, { shapeKnown: shape !== undefined, stream, meta });
    const isMoe = meta ? meta.is_moe : shape !== undefined;
    const layers = meta?.layers ?? shape?.layers;
    const info: ModelInfo = {
      path: formatModelIdentity({ kind: 'server', endpoint: base, model: entry.id }),
      name: formatModelName(entry.id),
      architecture: meta?.architecture ?? 'unknown',
      ...(layers !== undefined ? { layers } : {}),
      ...(isMoe && shape
        ? {
            routing: {
              moeLayers: meta?.moe_layers ?? Array.from({ length: shape.layers }, (_, i) => i),
              experts: meta?.experts ?? shapeHint?.experts ?? 0,
              expertsPerToken: shape.k,
              sharedExperts: 0,
              ...(meta ? moeLensOriginalIds(meta) : {}),
            },
          }
        : {}),
      ...(entry.meta?.n_params ? { totalParams: entry.meta.n_params } : {}),
      ...(entry.meta?.n_vocab ? { vocabSize: entry.meta.n_vocab } : {}),
      ...(entry.meta?.n_embd ? { embeddingLength: entry.meta.n_embd } : {}),
      ...(entry.meta?.n_ctx_train ? { trainContextLength: entry.meta.n_ctx_train } : {}),
      ...(entry.meta?.size ? { fileBytes: entry.meta.size } : {}),
      contextSize,
      hasChatTemplate: true,
      continuesText: false,
      capabilities,
      remote: { endpoint: base, server: dialect.kind, model: entry.id },
    };
    if (options.requireMoe && !isMoe) throw new EngineError('not-moe', `${entry.id} at ${base} reports no experts; MoE Lens needs a Mixture-of-Experts model here`);
    return { http, dialect, modelId: entry.id, info, shape, tokenizer: dialect.tokenizer, stream };
  }

  async inspect(options: RemoteLoadOptions): Promise<ModelInfo> {
    return (await this.connect(options)).info;
  }

  async load(options: RemoteLoadOptions, signal?: AbortSignal): Promise<ModelInfo> {
    this.connection = undefined;
    this.model = undefined;
    const connection = await this.connect(options, signal);
    this.connection = connection;
    this.model = connection.info;
    this.options.log?.('info', `connected to ${connection.info.remote!.endpoint} (${connection.dialect.kind}), model ${connection.modelId}, context ${connection.info.contextSize}`);
    return connection.info;
  }

  async unload(): Promise<void> {
    this.connection = undefined;
    this.model = undefined;
  }

  private connected(): Connection {
    if (!this.connection) throw new EngineError('no-model', 'no model is loaded');
    return this.connection;
  }

  /** New capabilities for the loaded model (a new object on the same ModelInfo), logged and announced. */
  private changeCapabilities(c: Connection, change: Partial<EngineCapabilities>, reason: string): void {
    const previous = c.info.capabilities;
    c.info.capabilities = { ...previous, ...change };
    this.options.log?.('warn', reason);
    this.capabilityChanges.fire({ model: c.info, previous, capabilities: c.info.capabilities, reason });
  }

  /** Through the server's tokenizer; one of its endpoints that turns out missing means the estimate for the session. */
  private async exact<T>(c: Connection, run: (tokenizer: TokenizerRoute) => Promise<T>): Promise<T | undefined> {
    if (!c.tokenizer) return undefined;
    try {
      return await run(c.tokenizer);
    } catch (error) {
      if (error instanceof EngineError && (error.code === 'remote-http' || error.code === 'remote-protocol')) {
        c.tokenizer = undefined;
        this.changeCapabilities(c, { tokenCounting: 'estimate' }, `${c.http.base} has no usable tokenizer endpoint (${error.message}); token counts are estimated`);
        return undefined;
      }
      throw error;
    }
  }

  async tokenize(text: string): Promise<number[]> {
    const c = this.connected();
    const exact = await this.exact(c, (t) => t.tokenize(c.http, c.modelId, text));
    if (exact) return exact;
    const ids: number[] = [];
    for (let i = 0; i < text.length; i += ESTIMATE_PIECE) {
      const piece = text.slice(i, i + ESTIMATE_PIECE);
      let id = this.pieceIds.get(piece);
      if (id === undefined) {
        id = this.pieces.push(piece) - 1;
        this.pieceIds.set(piece, id);
      }
      ids.push(id);
    }
    return ids;
  }

  async detokenize(ids: number[]): Promise<string> {
    const c = this.connected();
    const exact = await this.exact(c, (t) => t.detokenize(c.http, c.modelId, ids));
    if (exact !== undefined) return exact;
    return ids.map((id) => this.pieces[id] ?? '').join('');
  }

  async countTokens(input: GenerateInput): Promise<number> {
    const c = this.connected();
    if (input.kind === 'tokens') return input.ids.length;
    return (await this.exact(c, (t) => t.count(c.http, c.modelId, input))) ?? estimateTokens(input);
  }

  async generate(request: GenerateRequest, callbacks: GenerateCallbacks = {}): Promise<GenerationResult> {
    const c = this.connected();
    if (formatIntervention(request.intervention)) throw noInterventions(c.info.name);
    const { signal } = callbacks;
    const chat = request.input.kind === 'chat';
    const wantRouting = (request.captureRouting ?? true) && c.info.capabilities.routingIds;
    const answer = new Answer(c, chat, callbacks.onFrame);
    let completed: boolean;
    try {
      const path = chat ? '/v1/chat/completions' : '/v1/completions';
      completed = await c.http.stream(path, requestBody(c, request, wantRouting), (data) => answer.read(parseStreamChunk(data, c.http.base)), signal);
    } catch (error) {
      if (isAbort(error, signal)) return answer.result('aborted');
      throw error;
    }
    if (!completed && !answer.finish)
      throw new EngineError('remote-protocol', `${c.http.base} ended its answer before finishing it (the connection closed mid-stream); the text so far is kept`);
    if (wantRouting) this.endOfAnswerRouting(c, answer, callbacks);
    return answer.result(stopReasonOf(answer.finish));
  }

  /** The routing a server sends once, at the end of the answer, as one frame; none sent turns routing off. */
  private endOfAnswerRouting(c: Connection, answer: Answer, callbacks: GenerateCallbacks): void {
    const report = c.dialect.routing?.endOfAnswer;
    if (!report) return;
    const routing = report.decode(answer.routingPayloads, c.shape, answer.promptTokens);
    if (routing) {
      if (routing.tokens > 0) answer.routed(routing);
      return;
    }
    this.changeCapabilities(c, { routingIds: false, routingAbsent: 'server-flag-off' }, `${c.http.base} returned no routed experts; start it with --enable-return-routed-experts`);
    callbacks.onCapabilities?.(c.info.capabilities);
  }

  /** Servers give no prompt log-probabilities through the OpenAI API this client speaks (llama-server refuses `echo`). */
  async perplexity(_request: PerplexityRequest): Promise<PerplexityResult> {
    throw new EngineError('remote-protocol', `perplexity needs prompt log-probabilities, which ${this.connected().info.name} does not give over this API; run it on a local GGUF`);
  }

  /** One generate call per text, its routing read from the server's prompt frames. */
  routeTexts(request: RouteRequest, signal?: AbortSignal): Promise<RouteResult> {
    return routeByGenerate(this, request, signal);
  }

  async dispose(): Promise<void> {
    await this.unload();
    this.capabilityChanges.dispose();
  }
}

/** The request: OpenAI's fields, the dialect's sampling extras, and its routing request where routing is wanted. */
function requestBody(c: Connection, request: GenerateRequest, wantRouting: boolean): Record<string, unknown> {
  const s = request.sampling ?? {};
  const input = request.input;
  return {
    model: c.modelId,
    stream: c.stream,
    ...(c.stream ? { stream_options: { include_usage: true } } : {}),
    ...(s.maxTokens !== undefined ? { max_tokens: s.maxTokens } : {}),
    ...(s.temperature !== undefined ? { temperature: s.temperature } : {}),
    ...(s.topP !== undefined ? { top_p: s.topP } : {}),
    ...(s.seed !== undefined && s.seed >= 0 ? { seed: s.seed } : {}),
    ...(s.stop?.length ? { stop: s.stop.slice(0, 4) } : {}),
    ...c.dialect.samplingExtras?.(s),
    ...(input.kind === 'chat' ? { messages: input.messages } : { prompt: input.kind === 'text' ? input.text : input.ids }),
    ...(wantRouting ? c.dialect.routing?.request(input.kind === 'chat') : {}),
  };
}

/** One answer as it arrives: its chunks into frames, the text, and what the result reports. */
class Answer {
  text = '';
  finish: string | undefined;
  /** The dialect's end-of-answer routing payloads, in order. */
  readonly routingPayloads: unknown[] = [];
  private usage: StreamChunk['usage'];
  private timings: StreamChunk['timings'];
  private readonly started = performance.now();
  private firstTokenAt: number | undefined;
  private index = 0;
  private generatedFrames = 0;
  private routingCaptured = false;
  /** Token texts from the answer's logprobs (for the end-of-answer routing frame). */
  private readonly tokenTexts: string[] = [];

  constructor(
    private readonly c: Connection,
    private readonly chat: boolean,
    private readonly onFrame: ((frame: TokenFrame) => void) | undefined,
  ) {}

  get promptTokens(): number {
    return this.usage?.prompt_tokens ?? 0;
  }

  read(chunk: StreamChunk): void {
    if (chunk.usage) this.usage = chunk.usage;
    if (chunk.timings) this.timings = chunk.timings;
    const choice = chunk.choices[0];
    if (!choice) return;
    if (choice.finish_reason) this.finish = choice.finish_reason;
    const delta = (this.chat ? (choice.delta?.content ?? choice.message?.content) : choice.text) ?? '';
    for (const t of choice.logprobs?.content ?? []) this.tokenTexts.push(t.token);
    for (const t of choice.logprobs?.tokens ?? []) this.tokenTexts.push(t);
    const payload = this.c.dialect.routing?.endOfAnswer?.payload(choice);
    if (payload !== undefined) this.routingPayloads.push(payload);
    if (choice.moe_lens) return this.engineFrames(choice, delta);
    if (!delta) return;
    this.firstTokenAt ??= performance.now();
    this.text += delta;
    this.emit(textFrame(this.index++, delta));
  }

  /** `moe-lens serve`: streaming, this chunk is one engine frame; not streaming, the list of the answer's frames, each with its own routing, and the whole text on the message. */
  private engineFrames(choice: StreamChoice, delta: string): void {
    const m = choice.moe_lens!;
    const whole = Array.isArray(m);
    const frames = whole ? m.map((f) => moeLensFrame(f, f.routed_experts ?? undefined, '', this.c.shape)) : [moeLensFrame(m, choice.sgl_ext?.routed_experts ?? undefined, delta, this.c.shape)];
    for (const frame of frames) {
      if (frame.phase === 'generated' && frame.ids.length) this.firstTokenAt ??= performance.now();
      if (frame.experts.length) this.routingCaptured = true;
      if (frame.phase === 'generated') this.generatedFrames += frame.ids.length;
      this.index = frame.firstIndex + frame.ids.length;
      this.emit(frame);
    }
    this.text += delta;
    if (whole && delta) this.emit(textFrame(this.index, delta));
  }

  /** The end-of-answer routing of the generated tokens as one frame (ids unknown, texts from the logprobs). */
  routed(routing: DecodedRouting): void {
    this.routingCaptured = true;
    this.emit({
      phase: 'generated',
      firstIndex: this.promptTokens,
      ids: new Int32Array(routing.tokens).fill(-1),
      texts: Array.from({ length: routing.tokens }, (_, i) => this.tokenTexts[i] ?? ''),
      textDelta: '',
      experts: routing.experts,
      weights: NO_WEIGHTS,
      k: routing.k,
      layers: routing.layers,
    });
  }

  private emit(frame: TokenFrame): void {
    this.onFrame?.(frame);
  }

  result(stopReason: StopReason): GenerationResult {
    const now = performance.now();
    const { usage, timings, started, firstTokenAt } = this;
    const generatedTokens = usage?.completion_tokens ?? this.generatedFrames;
    const ttft = firstTokenAt !== undefined ? firstTokenAt - started : now - started;
    const genMs = firstTokenAt !== undefined ? now - firstTokenAt : 0;
    const promptTokens = this.promptTokens;
    return {
      text: this.text,
      stopReason,
      promptTokens,
      generatedTokens,
      promptTokensPerSecond: timings?.prompt_per_second ?? (ttft > 0 ? (promptTokens * 1000) / ttft : 0),
      generatedTokensPerSecond: timings?.predicted_per_second ?? (genMs > 0 && generatedTokens > 1 ? ((generatedTokens - 1) * 1000) / genMs : 0),
      timeToFirstTokenMs: ttft,
      routingCaptured: this.routingCaptured,
    };
  }
}

function stopReasonOf(finish: string | undefined): StopReason {
  return finish === 'length' ? 'max-tokens' : 'eos';
}

const NO_IDS = new Int32Array(0);
const NO_EXPERTS = new Uint16Array(0);
const NO_WEIGHTS = new Float32Array(0);

function textFrame(firstIndex: number, textDelta: string): TokenFrame {
  return { phase: 'generated', firstIndex, ids: NO_IDS, texts: [], textDelta, experts: NO_EXPERTS, weights: NO_WEIGHTS, k: 0, layers: 0 };
}

/** One chunk of `moe-lens serve` back into the engine frame it was made from. */
function moeLensFrame(m: MoeLensChunk, routed: string | undefined, textDelta: string, shape: RoutingShape | undefined): TokenFrame {
  const ids = Int32Array.from(m.token_ids);
  const texts = m.token_texts;
  if (texts.length !== ids.length) throw new EngineError('remote-protocol', 'moe-lens serve sent a chunk whose token ids and texts differ in number');
  let experts = NO_EXPERTS;
  let weights = NO_WEIGHTS;
  let k = 0;
  let layers = 0;
  if (routed && shape) {
    const decoded = decodeSglangRouting(routed, shape.layers, shape.k);
    if (decoded.tokens !== ids.length) throw new EngineError('remote-protocol', `moe-lens serve sent routing for ${decoded.tokens} tokens in a chunk of ${ids.length}`);
    experts = decoded.experts;
    layers = shape.layers;
    k = shape.k;
    if (m.gate_weights) {
      const bytes = Buffer.from(m.gate_weights, 'base64');
      if (bytes.byteLength !== experts.length * 4) throw new EngineError('remote-protocol', 'moe-lens serve sent gate weights that do not match its routed experts');
      weights = new Float32Array(experts.length);
      for (let i = 0; i < weights.length; i++) weights[i] = bytes.readFloatLE(i * 4);
    }
  }
  return { phase: m.phase, firstIndex: m.first_index, ids, texts, textDelta, experts, weights, k, layers };
}
