// Loads the MoE Lens native addon next to node-llama-cpp's llama.cpp (which must be loaded first).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { EngineError } from './errors';
import type { NativeIntervention } from './intervention';
import type { SamplingOptions, StopReason } from './types';

export interface NativeChunk {
  generated: boolean;
  firstIndex: number;
  ids: Int32Array;
  pieceBytes: Uint8Array;
  pieceOffsets: Int32Array;
  experts: Uint16Array;
  weights: Float32Array;
}

/** What session.cpp reports, as it writes it (mapped to EngineError codes and StopReason in local-engine.ts). */
export type NativeErrorCode = '' | 'context-overflow' | 'empty-prompt' | 'decode-failed' | 'bad-grammar';

export interface NativeGenerateResult {
  /** One line for users; empty on success. */
  error: string;
  errorCode: NativeErrorCode;
  stopReason: StopReason;
  promptTokens: number;
  evaluatedPromptTokens: number;
  generatedTokens: number;
  promptMs: number;
  generateMs: number;
  firstTokenMs: number;
  routingCaptured: boolean;
}

export interface NativeLoadParams {
  path: string;
  gpuLayers: number;
  cpuMoeLayers: number;
  contextSize: number;
  batchSize?: number;
  threads?: number;
  /** -1 auto, 0 off, 1 on. */
  flashAttention?: number;
  f32KvCache?: boolean;
  moeLayers: number[];
  /** k the capture reads: the model's, or the override. */
  expertsPerToken: number;
  /** Load with `<architecture>.expert_used_count` = expertsPerToken (llama.cpp's kv override). */
  overrideExpertsPerToken?: boolean;
  architecture?: string;
  /** RPC servers (`host:port`) whose devices take the model's layers, and the RPC backend library (with them). */
  rpcServers?: string[];
  rpcBackend?: string;
}

/** One generation, as one object (native/src/session.h GenerateParams). */
export interface NativeGenerateParams {
  tokens: Int32Array;
  sampling: NativeSampling;
  /** GBNF (root rule `root`) the generated text must match. */
  grammar?: string;
  capture: boolean;
  reusePrefix: boolean;
  emitIntervalMs: number;
  intervention?: NativeIntervention;
}

/** One evaluation from an empty context (native/src/session.h EvaluateParams). */
export interface NativeEvaluateParams {
  tokens: Int32Array;
  /** Log-probabilities of tokens[i + 1] for i in [firstOutput, n - 1). */
  firstOutput: number;
  capture: boolean;
  expertNorms?: boolean;
  intervention?: NativeIntervention;
}

export interface NativeEvaluateResult {
  error: string;
  errorCode: NativeErrorCode;
  aborted: boolean;
  ms: number;
  logprobs: Float64Array;
  /** [token][moeLayer][k], ordered by weight, with capture (empty otherwise). */
  experts: Uint16Array;
  weights: Float32Array;
  /** ||expert output|| in the same layout, with expertNorms. */
  norms: Float32Array;
}

/** Several sequences, each evaluated alone for its routing (native/src/session.h RouteParams). */
export interface NativeRouteParams {
  /** The sequences, concatenated. */
  tokens: Int32Array;
  lengths: Int32Array;
  /** Leading tokens of each sequence evaluated but not reported (the BOS). */
  skip: number;
  capture: boolean;
  intervention?: NativeIntervention;
}

export interface NativeRouteResult {
  error: string;
  errorCode: NativeErrorCode;
  aborted: boolean;
  ms: number;
  experts: Uint16Array;
  weights: Float32Array;
  pieceBytes: Uint8Array;
  pieceOffsets: Int32Array;
}

/** The addon takes the engine's sampling options as they are. */
export type NativeSampling = SamplingOptions;

export interface NativeSession {
  load(params: NativeLoadParams): Promise<{ error: string; log: string; contextSize: number; rpcDevices: NativeRpcDevice[] }>;
  cancelLoad(): void;
  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Int32Array;
  piece(id: number): Buffer;
  generate(params: NativeGenerateParams, onChunk: (chunk: NativeChunk) => void): Promise<NativeGenerateResult>;
  evaluate(params: NativeEvaluateParams): Promise<NativeEvaluateResult>;
  route(params: NativeRouteParams): Promise<NativeRouteResult>;
  abort(): void;
  dispose(): void;
}

export interface NativeAddon {
  init(release: string): void;
  NativeSession: new () => NativeSession;
  builtForRelease: string;
  /** Every device of these RPC servers (`host:port`, reachable), through the RPC backend library at `backendPath`. */
  rpcDevices(backendPath: string, servers: string[]): NativeRpcDevice[];
}

/** An RPC device as the addon reports it (native/src/rpc_devices.h). */
export interface NativeRpcDevice {
  name: string;
  endpoint: string;
  freeBytes: number;
  totalBytes: number;
}

/** The package root: two levels above dist/*.js or extension/engine/*.ts. */
export function packageRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

let addon: NativeAddon | undefined;

/** Call after node-llama-cpp's getLlama(): the addon binds to the libllama it loaded. */
export function loadNativeAddon(): NativeAddon {
  if (addon) return addon;
  const root = packageRoot();
  const file = path.join(root, 'native', 'build', 'Release', 'moe_lens.node');
  if (!existsSync(file)) throw new EngineError('internal', `the native addon is not built (${file}); run \`npm run build:native\``);
  const loaded = createRequire(__filename)(file) as NativeAddon;
  const infoFile = path.join(root, 'node_modules', 'node-llama-cpp', 'llama', 'llama.cpp.info.json');
  const release = existsSync(infoFile) ? (JSON.parse(readFileSync(infoFile, 'utf8')) as { tag: string }).tag : loaded.builtForRelease;
  if (release !== loaded.builtForRelease)
    throw new EngineError(
      'version-mismatch',
      `the native addon was built for llama.cpp ${loaded.builtForRelease} but node-llama-cpp ships ${release}; run \`npm run build:native\``,
    );
  try {
    loaded.init(loaded.builtForRelease);
  } catch (error) {
    const message = (error as Error).message;
    throw new EngineError(message.includes('mismatch') ? 'version-mismatch' : 'internal', message);
  }
  addon = loaded;
  return addon;
}
