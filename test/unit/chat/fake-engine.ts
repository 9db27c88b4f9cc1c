// A small scripted Engine for controller tests (no model, no process).
import type { Engine, GenerateCallbacks, GenerateInput, GenerateRequest, GenerationResult, LoadOptions, ModelInfo, PerplexityResult, TokenFrame } from '../../../extension/engine/types';
import { EngineError } from '../../../extension/engine/errors';
import { modelInfo } from '../../model-info';

export function fakeInfo(path: string, contextSize = 256): ModelInfo {
  return modelInfo({
    path,
    name: 'fake',
    totalParams: 1000,
    activeParams: 500,
    embeddingLength: 8,
    contextSize,
    fileBytes: 1234,
    placement: { backend: 'cpu', gpuLayers: 0, cpuMoeLayers: 2, weights: [{ device: 'CPU', bytes: 1234 }], expertBytesInRam: 800, expertBytesOnGpu: 0, planned: false, notes: [] },
  });
}

export function frame(phase: 'prompt' | 'generated', firstIndex: number, ids: number[], textDelta: string): TokenFrame {
  const layers = 2;
  const k = 2;
  const experts = new Uint16Array(ids.length * layers * k);
  const weights = new Float32Array(ids.length * layers * k);
  for (let i = 0; i < experts.length; i++) {
    experts[i] = (firstIndex * 7 + i) % 4;
    weights[i] = 0.25 + (i % 3) / 10;
  }
  return { phase, firstIndex, ids: Int32Array.from(ids), texts: ids.map((id) => `<${id}>`), textDelta, experts, weights, k, layers };
}

export type Script = (req: GenerateRequest, cb: GenerateCallbacks) => Promise<GenerationResult>;

/** Counts tokens as characters of the rendered chat (plus 4 per message). */
export function charCount(input: GenerateInput): number {
  if (input.kind === 'chat') return input.messages.reduce((n, m) => n + 4 + m.content.length, 0);
  if (input.kind === 'text') return input.text.length;
  return input.ids.length;
}

export class FakeEngine implements Engine {
  model: ModelInfo | undefined;
  loads: LoadOptions[] = [];
  requests: GenerateRequest[] = [];
  contextSize = 256;
  loadDelayMs = 0;
  failLoad: EngineError | undefined;
  script: Script = async (req, cb) => {
    const prompt = [1, 2, 3];
    cb.onFrame?.(frame('prompt', 0, prompt, ''));
    cb.onFrame?.(frame('generated', 3, [10], 'Hel'));
    cb.onFrame?.(frame('generated', 4, [11], 'lo'));
    return result('Hello', 'eos', prompt.length, 2);
  };

  async inspect(options: LoadOptions): Promise<ModelInfo> {
    return fakeInfo(options.modelPath, this.contextSize);
  }
  async load(options: LoadOptions, signal?: AbortSignal): Promise<ModelInfo> {
    this.loads.push(options);
    this.model = undefined;
    if (this.loadDelayMs) await sleep(this.loadDelayMs, signal);
    if (signal?.aborted) throw new EngineError('aborted', 'load aborted');
    if (this.failLoad) throw this.failLoad;
    this.model = fakeInfo(options.modelPath, this.contextSize);
    return this.model;
  }
  async unload(): Promise<void> {
    this.model = undefined;
  }
  async tokenize(text: string): Promise<number[]> {
    return [...text].map((c) => c.charCodeAt(0));
  }
  async detokenize(ids: number[]): Promise<string> {
    return String.fromCharCode(...ids);
  }
  countCalls = 0;
  async countTokens(input: GenerateInput): Promise<number> {
    this.countCalls++;
    return charCount(input);
  }
  async generate(request: GenerateRequest, callbacks: GenerateCallbacks = {}): Promise<GenerationResult> {
    if (!this.model) throw new EngineError('no-model', 'No model loaded.');
    this.requests.push(request);
    return this.script(request, callbacks);
  }
  async perplexity(): Promise<PerplexityResult> {
    throw new EngineError('internal', 'the fake engine has no perplexity');
  }

  async dispose(): Promise<void> {}
}

export function result(text: string, stopReason: GenerationResult['stopReason'], promptTokens: number, generatedTokens: number): GenerationResult {
  return { text, stopReason, promptTokens, generatedTokens, promptTokensPerSecond: 100, generatedTokensPerSecond: 42, timeToFirstTokenMs: 5, routingCaptured: true };
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
