// The one in-memory Engine for tests that need no model: deterministic tokens, scripted or echoing generation,
// synthetic routing. The chat tests use character tokens and a scripted answer (`chatFakeEngine()` in
// test/unit/chat/fake-engine.ts); the evals tests use word tokens and echo the start of the document. It takes
// local and remote load options alike and reports the capabilities it is given, so the engine contract suite
// (test/engine/contract.ts) runs against it as against the real engines. Derived from the engine's method map: a
// method it does not fake (perplexity, or one added later) fails with 'internal'.
import type {
  Engine,
  EngineCapabilities,
  GenerateCallbacks,
  GenerateInput,
  GenerateRequest,
  GenerationResult,
  LoadOptions,
  ModelInfo,
} from '../extension/engine/types';
import { EngineForwarder, type EngineMethod } from '../extension/engine/surface';
import { EngineError, isAbort } from '../extension/engine/errors';
import { formatLoadTarget, modelIdentity } from '../extension/engine/backends';
import { formatModelIdentity, formatModelName } from '../extension/format';
import { modelInfo } from './model-info';

export type Script = (req: GenerateRequest, cb: GenerateCallbacks) => Promise<GenerationResult>;

export interface FakeEngineOptions {
  /** The context of every model it loads (default: the load options', else 4096). */
  contextSize?: number;
  /** 'words' (default): whitespace-separated words; 'chars': one token per UTF-16 unit, chats 4 + length per message. */
  tokens?: 'words' | 'chars';
  /** Words echoed from the start of the document part of the prompt (default 12). */
  echoWords?: number;
  /** Overrides the echoed output: given the prompt text, the model path and the call number. */
  respond?: (prompt: string, model: string, call: number) => string;
  /** Replaces generation altogether (the chat tests' scripted answers). */
  script?: Script;
  layers?: number;
  k?: number;
  experts?: number;
  /** Called before each generate (e.g. to abort from the test). */
  beforeGenerate?: (call: number, request: GenerateRequest) => void;
  /** A load of a model for which this returns true fails with `load-failed`. */
  failLoad?: (model: string) => boolean;
  /** Patched into the capabilities it reports (default: the local engine's for a MoE model). */
  capabilities?: Partial<EngineCapabilities>;
}

export class FakeEngine extends EngineForwarder<LoadOptions, ModelInfo> implements Engine {
  model: ModelInfo | undefined;
  readonly loads: LoadOptions[] = [];
  readonly requests: GenerateRequest[] = [];
  unloads = 0;
  disposed = false;
  countCalls = 0;
  /** Settable by a test: the context of models loaded from now on. */
  contextSize: number | undefined;
  /** Settable by a test: loads take this long (abortable). */
  loadDelayMs = 0;
  /** Settable by a test: the next loads fail with this error. */
  failLoad: EngineError | undefined;
  /** Settable by a test: how generate answers (default: echo, or `options.respond`). */
  script: Script;
  private readonly vocab = new Map<string, number>();
  private readonly words: string[] = [];

  constructor(readonly options: FakeEngineOptions = {}) {
    super();
    this.contextSize = options.contextSize;
    this.script = options.script ?? ((request, callbacks) => this.echo(request, callbacks));
  }

  /** The fake's model: named after the file (or the remote model id), `layers` MoE layers of `experts`, top-`k`. */
  info(options: LoadOptions): ModelInfo {
    const layers = this.options.layers ?? 2;
    const identity = modelIdentity(options);
    const contextSize = this.contextSize ?? options.contextSize ?? 4096;
    const name = identity.kind === 'server' ? identity.model || 'fake' : formatModelName(identity.path);
    return modelInfo({
      path: formatModelIdentity(identity),
      name,
      architecture: 'fake-moe',
      layers,
      routing: { moeLayers: Array.from({ length: layers }, (_, i) => i), experts: this.options.experts ?? 8, expertsPerToken: this.options.k ?? 2, sharedExperts: 0 },
      totalParams: 1000,
      activeParams: 500,
      embeddingLength: 8,
      vocabSize: 1000,
      trainContextLength: contextSize,
      contextSize,
      fileBytes: 1234,
      placement: { backend: 'cpu', gpuLayers: 0, cpuMoeLayers: 2, weights: [{ device: 'CPU', bytes: 1234 }], expertBytesInRam: 800, expertBytesOnGpu: 0, planned: false, notes: [] },
      capabilities: { ...modelInfo().capabilities, ...this.options.capabilities },
      ...(identity.kind === 'server' ? { remote: { endpoint: identity.endpoint, server: 'openai-compatible' as const, model: name } } : {}),
    });
  }

  override async inspect(options: LoadOptions): Promise<ModelInfo> {
    return this.info(options);
  }

  override async load(options: LoadOptions, signal?: AbortSignal): Promise<ModelInfo> {
    this.loads.push(options);
    this.model = undefined;
    if (this.loadDelayMs) await sleep(this.loadDelayMs, signal);
    if (signal?.aborted) throw new EngineError('aborted', 'load aborted');
    if (this.failLoad) throw this.failLoad;
    const target = formatLoadTarget(options);
    if (this.options.failLoad?.(target)) throw new EngineError('load-failed', `cannot load ${target}`);
    this.model = this.info(options);
    return this.model;
  }

  override async unload(): Promise<void> {
    this.unloads++;
    this.model = undefined;
  }

  private id(word: string): number {
    let id = this.vocab.get(word);
    if (id === undefined) {
      id = this.words.length;
      this.vocab.set(word, id);
      this.words.push(word);
    }
    return id;
  }

  override async tokenize(text: string): Promise<number[]> {
    if (this.options.tokens === 'chars') return [...text].map((c) => c.charCodeAt(0));
    return text.split(/\s+/).filter(Boolean).map((w) => this.id(w));
  }

  override async detokenize(ids: number[]): Promise<string> {
    if (this.options.tokens === 'chars') return String.fromCharCode(...ids);
    return ids.map((i) => this.words[i]).join(' ');
  }

  /** Words: 3 template tokens per chat message; chars: 4 per message (`charCount`). */
  override async countTokens(input: GenerateInput): Promise<number> {
    this.countCalls++;
    if (this.options.tokens === 'chars') return charCount(input);
    if (input.kind === 'tokens') return input.ids.length;
    if (input.kind === 'text') return (await this.tokenize(input.text)).length;
    let n = 0;
    for (const m of input.messages) n += 3 + (await this.tokenize(m.content)).length;
    return n;
  }

  static promptText(input: GenerateInput): string {
    if (input.kind === 'text') return input.text;
    if (input.kind === 'chat') return input.messages[input.messages.length - 1].content;
    return '';
  }

  override async generate(request: GenerateRequest, callbacks: GenerateCallbacks = {}): Promise<GenerationResult> {
    if (!this.model) throw new EngineError('no-model', 'no model is loaded');
    const call = this.requests.length;
    this.requests.push(request);
    this.options.beforeGenerate?.(call, request);
    return this.script(request, callbacks);
  }

  /** The default answer: the first `echoWords` words of the document (or `respond`'s text), one frame per token. */
  private async echo(request: GenerateRequest, callbacks: GenerateCallbacks): Promise<GenerationResult> {
    const model = this.model!;
    const promptTokens = await this.countTokens(request.input);
    if (promptTokens > model.contextSize) throw new EngineError('context-overflow', `prompt of ${promptTokens} tokens`);
    const base = { promptTokens, promptTokensPerSecond: 1000, generatedTokensPerSecond: 50, timeToFirstTokenMs: 20 };
    if (isAbort(undefined, callbacks.signal)) return { ...base, text: '', stopReason: 'aborted', generatedTokens: 0, routingCaptured: false };
    const prompt = FakeEngine.promptText(request.input);
    let text: string;
    if (this.options.respond) text = this.options.respond(prompt, model.path, this.requests.length - 1);
    else {
      const doc = prompt.includes('\n\n') ? prompt.slice(prompt.indexOf('\n\n') + 2) : prompt;
      text = doc.split(/\s+/).filter(Boolean).slice(0, this.options.echoWords ?? 12).join(' ');
    }
    const maxTokens = request.sampling?.maxTokens ?? 512;
    let ids = await this.tokenize(text);
    let stopReason: GenerationResult['stopReason'] = 'eos';
    if (ids.length > maxTokens) {
      ids = ids.slice(0, maxTokens);
      text = await this.detokenize(ids);
      stopReason = 'max-tokens';
    }
    const layers = model.routing?.moeLayers.length ?? 0;
    const k = model.routing?.expertsPerToken ?? 0;
    const E = model.routing?.experts ?? 0;
    const capture = (request.captureRouting ?? true) && model.capabilities.routingIds && model.routing !== undefined;
    const separator = this.options.tokens === 'chars' ? '' : ' ';
    for (let t = 0; t < ids.length; t++) {
      const experts = new Uint16Array(capture ? layers * k : 0);
      const weights = new Float32Array(capture ? layers * k : 0);
      if (capture) {
        for (let l = 0; l < layers; l++) {
          for (let r = 0; r < k; r++) {
            experts[l * k + r] = (ids[t] + l + r) % E;
            weights[l * k + r] = 1 / k;
          }
        }
      }
      const piece = await this.detokenize([ids[t]]);
      callbacks.onFrame?.({
        phase: 'generated',
        firstIndex: promptTokens + t,
        ids: Int32Array.of(ids[t]),
        texts: [piece],
        textDelta: (t ? separator : '') + piece,
        experts,
        weights,
        k: capture ? k : 0,
        layers: capture ? layers : 0,
      });
    }
    return { ...base, text, stopReason, generatedTokens: ids.length, routingCaptured: capture };
  }

  protected override async forward(method: EngineMethod): Promise<never> {
    throw new EngineError('internal', `the fake engine has no ${method}`);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }
}

/** Counts tokens as characters of the rendered chat (plus 4 per message). */
export function charCount(input: GenerateInput): number {
  if (input.kind === 'chat') return input.messages.reduce((n, m) => n + 4 + m.content.length, 0);
  if (input.kind === 'text') return input.text.length;
  return input.ids.length;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });
}
