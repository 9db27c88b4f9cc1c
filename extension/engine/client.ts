// The engine as the CLI and the extension host use it: a child process behind a typed IPC protocol.
// The process starts on first use. If it dies, pending calls fail with 'engine-crashed' and the next call
// starts a fresh process (reloading the last model when the call needs one).
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { EngineError } from './errors';
import type { ClientToEngine, EngineCall, EngineCallOf, EngineMethod, EngineResult, EngineToClient } from './ipc';
import { packageRoot } from './native';
import type {
  Engine,
  GenerateCallbacks,
  GenerateInput,
  GenerateRequest,
  GenerationResult,
  LocalLoadOptions,
  GgufModelInfo,
  PerplexityCallbacks,
  PerplexityProgress,
  PerplexityRequest,
  PerplexityResult,
  TokenFrame,
} from './types';
import type { LogFn } from './local-engine';

export interface EngineClientOptions {
  log?: LogFn;
  /** The engine process script; defaults to dist/engine-process.js in the package. */
  enginePath?: string;
  /** Extra environment for the engine process. */
  env?: NodeJS.ProcessEnv;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  onFrame?: (frame: TokenFrame) => void;
  onProgress?: (progress: PerplexityProgress) => void;
}

const NEEDS_MODEL = new Set<EngineCall['method']>(['tokenize', 'detokenize', 'countTokens', 'generate', 'perplexity']);

export class EngineClient implements Engine<LocalLoadOptions, GgufModelInfo> {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private loadedOptions: LocalLoadOptions | undefined;
  private needsReload = false;
  model: GgufModelInfo | undefined;

  constructor(private readonly options: EngineClientOptions = {}) {}

  /** The engine process id, while one runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  private start(): ChildProcess {
    const script = this.options.enginePath ?? path.join(packageRoot(), 'dist', 'engine-process.js');
    const child = fork(script, [], {
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: [],
      // In VS Code the extension host's execPath is Electron: run it as plain Node.
      env: { ...process.env, ...this.options.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    const log = this.options.log;
    const forward = (level: 'debug' | 'warn') => (data: Buffer) => {
      for (const line of data.toString('utf8').split('\n')) if (line.trim()) log?.(level, line);
    };
    child.stdout?.on('data', forward('debug'));
    child.stderr?.on('data', forward('warn'));
    child.on('message', (message: EngineToClient) => this.onMessage(message));
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.model) this.needsReload = true;
      this.model = undefined;
      const reason = signal ? `signal ${signal}` : `exit code ${code}`;
      if (this.pending.size) log?.('error', `engine process stopped (${reason})`);
      this.rejectPending(new EngineError('engine-crashed', `the engine process stopped (${reason}); the next request starts a new one`, { exitCode: code, signal }));
    });
    child.on('error', (error) => log?.('error', `engine process: ${error.message}`));
    this.child = child;
    return child;
  }

  /** Fails every call still waiting for an answer. */
  private rejectPending(error: EngineError): void {
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.reject(error);
    }
  }

  private onMessage(message: EngineToClient): void {
    if (message.type === 'log') {
      this.options.log?.(message.level, message.message);
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    if (message.type === 'frame') {
      pending.onFrame?.(message.frame);
      return;
    }
    if (message.type === 'progress') {
      pending.onProgress?.(message.progress);
      return;
    }
    this.pending.delete(message.id);
    if (message.type === 'result') pending.resolve(message.value);
    else pending.reject(new EngineError(message.code, message.message));
  }

  private async call<M extends EngineMethod>(
    call: EngineCallOf<M>,
    signal?: AbortSignal,
    listeners: Pick<Pending, 'onFrame' | 'onProgress'> = {},
  ): Promise<EngineResult<M>> {
    type T = EngineResult<M>;
    if (NEEDS_MODEL.has(call.method) && this.needsReload && this.loadedOptions) {
      this.needsReload = false;
      await this.load(this.loadedOptions);
    }
    if (signal?.aborted) throw new EngineError('aborted', 'cancelled');
    const child = this.child ?? this.start();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => child.connected && child.send({ type: 'cancel', id } satisfies ClientToEngine);
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        resolve: (value) => (done(), resolve(value as T)),
        reject: (error) => (done(), reject(error)),
        ...listeners,
      });
      child.send({ type: 'call', id, call: call as EngineCall } satisfies ClientToEngine);
    });
  }

  inspect(options: LocalLoadOptions): Promise<GgufModelInfo> {
    return this.call({ method: 'inspect', options });
  }

  async load(options: LocalLoadOptions, signal?: AbortSignal): Promise<GgufModelInfo> {
    this.model = undefined;
    this.loadedOptions = undefined;
    this.needsReload = false;
    const info = await this.call({ method: 'load', options }, signal);
    this.model = info;
    this.loadedOptions = options;
    return info;
  }

  async unload(): Promise<void> {
    this.loadedOptions = undefined;
    this.needsReload = false;
    this.model = undefined;
    if (this.child) await this.call({ method: 'unload' });
  }

  tokenize(text: string): Promise<number[]> {
    return this.call({ method: 'tokenize', text });
  }

  detokenize(ids: number[]): Promise<string> {
    return this.call({ method: 'detokenize', ids });
  }

  countTokens(input: GenerateInput): Promise<number> {
    return this.call({ method: 'countTokens', input });
  }

  generate(request: GenerateRequest, callbacks: GenerateCallbacks = {}): Promise<GenerationResult> {
    return this.call({ method: 'generate', request }, callbacks.signal, { onFrame: callbacks.onFrame });
  }

  perplexity(request: PerplexityRequest, callbacks: PerplexityCallbacks = {}): Promise<PerplexityResult> {
    return this.call({ method: 'perplexity', request }, callbacks.signal, { onProgress: callbacks.onProgress });
  }

  /** Stops the engine process (frees the model). */
  async dispose(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    this.model = undefined;
    this.loadedOptions = undefined;
    this.rejectPending(new EngineError('aborted', 'the engine was shut down'));
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => (clearTimeout(timer), resolve()));
      if (child.connected) child.disconnect();
      else child.kill('SIGKILL');
    });
  }
}
