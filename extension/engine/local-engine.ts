// The engine inside the engine process: node-llama-cpp picks and loads llama.cpp (CPU/CUDA/Vulkan/Metal),
// reads GGUF metadata and renders chat templates; the native addon owns model, context, decode loop and
// router capture.
import type { ChatHistoryItem, ChatWrapper, GbnfJsonSchema, Llama, LlamaModel } from 'node-llama-cpp';
import path from 'node:path';
import { EngineError } from './errors';
import { allocatedOnDevices, describeModel, modelFacts, parseBufferLog, planPlacement, readModelFile, usableBackend, type Backend } from './model-file';
import { checkExpertsPerToken, resolveIntervention, toNative } from './intervention';
import { loadNativeAddon, type NativeChunk, type NativeRpcDevice, type NativeSession, type NativeSampling } from './native';
import { checkRpcServers, parseRpcServers, requireRpcBackend } from './rpc';
import { chunkTokens, NllSum, planChunks, RoutingAccumulator } from './perplexity';
import type {
  Engine,
  GenerateCallbacks,
  GenerateInput,
  GenerateRequest,
  GenerationResult,
  LocalLoadOptions,
  GgufModelInfo,
  Log,
  PerplexityCallbacks,
  PerplexityChunk,
  PerplexityRequest,
  PerplexityResult,
  RouteRequest,
  RouteResult,
  TokenFrame,
  ToolDefinition,
} from './types';
import { callSyntax, checkTools, parseToolCalls, toolCallGrammar } from './tool-calls';
import { firstTokens, pieceTexts, routeCeiling } from './route';
import { DEFAULT_SAMPLING } from './sampling';

type NodeLlamaCpp = typeof import('node-llama-cpp');

/** How often token frames are handed on while tokens flow. */
const FRAME_INTERVAL_MS = 30;

export class LocalEngine implements Engine<LocalLoadOptions, GgufModelInfo> {
  private nlc?: NodeLlamaCpp;
  private llama?: Llama;
  private session?: NativeSession;
  private vocabModel?: LlamaModel;
  private chatWrapper?: ChatWrapper;
  private loading?: NativeSession;
  private generating = false;
  /** While a generation is being cancelled, llama.cpp's "failed to decode" errors are expected. */
  private aborting = false;
  model: GgufModelInfo | undefined;
  /** The backend that really runs models, decided once from the GPU devices llama.cpp lists. */
  private device?: { backend: Backend; note?: string };

  constructor(private readonly log: Log = () => {}) {}

  private async runtime(): Promise<{ nlc: NodeLlamaCpp; llama: Llama; device: { backend: Backend; note?: string } }> {
    if (!this.nlc || !this.llama || !this.device) {
      // A real dynamic import: node-llama-cpp is ESM with top-level await.
      this.nlc = await import('node-llama-cpp');
      this.llama = await this.nlc.getLlama({
        gpu: process.env.MOE_LENS_GPU === 'off' ? false : 'auto',
        logLevel: this.nlc.LlamaLogLevel.warn,
        logger: (level, message) => {
          const expected = this.aborting && /graph_compute|failed to (compute graph|decode)|removing memory module/.test(message);
          this.log(expected ? 'debug' : level === 'error' || level === 'fatal' ? 'error' : 'warn', message.trim());
        },
      });
      loadNativeAddon();
      this.device = usableBackend(this.llama.gpu, this.llama.gpu === false ? [] : await this.llama.getGpuDeviceNames());
      this.log('info', `llama.cpp backend: ${this.device.backend}${this.device.note ? ` (${this.device.note})` : ''}`);
    }
    return { nlc: this.nlc, llama: this.llama, device: this.device };
  }

  private async plan(options: LocalLoadOptions) {
    const { nlc, llama, device } = await this.runtime();
    const file = await readModelFile(options.modelPath, nlc);
    // The override changes top-k and the active parameters only, not the experts or MoE layers that the check reads.
    const facts = modelFacts(file, options.expertsPerToken);
    if (options.expertsPerToken !== undefined)
      checkExpertsPerToken(options.expertsPerToken, { name: path.basename(file.path), experts: facts.moeLayers.length ? facts.experts : 0 });
    if (options.requireMoe && facts.moeLayers.length === 0)
      throw new EngineError('not-moe', `${file.path} is a dense model (no experts); MoE Lens needs a Mixture-of-Experts model here`);
    const rpc = options.rpcServers?.length ? await this.rpcDevices(options.rpcServers, options.allowRemoteRpc ?? false) : undefined;
    const backend = rpc ? 'rpc' : device.backend;
    const contextSize = Math.max(64, options.contextSize ?? Math.min(facts.trainContextLength || 4096, 4096));
    const gpuLayers = backend === 'cpu' ? 0 : typeof options.gpuLayers === 'number' ? options.gpuLayers : facts.layers + 1;
    let freeVram: number | undefined;
    let contextVram: number | undefined;
    if (rpc) freeVram = rpc.devices.reduce((n, d) => n + d.freeBytes, 0);
    else if (backend !== 'cpu') {
      freeVram = (await llama.getVramState()).free;
      const insights = await nlc.GgufInsights.from(file.info, llama);
      contextVram = insights.estimateContextResourceRequirements({ contextSize, modelGpuLayers: gpuLayers }).gpuVram;
    }
    const placement = planPlacement(facts, { backend, gpuLayers, cpuMoe: options.cpuMoe ?? 'auto', freeVram, contextVram, rpcDevices: rpc?.devices });
    if (device.note && !rpc) placement.notes.unshift(device.note);
    if (facts.trainContextLength && contextSize > facts.trainContextLength) {
      const note = `context ${contextSize} is larger than the ${facts.trainContextLength} tokens the model was trained for; expect degraded output past that`;
      placement.notes.push(note);
      this.log('warn', note);
    }
    return { file, facts, contextSize, placement, rpc };
  }

  /** The devices of the RPC servers, after the consent and reachability checks (rpc.ts). */
  private async rpcDevices(rpcServers: string[], allowRemote: boolean): Promise<{ servers: string[]; backendPath: string; devices: NativeRpcDevice[] }> {
    const servers = parseRpcServers(rpcServers);
    await checkRpcServers(servers, allowRemote);
    const addon = loadNativeAddon();
    const backendPath = requireRpcBackend(addon.builtForRelease);
    try {
      return { servers: servers.map((s) => s.text), backendPath, devices: addon.rpcDevices(backendPath, servers.map((s) => s.text)) };
    } catch (error) {
      throw new EngineError('rpc-unavailable', (error as Error).message);
    }
  }

  async inspect(options: LocalLoadOptions): Promise<GgufModelInfo> {
    const { file, facts, contextSize, placement } = await this.plan(options);
    return describeModel(file, facts, contextSize, placement);
  }

  async load(options: LocalLoadOptions, signal?: AbortSignal): Promise<GgufModelInfo> {
    if (this.generating) throw new EngineError('busy', 'a generation is running; stop it before loading a model');
    await this.unload();
    const { nlc, llama } = await this.runtime();
    const { file, facts, contextSize, placement, rpc } = await this.plan(options);
    const addon = loadNativeAddon();
    const session = new addon.NativeSession();
    this.loading = session;
    const onAbort = () => session.cancelLoad();
    signal?.addEventListener('abort', onAbort);
    try {
      const loaded = await session.load({
        path: file.path,
        gpuLayers: placement.backend === 'cpu' ? 0 : placement.gpuLayers,
        cpuMoeLayers: placement.cpuMoeLayers,
        contextSize,
        // MOE_LENS_THREADS: a default for processes that share the CPU (tests run two files at once).
        threads: options.threads || Number(process.env.MOE_LENS_THREADS) || llama.cpuMathCores,
        flashAttention: options.flashAttention === undefined ? -1 : options.flashAttention ? 1 : 0,
        f32KvCache: options.kvCache === 'f32',
        moeLayers: facts.moeLayers,
        expertsPerToken: facts.expertsPerToken,
        overrideExpertsPerToken: facts.modelExpertsPerToken !== undefined,
        architecture: file.architecture,
        ...(rpc ? { rpcServers: rpc.servers, rpcBackend: rpc.backendPath } : {}),
      });
      if (loaded.error) {
        session.dispose();
        if (signal?.aborted || loaded.error === 'cancelled') throw new EngineError('aborted', 'model load cancelled');
        const reason = /unknown model architecture: '([^']+)'/.exec(loaded.log);
        if (reason) throw new EngineError('unsupported-architecture', `llama.cpp does not support the architecture "${reason[1]}"`);
        const lastError = loaded.log.split('\n').filter((l) => /error|failed/i.test(l)).pop();
        throw new EngineError('load-failed', `${loaded.error}${lastError ? `: ${lastError.trim()}` : ''}`);
      }
      for (const line of loaded.log.split('\n')) if (/buffer size|override|warn/i.test(line)) this.log('debug', line.trim());
      const buffers = parseBufferLog(loaded.log);
      this.vocabModel = await llama.loadModel({ modelPath: file.path, vocabOnly: true });
      this.chatWrapper = nlc.resolveChatWrapper(this.vocabModel);
      this.session = session;
      this.model = describeModel(file, facts, loaded.contextSize, {
        ...placement,
        weights: buffers.weights.length ? buffers.weights : placement.weights,
        contextBytes: buffers.contextBytes || placement.contextBytes,
        overriddenExpertLayers: buffers.overriddenExpertLayers,
        ...(placement.devices ? { devices: allocatedOnDevices(placement.devices, buffers.weights) } : {}),
        planned: false,
      });
      this.log('info', `loaded ${this.model.name}: ${facts.layers} layers, ${facts.experts} experts, top-${facts.expertsPerToken}, context ${loaded.contextSize}`);
      return this.model;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.loading = undefined;
    }
  }

  async unload(): Promise<void> {
    this.tokenized = undefined;
    this.loading?.cancelLoad();
    this.session?.dispose();
    this.session = undefined;
    this.chatWrapper = undefined;
    await this.vocabModel?.dispose();
    this.vocabModel = undefined;
    this.model = undefined;
  }

  private loaded(): NativeSession {
    if (!this.session) throw new EngineError('no-model', 'no model is loaded');
    return this.session;
  }

  async tokenize(text: string): Promise<number[]> {
    return Array.from(this.loaded().tokenize(text, false, false));
  }

  async detokenize(ids: number[]): Promise<string> {
    const session = this.loaded();
    return Buffer.concat(ids.map((id) => session.piece(id))).toString('utf8');
  }

  /** The prompt tokens of an input (with tools, in the template's function-calling format), and stop strings the chat template adds. */
  private render(input: GenerateInput, tools: readonly ToolDefinition[] = []): { tokens: Int32Array; stop: string[] } {
    const session = this.loaded();
    if (input.kind === 'tokens') return { tokens: Int32Array.from(input.ids), stop: [] };
    if (input.kind === 'text') return { tokens: session.tokenize(input.text, true, false), stop: [] };
    if (!this.chatWrapper || !this.vocabModel) throw new EngineError('no-model', 'no model is loaded');
    // A model that continues text would continue a system prompt too: it gets none (ModelInfo.continuesText).
    const messages = this.model?.continuesText ? input.messages.filter((m) => m.role !== 'system') : input.messages;
    const history: ChatHistoryItem[] = messages.map((m) =>
      m.role === 'assistant'
        ? { type: 'model', response: [...(m.content ? [m.content] : []), ...(m.toolCalls ?? []).map((c) => ({ type: 'functionCall' as const, name: c.name, params: c.input, result: c.result }))] }
        : { type: m.role, text: m.content },
    );
    // An assistant turn whose tool calls have their results is continued; otherwise a new answer starts.
    if (!messages[messages.length - 1]?.toolCalls?.length) history.push({ type: 'model', response: [] });
    checkTools(tools);
    const availableFunctions = tools.length
      ? Object.fromEntries(tools.map((t) => [t.name, { ...(t.description ? { description: t.description } : {}), ...(t.inputSchema ? { params: t.inputSchema as GbnfJsonSchema } : {}) }]))
      : undefined;
    const state = this.chatWrapper.generateContextState({ chatHistory: history, ...(availableFunctions ? { availableFunctions } : {}) });
    const tokens = Int32Array.from(state.contextText.tokenize(this.vocabModel.tokenizer));
    const stop = state.stopGenerationTriggers
      .map((trigger) => trigger.values)
      .filter((values) => values.every((v) => typeof v === 'string'))
      .map((values) => values.join(''))
      .filter((s) => s.trim().length > 0);
    return { tokens, stop };
  }

  async countTokens(input: GenerateInput): Promise<number> {
    return this.render(input).tokens.length;
  }

  async generate(request: GenerateRequest, callbacks: GenerateCallbacks = {}): Promise<GenerationResult> {
    const session = this.loaded();
    const model = this.model!;
    if (this.generating) throw new EngineError('busy', 'a generation is already running');
    const tools = request.input.kind === 'chat' ? (request.tools ?? []) : [];
    const { tokens, stop: templateStops } = this.render(request.input, tools);
    const syntax = tools.length && this.chatWrapper ? callSyntax(this.chatWrapper.settings.functions.call) : undefined;
    // Tool mode required: the output is one call to one of the tools, in the template's syntax.
    const grammar = request.toolMode === 'required' && syntax ? toolCallGrammar(tools, syntax) : request.grammar;
    if (tokens.length >= model.contextSize)
      throw new EngineError(
        'context-overflow',
        `the prompt has ${tokens.length} tokens but the context holds ${model.contextSize}; shorten it or raise the context size`,
      );
    const sampling: NativeSampling = { ...DEFAULT_SAMPLING, ...request.sampling, stop: [...(request.sampling?.stop ?? []), ...templateStops] };
    const capture = (request.captureRouting ?? true) && model.routing !== undefined;
    const intervention = toNative(resolveIntervention(request.intervention, model));
    const stream = new AnswerStream(sampling.stop);
    const k = model.routing?.expertsPerToken ?? 0;
    const layers = model.routing?.moeLayers.length ?? 0;
    const decoder = new TextDecoder('utf-8');

    const onChunk = (chunk: NativeChunk) => {
      // One streaming decoder over all the tokens of the generation (pieceTexts).
      const texts = pieceTexts(chunk.pieceBytes, chunk.pieceOffsets, 0, chunk.ids.length, decoder);
      const textDelta = chunk.generated ? stream.push(chunk.pieceBytes) : '';
      const frame: TokenFrame = {
        phase: chunk.generated ? 'generated' : 'prompt',
        firstIndex: chunk.firstIndex,
        ids: chunk.ids,
        texts,
        textDelta,
        experts: chunk.experts,
        weights: chunk.weights,
        k: capture ? k : 0,
        layers: capture ? layers : 0,
      };
      callbacks.onFrame?.(frame);
    };

    return this.exclusive(session, callbacks.signal, 'generation', async () => {
      const result = await session.generate(
        { tokens, sampling, ...(grammar ? { grammar } : {}), capture, reusePrefix: request.reuseCache ?? true, emitIntervalMs: FRAME_INTERVAL_MS, intervention },
        onChunk,
      );
      if (result.error) throw nativeError(result);
      const text = stream.finish();
      const parsed = syntax ? parseToolCalls(text, syntax, tools) : undefined;
      return {
        text: parsed ? parsed.text : text,
        ...(parsed?.calls.length ? { toolCalls: parsed.calls } : {}),
        stopReason: result.stopReason,
        promptTokens: result.promptTokens,
        generatedTokens: result.generatedTokens,
        promptTokensPerSecond: result.promptMs > 0 ? (result.evaluatedPromptTokens * 1000) / result.promptMs : 0,
        generatedTokensPerSecond: result.generateMs > 0 ? (result.generatedTokens * 1000) / result.generateMs : 0,
        timeToFirstTokenMs: result.firstTokenMs,
        routingCaptured: result.routingCaptured,
      };
    });
  }

  /** Runs `work` as the one generation at a time; the signal aborts the native session. */
  private async exclusive<T>(session: NativeSession, signal: AbortSignal | undefined, what: string, work: () => Promise<T>): Promise<T> {
    if (signal?.aborted) throw new EngineError('aborted', `${what} cancelled`);
    const onAbort = () => {
      this.aborting = true;
      session.abort();
    };
    signal?.addEventListener('abort', onAbort);
    this.generating = true;
    try {
      return await work();
    } finally {
      this.generating = false;
      this.aborting = false;
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async routeTexts(request: RouteRequest, signal?: AbortSignal): Promise<RouteResult> {
    const session = this.loaded();
    const model = this.model!;
    const routing = model.routing;
    if (!routing) throw new EngineError('not-moe', `${model.name} has no experts whose routing could be read`);
    if (this.generating) throw new EngineError('busy', 'a generation is already running');
    const bos = session.tokenize('', true, false);
    const max = routeCeiling(request, model.contextSize);
    const texts = await Promise.all(request.texts.map((text) => firstTokens((t) => session.tokenize(t, false, false), text, max)));
    const lengths = Int32Array.from(texts, (t) => t.ids.length);
    const ids = new Int32Array(lengths.reduce((s, n) => s + n, 0));
    const tokens = new Int32Array(ids.length + texts.filter((t) => t.ids.length).length * bos.length);
    for (let n = 0, at = 0, to = 0; n < texts.length; n++) {
      if (!lengths[n]) continue;
      ids.set(texts[n].ids, at);
      tokens.set(bos, to);
      tokens.set(texts[n].ids, to + bos.length);
      at += lengths[n];
      to += lengths[n] + bos.length;
    }
    const capture = request.capture ?? true;
    const intervention = toNative(resolveIntervention(request.intervention, model));
    const sequences = lengths.filter((n) => n > 0).map((n) => n + bos.length);
    const result = await this.exclusive(session, signal, 'routing', () => session.route({ tokens, lengths: sequences, skip: bos.length, capture, intervention }));
    if (result.aborted || signal?.aborted) throw new EngineError('aborted', 'routing cancelled');
    if (result.error) throw nativeError(result);
    return {
      lengths,
      truncated: Uint8Array.from(texts, (t) => (t.truncated ? 1 : 0)),
      ids,
      pieceBytes: result.pieceBytes,
      pieceOffsets: result.pieceOffsets,
      experts: result.experts,
      weights: result.weights,
      k: capture ? routing.expertsPerToken : 0,
      layers: capture ? routing.moeLayers.length : 0,
      ms: result.ms,
    };
  }

  /** The last perplexity text's tokens: importance scores the same text once per (layer, expert). */
  private tokenized?: { text: string; tokens: Int32Array; bos: number };

  async perplexity(request: PerplexityRequest, callbacks: PerplexityCallbacks = {}): Promise<PerplexityResult> {
    const session = this.loaded();
    const model = this.model!;
    if (this.generating) throw new EngineError('busy', 'a generation is already running');
    const intervention = toNative(resolveIntervention(request.intervention, model));
    if (this.tokenized?.text !== request.text) {
      // As llama-perplexity's common_tokenize(ctx, text, add_special = true): BOS when the vocabulary adds one.
      const tokens = session.tokenize(request.text, true, false);
      const bosOnly = session.tokenize('', true, false);
      this.tokenized = { text: request.text, tokens, bos: bosOnly.length ? bosOnly[0] : -1 };
    }
    const { tokens, bos } = this.tokenized;
    const context = request.context ?? model.contextSize;
    if (context > model.contextSize)
      throw new EngineError('context-overflow', `a perplexity context of ${context} tokens needs the model loaded with a context of at least that (it has ${model.contextSize})`);
    const plan = planChunks(tokens.length, context, request.chunks);
    const moe = (request.routing ?? 'none') !== 'none' ? model.routing : undefined;
    const routing = moe !== undefined;
    const reap = routing && request.routing === 'reap';
    const stats = moe ? new RoutingAccumulator(moe.moeLayers, moe.experts, moe.expertsPerToken, reap) : undefined;
    const only = request.onlyChunks ? new Set(request.onlyChunks) : undefined;
    const sum = new NllSum();
    const perChunk: PerplexityChunk[] = [];
    const start = performance.now();
    let evaluated = 0;
    await this.exclusive(session, callbacks.signal, 'perplexity', async () => {
      for (let i = 0; i < plan.chunks; i++) {
        if (only && !only.has(i)) continue;
        const result = await session.evaluate({
          tokens: chunkTokens(tokens, plan, i, bos),
          firstOutput: plan.first,
          capture: routing,
          expertNorms: reap,
          intervention,
        });
        if (result.aborted || callbacks.signal?.aborted) throw new EngineError('aborted', 'perplexity cancelled');
        if (result.error) throw nativeError(result);
        const nll2Before = sum.nll2;
        const nll = sum.add(result.logprobs);
        const usedExperts = stats?.add(result.experts, result.weights, reap ? result.norms : undefined);
        perChunk.push({ index: i, nll, nll2: sum.nll2 - nll2Before, scored: result.logprobs.length, ...(usedExperts ? { usedExperts } : {}), ms: result.ms });
        evaluated++;
        callbacks.onProgress?.({ chunk: i + 1, chunks: plan.chunks, perplexity: sum.perplexity });
      }
    });
    const ms = performance.now() - start;
    return {
      perplexity: sum.perplexity,
      stderr: sum.stderr,
      tokens: tokens.length,
      chunks: plan.chunks,
      context: plan.context,
      scored: sum.count,
      perChunk,
      ...(stats ? { routing: stats.stats() } : {}),
      ms,
      tokensPerSecond: ms > 0 ? (evaluated * plan.context * 1000) / ms : 0,
    };
  }

  async dispose(): Promise<void> {
    await this.unload();
    await this.llama?.dispose();
    this.llama = undefined;
  }
}

/** A native call's failure as the engine's error (its codes are session.cpp's, native.ts NativeErrorCode). */
function nativeError(result: { error: string; errorCode: string }): EngineError {
  return new EngineError(result.errorCode === 'context-overflow' ? 'context-overflow' : 'internal', result.error);
}

/**
 * The answer text as it streams: complete UTF-8 only, cut at the first stop string, and holding back a
 * tail that could still become a stop string.
 */
export class AnswerStream {
  private readonly decoder = new TextDecoder('utf-8');
  private text = '';
  private emitted = 0;
  private stoppedAt = -1;

  constructor(private readonly stops: string[]) {}

  push(bytes: Uint8Array): string {
    if (this.stoppedAt >= 0) return '';
    this.text += this.decoder.decode(bytes, { stream: true });
    return this.release(false);
  }

  finish(): string {
    if (this.stoppedAt < 0) this.text += this.decoder.decode();
    this.release(true);
    return this.text.slice(0, this.stoppedAt >= 0 ? this.stoppedAt : this.text.length);
  }

  private release(final: boolean): string {
    let end = this.text.length;
    for (const stop of this.stops) {
      const at = this.text.indexOf(stop, Math.max(0, this.emitted - stop.length));
      if (at >= 0 && at < end) {
        end = at;
        this.stoppedAt = at;
      }
    }
    if (this.stoppedAt < 0 && !final) {
      for (const stop of this.stops)
        for (let n = Math.min(stop.length - 1, this.text.length); n > 0; n--)
          if (this.text.endsWith(stop.slice(0, n))) {
            end = Math.min(end, this.text.length - n);
            break;
          }
    }
    end = Math.max(end, this.emitted);
    const delta = this.text.slice(this.emitted, end);
    this.emitted = end;
    return delta;
  }
}
