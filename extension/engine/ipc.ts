// Messages between an engine client and the engine process (Node IPC with 'advanced' serialization, so
// typed arrays travel as they are).
import type {
  EngineErrorCode,
  GenerateInput,
  GenerateRequest,
  GenerationResult,
  GgufModelInfo,
  LocalLoadOptions,
  PerplexityProgress,
  PerplexityRequest,
  PerplexityResult,
  TokenFrame,
} from './types';

/** Every engine request and its response, declared once: the client, the process and their tests use this map. */
export interface EngineMethods {
  inspect: [{ options: LocalLoadOptions }, GgufModelInfo];
  load: [{ options: LocalLoadOptions }, GgufModelInfo];
  unload: [Record<never, never>, void];
  tokenize: [{ text: string }, number[]];
  detokenize: [{ ids: number[] }, string];
  countTokens: [{ input: GenerateInput }, number];
  generate: [{ request: GenerateRequest }, GenerationResult];
  perplexity: [{ request: PerplexityRequest }, PerplexityResult];
}
export type EngineMethod = keyof EngineMethods;
export type EngineCallOf<M extends EngineMethod> = { method: M } & EngineMethods[M][0];
export type EngineCall = { [M in EngineMethod]: EngineCallOf<M> }[EngineMethod];
export type EngineResult<M extends EngineMethod> = EngineMethods[M][1];

export type ClientToEngine =
  | { type: 'call'; id: number; call: EngineCall }
  | { type: 'cancel'; id: number };

export type EngineToClient =
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; code: EngineErrorCode; message: string }
  | { type: 'frame'; id: number; frame: TokenFrame }
  | { type: 'progress'; id: number; progress: PerplexityProgress }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string };
