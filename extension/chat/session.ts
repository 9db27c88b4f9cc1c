// Which model the chat uses, and loading it lazily on first use (no vscode import).
import type { Engine, LoadOptions, ModelInfo } from '../engine/types';
import { EngineError, isAbort } from '../engine/errors';
import { describeError } from '../messages';
import type { EngineState, ModelSummary } from '../protocol';
import { formatLoadTarget } from '../engine/backends';
import { formatModelLabel } from '../format';
import { DEMO_MODEL_NAME } from '../engine/demo-model';
import { Emitter, type Log } from './events';

export interface ResolvedModel {
  options: LoadOptions;
  isDemo: boolean;
}

/** Resolves the configured model (writing the demo model first if none is configured). */
export type ModelResolver = () => Promise<ResolvedModel>;


function keyOf(options: LoadOptions): string {
  return JSON.stringify(options);
}

export class ModelSession {
  private loadedKey: string | undefined;
  private loading: { key: string; promise: Promise<ModelInfo>; abort: AbortController; waiters: number } | undefined;
  private _state: EngineState = 'idle';
  private _error: string | undefined;
  private _info: ModelInfo | undefined;
  private _isDemo = false;
  private generating = false;
  private readonly changed = new Emitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly engine: Engine,
    private readonly resolve: ModelResolver,
    private readonly log: Log = () => {},
    /** Whether the configured model is the demo, known before anything loads (for the UI). */
    private readonly configuredIsDemo?: () => boolean,
    /** The configured model's name before it is loaded (the demo's, a file's name without .gguf). */
    private readonly configuredLabel: () => string = () => 'model',
  ) {}

  get state(): EngineState {
    return this.generating ? 'generating' : this._state;
  }
  get info(): ModelInfo | undefined {
    return this._info;
  }
  get isDemo(): boolean {
    return this._info || !this.configuredIsDemo ? this._isDemo : this.configuredIsDemo();
  }
  get isLoaded(): boolean {
    return this.loadedKey !== undefined;
  }

  summary(captureRouting: boolean): ModelSummary {
    return {
      ...(this._info ? { info: this._info } : {}),
      // The one name of the model for the chat header, the status bar and the model actions.
      label: this._info ? formatModelLabel(this._info) : (this.isDemo ? DEMO_MODEL_NAME : this.configuredLabel()),
      isDemo: this.isDemo,
      state: this.state,
      ...(this._error && this.state === 'error' ? { error: this._error } : {}),
      captureRouting,
    };
  }

  private set(state: EngineState, error?: string): void {
    this._state = state;
    this._error = error;
    this.changed.fire();
  }

  setGenerating(on: boolean): void {
    this.generating = on;
    this.changed.fire();
  }

  /** Loads the configured model unless it is already loaded with the same options. */
  async ensureLoaded(signal?: AbortSignal): Promise<ModelInfo> {
    if (signal?.aborted) throw new EngineError('aborted', 'Cancelled.');
    const resolved = await this.resolve();
    const key = keyOf(resolved.options);
    if (this.loadedKey === key && this.engine.model) return this.engine.model;
    this._isDemo = resolved.isDemo;

    if (!this.loading || this.loading.key !== key) {
      this.loading?.abort.abort();
      const abort = new AbortController();
      const promise = this.load(resolved, key, abort.signal);
      this.loading = { key, promise, abort, waiters: 0 };
      promise.then(
        () => undefined,
        () => undefined,
      );
    }
    const loading = this.loading;
    loading.waiters++;
    // Cancelling one waiter cancels the load only when nobody else waits for it.
    const onAbort = () => {
      loading.waiters--;
      if (loading.waiters <= 0) loading.abort.abort();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await raceAbort(loading.promise, signal);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (!signal?.aborted) loading.waiters--;
    }
  }

  private async load(resolved: ResolvedModel, key: string, signal: AbortSignal): Promise<ModelInfo> {
    this.loadedKey = undefined;
    this.set('loading');
    this.log('info', `Loading ${formatLoadTarget(resolved.options)}${resolved.isDemo ? ' (demo model)' : ''}`);
    const started = Date.now();
    try {
      const info = await this.engine.load(resolved.options, signal);
      if (signal.aborted) throw new EngineError('aborted', 'Model load cancelled.');
      this.loadedKey = key;
      this._info = info;
      // A server may report neither the architecture nor the experts: say so rather than "unknown, 0 experts".
      const facts = info.routing?.experts ? `${info.architecture}, ${info.routing.experts} experts` : info.remote ? 'no model facts from the server' : `${info.architecture}, dense`;
      this.log('info', `Loaded ${info.name} (${facts}, ${info.placement?.backend ?? info.remote?.server}) in ${Date.now() - started} ms`);
      this.set('ready');
      return info;
    } catch (error) {
      if (isAbort(error, signal)) {
        this.log('info', 'Model load cancelled');
        this.set('idle');
        throw new EngineError('aborted', 'Model load cancelled.');
      }
      const message = describeError(error);
      this.log('error', `Model load failed: ${message}`);
      this.set('error', message);
      throw error;
    } finally {
      if (this.loading?.key === key) this.loading = undefined;
    }
  }

  /** Model settings changed: the next use reloads, and an error of the previous model no longer applies. */
  invalidate(): void {
    this.loadedKey = undefined;
    this.loading?.abort.abort();
    this._state = 'idle';
    this._error = undefined;
    this._info = undefined;
    this.changed.fire();
  }

  /** The engine process went away: it restarts on the next call and the model must be loaded again. */
  markCrashed(message: string): void {
    this.loadedKey = undefined;
    this.set('error', message);
  }

  /** An operation failed without taking the model down (e.g. a generation error). */
  clearError(): void {
    if (this._state === 'error') this.set(this.loadedKey ? 'ready' : 'idle');
  }

  async unload(): Promise<void> {
    this.loading?.abort.abort();
    this.loadedKey = undefined;
    this._info = undefined;
    await this.engine.unload();
    this.set('idle');
  }

  dispose(): void {
    this.loading?.abort.abort();
    this.changed.dispose();
  }
}

function raceAbort<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new EngineError('aborted', 'Cancelled.'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
