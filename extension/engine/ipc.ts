// Messages between an engine client and the engine process (Node IPC with 'advanced' serialization, so
// typed arrays travel as they are).
import type { EngineErrorCode, GenerateRequest, GenerateInput, LoadOptions, TokenFrame } from './types';

export type EngineCall =
  | { method: 'inspect'; options: LoadOptions }
  | { method: 'load'; options: LoadOptions }
  | { method: 'unload' }
  | { method: 'tokenize'; text: string }
  | { method: 'detokenize'; ids: number[] }
  | { method: 'countTokens'; input: GenerateInput }
  | { method: 'generate'; request: GenerateRequest };

export type ClientToEngine =
  | { type: 'call'; id: number; call: EngineCall }
  | { type: 'cancel'; id: number };

export type EngineToClient =
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; code: EngineErrorCode; message: string }
  | { type: 'frame'; id: number; frame: TokenFrame }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string };
