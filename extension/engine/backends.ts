// The backends AnyEngine runs, keyed by the load options' kind (`backend`; a local GGUF may leave it out). A new
// backend is one file (its load options added to `BackendOptions` in types.ts by module augmentation, and its
// Engine) and one entry here; the compiler asks for the entry.
import { EngineClient } from './client';
import { RemoteEngine } from './remote-engine';
import { EngineError } from './errors';
import { formatModelIdentity } from '../format';
import type { BackendKind, BackendOptions, Engine, LoadOptions, Log, ModelIdentity } from './types';

export interface BackendDeps {
  log?: Log;
  /** The engine process script (the local backend's). */
  enginePath?: string;
}

export interface Backend<K extends BackendKind> {
  /** Creates the backend's engine; must not start anything heavy (AnyEngine creates it on first use). */
  create(deps: BackendDeps): Engine<BackendOptions[K]>;
  /** The model a load is about, as a value (formatted for display by `formatModelIdentity` in format.ts). */
  identity(options: BackendOptions[K]): ModelIdentity;
  /** The load options with a top-k override, where the backend takes one (a server loads its own model). */
  withExpertsPerToken?: (options: BackendOptions[K], k: number) => BackendOptions[K];
}

export const BACKENDS: { readonly [K in BackendKind]: Backend<K> } = {
  local: {
    create: (deps) => new EngineClient({ log: deps.log, enginePath: deps.enginePath }),
    identity: (options) => ({ kind: 'local', path: options.modelPath }),
    withExpertsPerToken: (options, k) => ({ ...options, expertsPerToken: k }),
  },
  remote: {
    create: (deps) => new RemoteEngine({ log: deps.log }),
    identity: (options) => ({ kind: 'server', endpoint: options.endpoint.replace(/\/+$/, ''), model: options.model || '' }),
  },
};

export function backendKind(options: LoadOptions): BackendKind {
  return options.backend ?? 'local';
}

/** The registry entry for these options, typed for them. */
export function backendOf<K extends BackendKind>(options: BackendOptions[K]): Backend<K> {
  return BACKENDS[backendKind(options)] as unknown as Backend<K>;
}

/** The model a load is about, as a value. */
export function modelIdentity(options: LoadOptions): ModelIdentity {
  return backendOf(options).identity(options);
}

/** What a load is about, for logs, progress and eval keys (`formatModelIdentity`). */
export function formatLoadTarget(options: LoadOptions): string {
  return formatModelIdentity(modelIdentity(options));
}

/** Load options with a top-k override (refused by a backend that takes none). */
export function withExpertsPerToken(options: LoadOptions, k: number | undefined): LoadOptions {
  if (k === undefined) return options;
  const backend = backendOf(options);
  if (!backend.withExpertsPerToken) throw new EngineError('bad-intervention', 'experts per token needs a local GGUF model (a server loads its own)');
  return backend.withExpertsPerToken(options, k);
}
