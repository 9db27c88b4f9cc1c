// The engine over a server's OpenAI-compatible HTTP API: llama-server, vLLM, SGLang, Ollama, LM Studio and
// `moe-lens serve`. `load` reads `/v1/models` (and llama-server's `/props`), detects the server and reports what it
// can do; `generate` streams `/v1/chat/completions` (chat input) or `/v1/completions` (text or token input) and
// turns the answer into TokenFrames. No vscode import.
//
// Frames: servers that report no tokens give text-only frames (no ids, no routing: `capabilities.tokenIds` false).
// `moe-lens serve` sends each engine frame as one chunk (ids, texts, SGLang-format routing, gate weights), so its
// frames equal the local engine's. SGLang and vLLM report routing once, at the end of the answer: the client then
// emits one more frame with the routed generated tokens (texts from the answer's logprobs where the server gave
// them), ids -1 (unknown), no gate weights; the prompt's rows are not shown (their token texts are unknown).
//
// Token counting: exact through the server's tokenizer where it has one (llama-server and moe-lens serve:
// `/apply-template` + `/tokenize`; vLLM: `/tokenize`), else the documented estimate `estimateTokens`.
import { formatIntervention } from './intervention';
import { formatModelName } from '../format';
import { EngineError, isAbort } from './errors';
import type { LogFn } from './local-engine';
import { HttpClient, isLoopbackHost } from './http';
import { decodeSglangRouting, decodeVllmRouting, type DecodedRouting } from './server-routing';
import type {
  Engine,
  EngineCapabilities,
  GenerateCallbacks,
  GenerateInput,
  GenerateRequest,
  GenerationResult,
  ModelInfo,
  PerplexityRequest,
  PerplexityResult,
  RemoteLoadOptions,
  RoutingAbsence,
  ServerKind,
  StopReason,
  TokenFrame,
} from './types';


export interface RemoteEngineOptions {
  log?: LogFn;
  /** Largest answer read (default 64 MiB). */
  maxBytes?: number;
  /** Attempts and waits for requests that got no answer (see HttpClient). */
  attempts?: number;
  retryDelaysMs?: number[];
}

/** What `moe-lens serve` adds to each `/v1/models` entry. */
export interface MoeLensModelMeta {
  context_size: number;
  layers: number;
  moe_layers: number[];
  experts: number;
  experts_per_token: number;
  architecture: string;
  is_moe: boolean;
}

/** What `moe-lens serve` adds to each choice of an answer chunk (besides SGLang's `sgl_ext.routed_experts`). */
export interface MoeLensChunk {
  phase: 'prompt' | 'generated';
  first_index: number;
  token_ids: number[];
  token_texts: string[];
  /** base64 little-endian float32, same layout as the routed experts. */
  gate_weights?: string;
}

interface ModelEntry {
  id: string;
  owned_by?: string;
  max_model_len?: number;
  meta?: { n_ctx?: number; n_ctx_train?: number; n_params?: number; n_vocab?: number; n_embd?: number; size?: number };
  moe_lens?: MoeLensModelMeta;
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

export function detectServer(entry: ModelEntry | undefined): ServerKind {
  const owner = (entry?.owned_by ?? '').toLowerCase();
  if (entry?.moe_lens || owner === 'moe-lens') return 'moe-lens';
  if (owner === 'llamacpp' || entry?.meta?.n_ctx_train !== undefined) return 'llama.cpp';
  if (owner === 'vllm') return 'vllm';
  if (owner === 'sglang') return 'sglang';
  if (owner === 'library' || owner === 'ollama') return 'ollama';
  if (owner === 'organization_owner' || owner === 'lm-studio' || owner === 'lmstudio') return 'lm-studio';
  return 'openai-compatible';
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
  server: ServerKind;
  modelId: string;
  info: ModelInfo;
  shape?: { layers: number; k: number };
  tokenizer: 'llama.cpp' | 'vllm' | 'estimate';
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
    const server = detectServer(entry);
    const meta = entry.moe_lens;
    // llama-server's meta.n_ctx is the context of one slot (its -c divided by -np).
    let contextSize = meta?.context_size ?? entry.max_model_len ?? entry.meta?.n_ctx ?? options.contextSize;
    if (server === 'llama.cpp') {
      const props = await http.json<{ default_generation_settings?: { n_ctx?: number }; n_ctx?: number }>('/props', undefined, signal).catch(() => undefined);
      contextSize ??= props?.default_generation_settings?.n_ctx ?? props?.n_ctx ?? entry.meta?.n_ctx_train;
    }
    contextSize ??= 4096;
    const shapeHint = options.routingShape;
    const shape = meta?.is_moe
      ? { layers: meta.moe_layers.length, k: meta.experts_per_token }
      : shapeHint && shapeHint.moeLayers > 0 && shapeHint.expertsPerToken > 0
        ? { layers: shapeHint.moeLayers, k: shapeHint.expertsPerToken }
        : undefined;
    const stream = options.stream ?? true;
    const capabilities = remoteCapabilities(server, shape !== undefined, stream, meta);
    const isMoe = meta ? meta.is_moe : shape !== undefined;
    const layers = meta?.layers ?? shape?.layers;
    const info: ModelInfo = {
      path: `${entry.id} @ ${base}`,
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
      remote: { endpoint: base, server, model: entry.id },
    };
    if (options.requireMoe && !isMoe) throw new EngineError('not-moe', `${entry.id} at ${base} reports no experts; MoE Lens needs a Mixture-of-Experts model here`);
    // moe-lens serve answers /tokenize and /detokenize in vLLM's shapes.
    const tokenizer = server === 'llama.cpp' ? 'llama.cpp' : server === 'vllm' || server === 'moe-lens' ? 'vllm' : 'estimate';
    return { http, server, modelId: entry.id, info, shape, tokenizer, stream };
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
    this.options.log?.('info', `connected to ${connection.info.remote!.endpoint} (${connection.server}), model ${connection.modelId}, context ${connection.info.contextSize}`);
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

  /** A tokenizer endpoint that turned out to be missing (404) falls back to the estimate for the session. */
  private async exact<T>(c: Connection, run: () => Promise<T>): Promise<T | undefined> {
    if (c.tokenizer === 'estimate') return undefined;
    try {
      return await run();
    } catch (error) {
      if (error instanceof EngineError && (error.code === 'remote-http' || error.code === 'remote-protocol')) {
        this.options.log?.('warn', `${c.http.base} has no usable tokenizer endpoint (${error.message}); token counts are estimated`);
        c.tokenizer = 'estimate';
        c.info.capabilities.tokenCounting = 'estimate';
        return undefined;
      }
      throw error;
    }
  }

  async tokenize(text: string): Promise<number[]> {
    const c = this.connected();
    const exact = await this.exact(c, async () => {
      const r =
        c.tokenizer === 'vllm'
          ? await c.http.json<{ tokens?: number[] }>('/tokenize', { model: c.modelId, prompt: text, add_special_tokens: false })
          : await c.http.json<{ tokens?: number[] }>('/tokenize', { content: text, add_special: false });
      if (!Array.isArray(r.tokens)) throw new EngineError('remote-protocol', `${c.http.base}/tokenize returned no tokens`);
      return r.tokens;
    });
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
    const exact = await this.exact(c, async () => {
      const r =
        c.tokenizer === 'vllm'
          ? await c.http.json<{ prompt?: string }>('/detokenize', { model: c.modelId, tokens: ids })
          : await c.http.json<{ content?: string }>('/detokenize', { tokens: ids });
      const text = 'prompt' in r ? r.prompt : (r as { content?: string }).content;
      if (typeof text !== 'string') throw new EngineError('remote-protocol', `${c.http.base}/detokenize returned no text`);
      return text;
    });
    if (exact !== undefined) return exact;
    return ids.map((id) => this.pieces[id] ?? '').join('');
  }

  async countTokens(input: GenerateInput): Promise<number> {
    const c = this.connected();
    if (input.kind === 'tokens') return input.ids.length;
    const exact = await this.exact(c, async () => {
      if (c.tokenizer === 'vllm') {
        const body = input.kind === 'chat' ? { model: c.modelId, messages: input.messages } : { model: c.modelId, prompt: input.text };
        const r = await c.http.json<{ count?: number; tokens?: number[] }>('/tokenize', body);
        const n = r.count ?? r.tokens?.length;
        if (typeof n !== 'number') throw new EngineError('remote-protocol', `${c.http.base}/tokenize returned no count`);
        return n;
      }
      let content = input.kind === 'text' ? input.text : '';
      if (input.kind === 'chat') {
        const r = await c.http.json<{ prompt?: string }>('/apply-template', { messages: input.messages });
        if (typeof r.prompt !== 'string') throw new EngineError('remote-protocol', `${c.http.base}/apply-template returned no prompt`);
        content = r.prompt;
      }
      const r = await c.http.json<{ tokens?: unknown[] }>('/tokenize', { content, add_special: true, parse_special: true });
      if (!Array.isArray(r.tokens)) throw new EngineError('remote-protocol', `${c.http.base}/tokenize returned no tokens`);
      return r.tokens.length;
    });
    return exact ?? estimateTokens(input);
  }

  async generate(request: GenerateRequest, callbacks: GenerateCallbacks = {}): Promise<GenerationResult> {
    const c = this.connected();
    const model = c.info;
    if (formatIntervention(request.intervention)) throw noInterventions(model.name);
    const { signal } = callbacks;
    const s = request.sampling ?? {};
    const chat = request.input.kind === 'chat';
    const wantRouting = (request.captureRouting ?? true) && model.capabilities.routingIds;
    const body: Record<string, unknown> = {
      model: c.modelId,
      stream: c.stream,
      ...(c.stream ? { stream_options: { include_usage: true } } : {}),
      ...(s.maxTokens !== undefined ? { max_tokens: s.maxTokens } : {}),
      ...(s.temperature !== undefined ? { temperature: s.temperature } : {}),
      ...(s.topP !== undefined ? { top_p: s.topP } : {}),
      ...(s.seed !== undefined && s.seed >= 0 ? { seed: s.seed } : {}),
      ...(s.stop?.length ? { stop: s.stop.slice(0, 4) } : {}),
      ...samplingExtras(c.server, s),
    };
    if (request.input.kind === 'chat') body.messages = request.input.messages;
    else body.prompt = request.input.kind === 'text' ? request.input.text : request.input.ids;
    const endOfAnswerRouting = wantRouting && (c.server === 'sglang' || c.server === 'vllm');
    if (wantRouting && (c.server === 'sglang' || c.server === 'moe-lens')) body.return_routed_experts = true;
    if (endOfAnswerRouting) Object.assign(body, chat ? { logprobs: true } : { logprobs: 0 });

    const started = performance.now();
    let firstTokenAt: number | undefined;
    let text = '';
    let finish: string | undefined;
    let usage: { prompt_tokens?: number; completion_tokens?: number } | undefined;
    let timings: { prompt_per_second?: number; predicted_per_second?: number } | undefined;
    let index = 0;
    let generatedFrames = 0;
    let routingCaptured = false;
    const tokenTexts: string[] = [];
    let sglRouting: string | undefined;
    let vllmRouting: unknown;
    const emit = (frame: TokenFrame) => callbacks.onFrame?.(frame);

    const onData = (data: unknown) => {
      const d = data as {
        choices?: {
          delta?: { content?: unknown };
          message?: { content?: unknown };
          text?: unknown;
          finish_reason?: string | null;
          logprobs?: { content?: { token?: string }[]; tokens?: string[] } | null;
          sgl_ext?: { routed_experts?: string };
          routed_experts?: unknown;
          moe_lens?: MoeLensChunk | (MoeLensChunk & { routed_experts?: string })[];
        }[];
        usage?: typeof usage;
        timings?: typeof timings;
      };
      if (d.usage) usage = d.usage;
      if (d.timings) timings = d.timings;
      const choice = d.choices?.[0];
      if (!choice) return;
      if (choice.finish_reason) finish = choice.finish_reason;
      const raw = chat ? (choice.delta?.content ?? choice.message?.content) : choice.text;
      const delta = typeof raw === 'string' ? raw : '';
      for (const t of choice.logprobs?.content ?? []) tokenTexts.push(typeof t?.token === 'string' ? t.token : '');
      for (const t of choice.logprobs?.tokens ?? []) tokenTexts.push(typeof t === 'string' ? t : '');
      if (choice.moe_lens) {
        // Streaming: this chunk is one engine frame. Not streaming: the list of the answer's frames, each with its
        // own routing, and the whole text on the message.
        const chunks = Array.isArray(choice.moe_lens) ? choice.moe_lens.map((m) => ({ m, routed: m.routed_experts, delta: m.phase === 'generated' ? undefined : '' })) : [{ m: choice.moe_lens, routed: choice.sgl_ext?.routed_experts, delta }];
        for (const chunk of chunks) {
          const frame = moeLensFrame(chunk.m, chunk.routed, chunk.delta ?? '', c.shape);
          if (frame.phase === 'generated' && frame.ids.length) firstTokenAt ??= performance.now();
          if (frame.experts.length) routingCaptured = true;
          if (frame.phase === 'generated') generatedFrames += frame.ids.length;
          index = frame.firstIndex + frame.ids.length;
          emit(frame);
        }
        text += delta;
        if (Array.isArray(choice.moe_lens) && delta) emit(textFrame(index, delta));
        return;
      }
      if (choice.sgl_ext?.routed_experts) sglRouting = (sglRouting ?? '') + choice.sgl_ext.routed_experts;
      if (choice.routed_experts !== undefined && choice.routed_experts !== null) vllmRouting = choice.routed_experts;
      if (!delta) return;
      firstTokenAt ??= performance.now();
      text += delta;
      emit(textFrame(index++, delta));
    };

    let completed: boolean;
    try {
      completed = await c.http.stream(chat ? '/v1/chat/completions' : '/v1/completions', body, onData, signal);
    } catch (error) {
      if (isAbort(error, signal)) return this.result(text, 'aborted', usage, timings, started, firstTokenAt, generatedFrames, routingCaptured);
      throw error;
    }
    if (!completed && !finish)
      throw new EngineError('remote-protocol', `${c.http.base} ended its answer before finishing it (the connection closed mid-stream); the text so far is kept`);

    if (endOfAnswerRouting) {
      const promptTokens = usage?.prompt_tokens ?? 0;
      let routing: DecodedRouting | undefined;
      if (c.server === 'sglang' && sglRouting && c.shape) {
        const all = decodeSglangRouting(sglRouting, c.shape.layers, c.shape.k);
        const skip = Math.min(promptTokens, all.tokens);
        const stride = all.layers * all.k;
        routing = { ...all, tokens: all.tokens - skip, experts: all.experts.subarray(skip * stride) };
      } else if (c.server === 'vllm' && vllmRouting !== undefined) routing = decodeVllmRouting(vllmRouting);
      if (routing && routing.tokens > 0) {
        routingCaptured = true;
        emit({
          phase: 'generated',
          firstIndex: promptTokens,
          ids: new Int32Array(routing.tokens).fill(-1),
          texts: Array.from({ length: routing.tokens }, (_, i) => tokenTexts[i] ?? ''),
          textDelta: '',
          experts: routing.experts,
          weights: new Float32Array(0),
          k: routing.k,
          layers: routing.layers,
        });
      } else if (!routing) {
        // Asked for and not given: the server runs without --enable-return-routed-experts.
        model.capabilities.routingIds = false;
        model.capabilities.routingAbsent = 'server-flag-off';
        this.options.log?.('warn', `${c.http.base} returned no routed experts; start it with --enable-return-routed-experts`);
      }
    }
    return this.result(text, stopReasonOf(finish), usage, timings, started, firstTokenAt, generatedFrames, routingCaptured);
  }

  private result(
    text: string,
    stopReason: StopReason,
    usage: { prompt_tokens?: number; completion_tokens?: number } | undefined,
    timings: { prompt_per_second?: number; predicted_per_second?: number } | undefined,
    started: number,
    firstTokenAt: number | undefined,
    generatedFrames: number,
    routingCaptured: boolean,
  ): GenerationResult {
    const now = performance.now();
    const generatedTokens = usage?.completion_tokens ?? generatedFrames;
    const ttft = firstTokenAt !== undefined ? firstTokenAt - started : now - started;
    const genMs = firstTokenAt !== undefined ? now - firstTokenAt : 0;
    const promptTokens = usage?.prompt_tokens ?? 0;
    return {
      text,
      stopReason,
      promptTokens,
      generatedTokens,
      promptTokensPerSecond: timings?.prompt_per_second ?? (ttft > 0 ? (promptTokens * 1000) / ttft : 0),
      generatedTokensPerSecond: timings?.predicted_per_second ?? (genMs > 0 && generatedTokens > 1 ? ((generatedTokens - 1) * 1000) / genMs : 0),
      timeToFirstTokenMs: ttft,
      routingCaptured,
    };
  }

  /** Servers give no prompt log-probabilities through the OpenAI API this client speaks (llama-server refuses `echo`). */
  async perplexity(_request: PerplexityRequest): Promise<PerplexityResult> {
    throw new EngineError('remote-protocol', `perplexity needs prompt log-probabilities, which ${this.connected().info.name} does not give over this API; run it on a local GGUF`);
  }

  async dispose(): Promise<void> {
    await this.unload();
  }
}

function remoteCapabilities(server: ServerKind, shapeKnown: boolean, stream: boolean, meta: MoeLensModelMeta | undefined): EngineCapabilities {
  let routingAbsent: RoutingAbsence | undefined;
  if (server === 'moe-lens') routingAbsent = meta?.is_moe ? undefined : 'dense-model';
  else if (server === 'sglang') routingAbsent = shapeKnown ? undefined : 'shape-unknown';
  else if (server === 'vllm') routingAbsent = stream ? 'vllm-streaming' : undefined;
  else routingAbsent = 'server-does-not-report';
  return {
    routingIds: routingAbsent === undefined,
    gateWeights: server === 'moe-lens' && routingAbsent === undefined,
    tokenIds: server === 'moe-lens',
    tokenCounting: server === 'llama.cpp' || server === 'moe-lens' || server === 'vllm' ? 'exact' : 'estimate',
    placement: false,
    interventions: false,
    concurrentRequests: true,
    ...(routingAbsent ? { routingAbsent } : {}),
  };
}

/** Sampling fields beyond OpenAI's, for the servers known to take them. */
function samplingExtras(server: ServerKind, s: Partial<GenerateRequest['sampling'] & object>): Record<string, unknown> {
  const extras: Record<string, unknown> = {};
  if (server === 'openai-compatible' || server === 'lm-studio' || server === 'ollama') return extras;
  if (s.topK !== undefined) extras.top_k = s.topK;
  if (s.minP !== undefined) extras.min_p = s.minP;
  if (s.repeatPenalty !== undefined) extras[server === 'vllm' || server === 'sglang' ? 'repetition_penalty' : 'repeat_penalty'] = s.repeatPenalty;
  if (s.repeatLastN !== undefined && (server === 'llama.cpp' || server === 'moe-lens')) extras.repeat_last_n = s.repeatLastN;
  return extras;
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
function moeLensFrame(m: MoeLensChunk, routed: string | undefined, textDelta: string, shape: { layers: number; k: number } | undefined): TokenFrame {
  const ids = Int32Array.from(m.token_ids ?? []);
  const texts = Array.isArray(m.token_texts) ? m.token_texts.map(String) : [];
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
  return { phase: m.phase === 'prompt' ? 'prompt' : 'generated', firstIndex: m.first_index, ids, texts, textDelta, experts, weights, k, layers };
}
