// The engine the CLI and the extension use: one Engine over both backends. `load` picks the backend from the load
// options' `backend` (a local GGUF in the engine process, or a server over HTTP) and unloads the other one; every
// other call goes to the backend that holds the current model. Each backend is created on first use.
import { EngineClient } from './client';
import { EngineError } from './errors';
import type { LogFn } from './local-engine';
import { RemoteEngine } from './remote-engine';
import type {
  Engine,
  GenerateCallbacks,
  GenerateInput,
  GenerateRequest,
  GenerationResult,
  GgufModelInfo,
  LoadOptions,
  LocalLoadOptions,
  ModelInfo,
  PerplexityCallbacks,
  PerplexityRequest,
  PerplexityResult,
  RemoteLoadOptions,
} from './types';

export type LocalEngineLike = Engine<LocalLoadOptions, GgufModelInfo>;
export type RemoteEngineLike = Engine<RemoteLoadOptions>;

export class AnyEngine implements Engine {
  private localEngine: LocalEngineLike | undefined;
  private remoteEngine: RemoteEngineLike | undefined;
  private current: Engine<never> | undefined;

  constructor(
    private readonly createLocal: () => LocalEngineLike,
    private readonly createRemote: () => RemoteEngineLike,
  ) {}

  get model(): ModelInfo | undefined {
    return this.current?.model;
  }

  private local(): LocalEngineLike {
    return (this.localEngine ??= this.createLocal());
  }

  private remote(): RemoteEngineLike {
    return (this.remoteEngine ??= this.createRemote());
  }

  inspect(options: LocalLoadOptions): Promise<GgufModelInfo>;
  inspect(options: LoadOptions): Promise<ModelInfo>;
  inspect(options: LoadOptions): Promise<ModelInfo> {
    return options.backend === 'remote' ? this.remote().inspect(options) : this.local().inspect(options);
  }

  async load(options: LoadOptions, signal?: AbortSignal): Promise<ModelInfo> {
    const target: Engine<never> = options.backend === 'remote' ? this.remote() : this.local();
    if (this.current && this.current !== target) await this.current.unload();
    this.current = target;
    return options.backend === 'remote' ? this.remote().load(options, signal) : this.local().load(options, signal);
  }

  async unload(): Promise<void> {
    await this.current?.unload();
  }

  private loaded(): Engine<never> {
    if (!this.current) throw new EngineError('no-model', 'no model is loaded');
    return this.current;
  }

  tokenize(text: string): Promise<number[]> {
    return this.loaded().tokenize(text);
  }

  detokenize(ids: number[]): Promise<string> {
    return this.loaded().detokenize(ids);
  }

  countTokens(input: GenerateInput): Promise<number> {
    return this.loaded().countTokens(input);
  }

  generate(request: GenerateRequest, callbacks?: GenerateCallbacks): Promise<GenerationResult> {
    return this.loaded().generate(request, callbacks);
  }

  perplexity(request: PerplexityRequest, callbacks?: PerplexityCallbacks): Promise<PerplexityResult> {
    return this.loaded().perplexity(request, callbacks);
  }

  async dispose(): Promise<void> {
    this.current = undefined;
    await Promise.all([this.localEngine?.dispose(), this.remoteEngine?.dispose()]);
  }
}

/** The usual pair: the engine process for GGUF files, the HTTP client for servers (the CLI's and the extension's). */
export function createAnyEngine(options: { log?: LogFn; enginePath?: string } = {}): AnyEngine {
  return new AnyEngine(
    () => new EngineClient({ log: options.log, enginePath: options.enginePath }),
    () => new RemoteEngine({ log: options.log }),
  );
}
