// A deterministic in-memory Engine for the evals tests: whitespace tokens, echoing generation, synthetic routing.

import type {
  Engine,
  GenerateCallbacks,
  GenerateInput,
  GenerateRequest,
  GenerationResult,
  LoadOptions,
  ModelInfo,
  PerplexityResult,
} from '../../extension/engine/types';
import { EngineError } from '../../extension/engine/errors';
import { modelInfo } from '../model-info';

export interface FakeEngineOptions {
  contextSize?: number;
  /** Words echoed from the start of the document part of the prompt (default 12). */
  echoWords?: number;
  /** Overrides the output: given the prompt text, the model path and the call number. */
  respond?: (prompt: string, model: string, call: number) => string;
  layers?: number;
  k?: number;
  experts?: number;
  /** Called before each generate (e.g. to abort from the test). */
  beforeGenerate?: (call: number, request: GenerateRequest) => void;
  failLoad?: (modelPath: string) => boolean;
}

export class FakeEngine implements Engine {
  model: ModelInfo | undefined;
  readonly loads: string[] = [];
  readonly requests: GenerateRequest[] = [];
  unloads = 0;
  disposed = false;
  private readonly vocab = new Map<string, number>();
  private readonly words: string[] = [];

  constructor(readonly options: FakeEngineOptions = {}) {}

  private id(word: string): number {
    let id = this.vocab.get(word);
    if (id === undefined) {
      id = this.words.length;
      this.vocab.set(word, id);
      this.words.push(word);
    }
    return id;
  }

  private info(modelPath: string, contextSize: number): ModelInfo {
    const layers = this.options.layers ?? 2;
    return modelInfo({
      path: modelPath,
      name: modelPath.split('/').pop()!.replace(/\.gguf$/, ''),
      architecture: 'fake-moe',
      layers,
      moeLayers: Array.from({ length: layers }, (_, i) => i),
      experts: this.options.experts ?? 8,
      expertsPerToken: this.options.k ?? 2,
      totalParams: 1,
      activeParams: 1,
      embeddingLength: 8,
      vocabSize: 1000,
      trainContextLength: contextSize,
      contextSize,
      fileBytes: 1,
      placement: { backend: 'cpu', gpuLayers: 0, cpuMoeLayers: 0, weights: [], expertBytesInRam: 0, expertBytesOnGpu: 0, planned: false, notes: [] },
    });
  }

  async inspect(options: LoadOptions): Promise<ModelInfo> {
    return this.info(options.modelPath, options.contextSize ?? this.options.contextSize ?? 4096);
  }

  async load(options: LoadOptions): Promise<ModelInfo> {
    if (this.options.failLoad?.(options.modelPath)) throw new EngineError('load-failed', `cannot load ${options.modelPath}`);
    this.loads.push(options.modelPath);
    this.model = this.info(options.modelPath, this.options.contextSize ?? options.contextSize ?? 4096);
    return this.model;
  }

  async unload(): Promise<void> {
    this.unloads++;
    this.model = undefined;
  }

  async tokenize(text: string): Promise<number[]> {
    return text.split(/\s+/).filter(Boolean).map((w) => this.id(w));
  }

  async detokenize(ids: number[]): Promise<string> {
    return ids.map((i) => this.words[i]).join(' ');
  }

  /** Chat: 3 template tokens per message; raw text: its words. */
  async countTokens(input: GenerateInput): Promise<number> {
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

  async generate(request: GenerateRequest, callbacks: GenerateCallbacks = {}): Promise<GenerationResult> {
    if (!this.model) throw new EngineError('no-model', 'no model loaded');
    const call = this.requests.length;
    this.requests.push(request);
    this.options.beforeGenerate?.(call, request);
    const promptTokens = await this.countTokens(request.input);
    if (promptTokens > this.model.contextSize) throw new EngineError('context-overflow', `prompt of ${promptTokens} tokens`);
    const base = { promptTokens, promptTokensPerSecond: 1000, generatedTokensPerSecond: 50, timeToFirstTokenMs: 20 };
    if (callbacks.signal?.aborted) {
      return { ...base, text: '', stopReason: 'aborted', generatedTokens: 0, routingCaptured: false };
    }
    const prompt = FakeEngine.promptText(request.input);
    let text: string;
    if (this.options.respond) text = this.options.respond(prompt, this.model.path, call);
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
    const layers = this.model.moeLayers.length;
    const k = this.model.expertsPerToken;
    const E = this.model.experts;
    const capture = request.captureRouting ?? true;
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
      callbacks.onFrame?.({
        phase: 'generated',
        firstIndex: promptTokens + t,
        ids: Int32Array.of(ids[t]),
        texts: [this.words[ids[t]]],
        textDelta: (t ? ' ' : '') + this.words[ids[t]],
        experts,
        weights,
        k,
        layers,
      });
    }
    return { ...base, text, stopReason, generatedTokens: ids.length, routingCaptured: capture };
  }

  async perplexity(): Promise<PerplexityResult> {
    throw new EngineError('internal', 'the fake engine has no perplexity');
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }
}
