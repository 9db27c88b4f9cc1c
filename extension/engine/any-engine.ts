// The engine the CLI and the extension use: one Engine over every backend of the registry (backends.ts). `load`
// picks the backend from the load options' kind and unloads the one that held the previous model; `inspect` goes to
// the backend its options name; every other call (as the method map routes it) to the backend that holds the
// current model. Each backend is created on first use, so creating an AnyEngine starts nothing.
import { BACKENDS, backendKind, type BackendDeps } from './backends';
import { EngineError } from './errors';
import { ENGINE_METHODS, EngineForwarder, invoke, type EngineMethod } from './surface';
import type { BackendKind, Engine, GgufModelInfo, LoadOptions, LocalLoadOptions, ModelInfo } from './types';

export class AnyEngine extends EngineForwarder<LoadOptions, ModelInfo> implements Engine {
  private readonly engines = new Map<BackendKind, Engine<never>>();
  private current: Engine<never> | undefined;

  /** `create` makes a backend's engine (default: the registry's). */
  constructor(private readonly create: (kind: BackendKind) => Engine<never>) {
    super();
  }

  /** A GGUF's facts are all known (GgufModelInfo). */
  declare inspect: { (options: LocalLoadOptions): Promise<GgufModelInfo>; (options: LoadOptions): Promise<ModelInfo> };

  get model(): ModelInfo | undefined {
    return this.current?.model;
  }

  private backend(options: LoadOptions): Engine<never> {
    const kind = backendKind(options);
    let engine = this.engines.get(kind);
    if (!engine) this.engines.set(kind, (engine = this.create(kind)));
    return engine;
  }

  private loaded(): Engine<never> {
    if (!this.current) throw new EngineError('no-model', 'no model is loaded');
    return this.current;
  }

  protected override async forward(method: EngineMethod, args: unknown[]): Promise<unknown> {
    const route = ENGINE_METHODS[method].route;
    return invoke(route === 'options' ? this.backend(args[0] as LoadOptions) : this.loaded(), method, args);
  }

  override async load(options: LoadOptions, signal?: AbortSignal): Promise<ModelInfo> {
    const target = this.backend(options);
    if (this.current && this.current !== target) await this.current.unload();
    this.current = target;
    return invoke(target, 'load', [options, signal]) as Promise<ModelInfo>;
  }

  override async unload(): Promise<void> {
    await this.current?.unload();
  }

  async dispose(): Promise<void> {
    this.current = undefined;
    await Promise.all([...this.engines.values()].map((e) => e.dispose()));
  }
}

/** The registry's backends: the engine process for GGUF files, the HTTP client for servers (the CLI's and the extension's). */
export function createAnyEngine(deps: BackendDeps = {}): AnyEngine {
  return new AnyEngine((kind) => BACKENDS[kind].create(deps));
}
