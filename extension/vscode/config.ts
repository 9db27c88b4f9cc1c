// The one typed accessor for `contributes.configuration` (section `moeLens`). No runtime `vscode` import:
// callers pass `vscode.workspace.getConfiguration(CONFIG_SECTION)` (anything with `get`), so parsing is
// unit-tested with plain vitest.
import { DEFAULT_SAMPLING } from '../engine/sampling';
import type { CpuMoe, LocalLoadOptions, RemoteLoadOptions, SamplingOptions } from '../engine/types';
import { localLoadOptions, orDefault, parseCpuMoe, parseGpuLayers, parseRoutingShape, serverLoadOptions, type GpuLayers, type RoutingShape } from '../engine/load-settings';
import { rpcServersSetting } from '../engine/rpc';

export const CONFIG_SECTION = 'moeLens';

export interface ConfigSource {
  get<T>(key: string): T | undefined;
  /** Where a value comes from (VS Code's `WorkspaceConfiguration.inspect`); without it, any value counts as set. */
  inspect?<T>(key: string): { globalValue?: T; workspaceValue?: T; workspaceFolderValue?: T } | undefined;
}

/** Sampling settings that, left unset, take the loaded model's value (engine/sampling.ts `modelSampling`). */
export const MODEL_SAMPLING_KEYS = ['temperature', 'topK', 'topP', 'minP', 'repeatPenalty'] as const;

export interface MoeLensConfig {
  /** Absolute path of the GGUF to use; '' = the built-in demo model. Ignored while `server` is set. */
  modelPath: string;
  /** An OpenAI-compatible server's base URL; '' = the local model. Its API key is in SecretStorage, never here. */
  server: string;
  /** The server's model id; '' = its first. */
  serverModel: string;
  /** MoE layers × experts per token for SGLang's routing ("58x8"); undefined when not set or invalid. */
  serverRoutingShape?: RoutingShape;
  /** Stream answers from the server (vLLM reports routing only when this is off). */
  serverStream: boolean;
  /** Eval samples sent to the server at once (servers batch them). */
  serverConcurrency: number;
  gpuLayers: GpuLayers;
  moeOffload: CpuMoe;
  /** 0 = the model's default (min(training context, 4096)). */
  contextSize: number;
  /** CPU threads for generation; 0 = automatic. */
  threads: number;
  /** Experts per token (top-k) of a MoE model; 0 = the model's own. */
  expertsPerToken: number;
  /** llama.cpp RPC servers (`host:port`) for the model's layers; [] = none (or an invalid setting). */
  rpcServers: string[];
  /** The sampling settings the user set; one left unset (undefined) takes the loaded model's value. */
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repeatPenalty?: number;
  /** 0 = fit the loaded model (a quarter of its context; a text-continuation model: one paragraph). */
  maxTokens: number;
  /** -1 = a new random seed for every answer. */
  seed: number;
  systemPrompt: string;
  captureRouting: boolean;
}

export const DEFAULTS: MoeLensConfig = {
  modelPath: '',
  server: '',
  serverModel: '',
  serverStream: true,
  serverConcurrency: 4,
  gpuLayers: 'auto',
  moeOffload: 'auto',
  contextSize: 0,
  threads: 0,
  expertsPerToken: 0,
  rpcServers: [],
  maxTokens: 0,
  seed: -1,
  systemPrompt: 'You are a helpful assistant. Answer concisely.',
  captureRouting: true,
};

/** Settings whose change means the model must be loaded again (on next use). */
export const MODEL_SETTING_KEYS = ['modelPath', 'gpuLayers', 'moeOffload', 'contextSize', 'threads', 'expertsPerToken', 'rpcServers', 'server', 'serverModel', 'serverRoutingShape', 'serverStream'] as const;

function num(value: unknown, fallback: number, min: number, max: number, integer = false): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) return fallback;
  const clamped = Math.min(max, Math.max(min, n));
  return integer ? Math.round(clamped) : clamped;
}

export function parseConfig(source: ConfigSource): MoeLensConfig {
  const get = (key: keyof MoeLensConfig) => {
    try {
      return source.get<unknown>(key);
    } catch {
      return undefined;
    }
  };
  const modelPath = get('modelPath');
  const systemPrompt = get('systemPrompt');
  const capture = get('captureRouting');
  const server = get('server');
  const serverModel = get('serverModel');
  const shape = parseRoutingShape(get('serverRoutingShape'));
  const stream = get('serverStream');
  // A sampling setting counts only where the user wrote it (VS Code's `get` returns the manifest's default otherwise).
  const userSet = (key: keyof MoeLensConfig) => {
    try {
      const where = source.inspect ? source.inspect<unknown>(key) : { globalValue: get(key) };
      return where !== undefined && [where.globalValue, where.workspaceValue, where.workspaceFolderValue].some((v) => v !== undefined);
    } catch {
      return false;
    }
  };
  const sampling = (key: (typeof MODEL_SAMPLING_KEYS)[number], min: number, max: number, integer = false) =>
    userSet(key) ? { [key]: num(get(key), DEFAULT_SAMPLING[key], min, max, integer) } : {};
  return {
    modelPath: typeof modelPath === 'string' ? modelPath.trim() : '',
    server: typeof server === 'string' ? server.trim() : '',
    serverModel: typeof serverModel === 'string' ? serverModel.trim() : '',
    ...(shape.ok ? { serverRoutingShape: shape.value } : {}),
    serverStream: typeof stream === 'boolean' ? stream : DEFAULTS.serverStream,
    serverConcurrency: num(get('serverConcurrency'), DEFAULTS.serverConcurrency, 1, 64, true),
    // Invalid text falls back to the default (the settings UI validates with the manifest's pattern).
    gpuLayers: orDefault(parseGpuLayers(get('gpuLayers')), DEFAULTS.gpuLayers),
    moeOffload: orDefault(parseCpuMoe(get('moeOffload')), DEFAULTS.moeOffload),
    contextSize: num(get('contextSize'), DEFAULTS.contextSize, 0, 1 << 20, true),
    threads: num(get('threads'), DEFAULTS.threads, 0, 1024, true),
    expertsPerToken: num(get('expertsPerToken'), DEFAULTS.expertsPerToken, 0, 1 << 16, true),
    rpcServers: orDefault(rpcServersSetting(get('rpcServers')), []).map((s) => s.text),
    ...sampling('temperature', 0, 5),
    ...sampling('topK', 0, 100000, true),
    ...sampling('topP', 0, 1),
    ...sampling('minP', 0, 1),
    ...sampling('repeatPenalty', 0, 10),
    maxTokens: num(get('maxTokens'), DEFAULTS.maxTokens, 0, 1 << 20, true),
    seed: num(get('seed'), DEFAULTS.seed, -1, 0xffffffff, true),
    systemPrompt: typeof systemPrompt === 'string' ? systemPrompt : DEFAULTS.systemPrompt,
    captureRouting: typeof capture === 'boolean' ? capture : DEFAULTS.captureRouting,
  };
}

export function loadOptionsFrom(config: MoeLensConfig, modelPath: string): LocalLoadOptions {
  const { gpuLayers, moeOffload: cpuMoe, contextSize, threads, expertsPerToken, rpcServers } = config;
  return { ...localLoadOptions(modelPath, { gpuLayers, cpuMoe, contextSize, threads, expertsPerToken }), ...(rpcServers.length ? { rpcServers } : {}) };
}

/** The configured server as load options; `apiKey` comes from SecretStorage. */
export function remoteOptionsFrom(config: MoeLensConfig, apiKey: string | undefined): RemoteLoadOptions {
  return serverLoadOptions({ endpoint: config.server, model: config.serverModel, apiKey, contextSize: config.contextSize, routingShape: config.serverRoutingShape, stream: config.serverStream });
}

/** The sampling the user set; what is left out fits the loaded model (engine/sampling.ts `resolveSampling`). */
export function samplingFrom(config: MoeLensConfig, random: () => number = Math.random): Partial<SamplingOptions> {
  const set: Partial<SamplingOptions> = {};
  for (const key of MODEL_SAMPLING_KEYS) if (config[key] !== undefined) set[key] = config[key];
  return {
    ...set,
    ...(config.maxTokens > 0 ? { maxTokens: config.maxTokens } : {}),
    seed: config.seed >= 0 ? config.seed : Math.floor(random() * 0xffffffff),
  };
}

/** True when a configuration change event touches settings that need a model reload. */
export function affectsModel(affects: (section: string) => boolean): boolean {
  return MODEL_SETTING_KEYS.some((k) => affects(`${CONFIG_SECTION}.${k}`));
}
