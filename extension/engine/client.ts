// The engine as the CLI and the extension host use it: a child process behind a typed IPC protocol.
// The process starts on first use. If it dies, pending calls fail with 'engine-crashed' and the next call
// starts a fresh process (reloading the last model when the call needs one).
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { EngineError } from './errors';
import type { ClientToEngine, EngineToClient } from './ipc';
import { packageRoot } from './native';
import { ENGINE_METHODS, EngineForwarder, controlOf, type EngineMethod } from './surface';
import type { Engine, GgufModelInfo, LocalLoadOptions, Log } from './types';

export interface EngineClientOptions {
  log?: Log;
  /** The engine process script; defaults to dist/engine-process.js in the package. */
  enginePath?: string;
  /** Extra environment for the engine process. */
  env?: NodeJS.ProcessEnv;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  /** The call's event listeners (its callbacks' `on…`), by event name. */
  listeners: Record<string, (value: unknown) => void>;
}

/** Every engine method is forwarded to the engine process as it is declared in the method map (surface.ts). */
export class EngineClient extends EngineForwarder<LocalLoadOptions, GgufModelInfo> implements Engine<LocalLoadOptions, GgufModelInfo> {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private loadedOptions: LocalLoadOptions | undefined;
  private needsReload = false;
  model: GgufModelInfo | undefined;

  constructor(private readonly options: EngineClientOptions = {}) {
    super();
  }

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
    if (message.type === 'event') {
      pending.listeners[message.event]?.(message.value);
      return;
    }
    this.pending.delete(message.id);
    if (message.type === 'result') pending.resolve(message.value);
    else pending.reject(new EngineError(message.code, message.message));
  }

  protected override async forward(method: EngineMethod, args: unknown[]): Promise<unknown> {
    if (ENGINE_METHODS[method].route === 'model' && this.needsReload && this.loadedOptions) {
      this.needsReload = false;
      await this.load(this.loadedOptions);
    }
    const { signal, listeners } = controlOf(method, args);
    if (signal?.aborted) throw new EngineError('aborted', 'cancelled');
    const child = this.child ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = () => child.connected && child.send({ type: 'cancel', id } satisfies ClientToEngine);
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        resolve: (value) => (done(), resolve(value)),
        reject: (error) => (done(), reject(error)),
        listeners,
      });
      child.send({ type: 'call', id, method, args: args.slice(0, ENGINE_METHODS[method].args) } satisfies ClientToEngine);
    });
  }

  override async load(options: LocalLoadOptions, signal?: AbortSignal): Promise<GgufModelInfo> {
    this.model = undefined;
    this.loadedOptions = undefined;
    this.needsReload = false;
    const info = (await this.forward('load', [options, signal])) as GgufModelInfo;
    this.model = info;
    this.loadedOptions = options;
    return info;
  }

  override async unload(): Promise<void> {
    this.loadedOptions = undefined;
    this.needsReload = false;
    this.model = undefined;
    if (this.child) await this.forward('unload', []);
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
