// The one typed accessor for `contributes.configuration` (section `moeLens`). No runtime `vscode` import:
// callers pass `vscode.workspace.getConfiguration(CONFIG_SECTION)` (anything with `get`), so parsing is
// unit-tested with plain vitest.
import type { CpuMoe, LocalLoadOptions, RemoteLoadOptions, SamplingOptions } from '../engine/types';

export const CONFIG_SECTION = 'moeLens';

export interface ConfigSource {
  get<T>(key: string): T | undefined;
}

export interface MoeLensConfig {
  /** Absolute path of the GGUF to use; '' = the built-in demo model. Ignored while `server` is set. */
  modelPath: string;
  /** An OpenAI-compatible server's base URL; '' = the local model. Its API key is in SecretStorage, never here. */
  server: string;
  /** The server's model id; '' = its first. */
  serverModel: string;
  /** MoE layers × experts per token for SGLang's routing ("58x8"); undefined when not set or invalid. */
  serverRoutingShape?: { moeLayers: number; expertsPerToken: number };
  /** Stream answers from the server (vLLM reports routing only when this is off). */
  serverStream: boolean;
  /** Eval samples sent to the server at once (servers batch them). */
  serverConcurrency: number;
  gpuLayers: 'auto' | 'max' | number;
  moeOffload: CpuMoe;
  /** 0 = the model's default (min(training context, 4096)). */
  contextSize: number;
  /** CPU threads for generation; 0 = automatic. */
  threads: number;
  /** Experts per token (top-k) of a MoE model; 0 = the model's own. */
  expertsPerToken: number;
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repeatPenalty: number;
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
  temperature: 0.7,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repeatPenalty: 1.1,
  maxTokens: 512,
  seed: -1,
  systemPrompt: 'You are a helpful assistant. Answer concisely.',
  captureRouting: true,
};

/** Settings whose change means the model must be loaded again (on next use). */
export const MODEL_SETTING_KEYS = ['modelPath', 'gpuLayers', 'moeOffload', 'contextSize', 'threads', 'expertsPerToken', 'server', 'serverModel', 'serverRoutingShape', 'serverStream'] as const;

/** `auto` | `all` | `none` | a number of leading layers whose experts stay in RAM. Invalid → `auto`. */
export function parseMoeOffload(value: unknown): CpuMoe {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value !== 'string') return 'auto';
  const v = value.trim().toLowerCase();
  if (v === 'auto' || v === 'all' || v === 'none') return v;
  if (/^\d+$/.test(v)) return Number.parseInt(v, 10);
  return 'auto';
}

/** `auto` | `max` | a number of layers on the GPU. Invalid → `auto`. */
export function parseGpuLayers(value: unknown): 'auto' | 'max' | number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value !== 'string') return 'auto';
  const v = value.trim().toLowerCase();
  if (v === 'auto' || v === 'max') return v;
  if (/^\d+$/.test(v)) return Number.parseInt(v, 10);
  return 'auto';
}

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
  const shape = /^\s*(\d+)\s*[x,]\s*(\d+)\s*$/.exec(String(get('serverRoutingShape') ?? ''));
  const stream = get('serverStream');
  return {
    modelPath: typeof modelPath === 'string' ? modelPath.trim() : '',
    server: typeof server === 'string' ? server.trim() : '',
    serverModel: typeof serverModel === 'string' ? serverModel.trim() : '',
    ...(shape && Number(shape[1]) > 0 && Number(shape[2]) > 0 ? { serverRoutingShape: { moeLayers: Number(shape[1]), expertsPerToken: Number(shape[2]) } } : {}),
    serverStream: typeof stream === 'boolean' ? stream : DEFAULTS.serverStream,
    serverConcurrency: num(get('serverConcurrency'), DEFAULTS.serverConcurrency, 1, 64, true),
    gpuLayers: parseGpuLayers(get('gpuLayers')),
    moeOffload: parseMoeOffload(get('moeOffload')),
    contextSize: num(get('contextSize'), DEFAULTS.contextSize, 0, 1 << 20, true),
    threads: num(get('threads'), DEFAULTS.threads, 0, 1024, true),
    expertsPerToken: num(get('expertsPerToken'), DEFAULTS.expertsPerToken, 0, 1 << 16, true),
    temperature: num(get('temperature'), DEFAULTS.temperature, 0, 5),
    topK: num(get('topK'), DEFAULTS.topK, 0, 100000, true),
    topP: num(get('topP'), DEFAULTS.topP, 0, 1),
    minP: num(get('minP'), DEFAULTS.minP, 0, 1),
    repeatPenalty: num(get('repeatPenalty'), DEFAULTS.repeatPenalty, 0, 10),
    maxTokens: num(get('maxTokens'), DEFAULTS.maxTokens, 1, 1 << 20, true),
    seed: num(get('seed'), DEFAULTS.seed, -1, 0xffffffff, true),
    systemPrompt: typeof systemPrompt === 'string' ? systemPrompt : DEFAULTS.systemPrompt,
    captureRouting: typeof capture === 'boolean' ? capture : DEFAULTS.captureRouting,
  };
}

export function loadOptionsFrom(config: MoeLensConfig, modelPath: string): LocalLoadOptions {
  return {
    modelPath,
    gpuLayers: config.gpuLayers,
    cpuMoe: config.moeOffload,
    ...(config.contextSize > 0 ? { contextSize: config.contextSize } : {}),
    ...(config.threads > 0 ? { threads: config.threads } : {}),
    ...(config.expertsPerToken > 0 ? { expertsPerToken: config.expertsPerToken } : {}),
  };
}

/** The configured server as load options; `apiKey` comes from SecretStorage. */
export function remoteOptionsFrom(config: MoeLensConfig, apiKey: string | undefined): RemoteLoadOptions {
  return {
    backend: 'remote',
    endpoint: config.server,
    ...(config.serverModel ? { model: config.serverModel } : {}),
    ...(apiKey ? { apiKey } : {}),
    ...(config.contextSize > 0 ? { contextSize: config.contextSize } : {}),
    ...(config.serverRoutingShape ? { routingShape: config.serverRoutingShape } : {}),
    ...(config.serverStream ? {} : { stream: false }),
  };
}

export function samplingFrom(config: MoeLensConfig, random: () => number = Math.random): Partial<SamplingOptions> & { maxTokens: number } {
  return {
    temperature: config.temperature,
    topK: config.topK,
    topP: config.topP,
    minP: config.minP,
    repeatPenalty: config.repeatPenalty,
    maxTokens: config.maxTokens,
    seed: config.seed >= 0 ? config.seed : Math.floor(random() * 0xffffffff),
  };
}

/** True when a configuration change event touches settings that need a model reload. */
export function affectsModel(affects: (section: string) => boolean): boolean {
  return MODEL_SETTING_KEYS.some((k) => affects(`${CONFIG_SECTION}.${k}`));
}
