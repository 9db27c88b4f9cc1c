// Messages between an engine client and the engine process (Node IPC with 'advanced' serialization, so
// typed arrays travel as they are). Calls are generic over the method map (surface.ts): a method's name, the
// arguments before its control parameter, and the events its callbacks receive.
import type { EngineMethod } from './surface';
import type { EngineErrorCode, LogLevel } from './types';

export type ClientToEngine =
  | { type: 'call'; id: number; method: EngineMethod; args: unknown[] }
  | { type: 'cancel'; id: number };

export type EngineToClient =
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; code: EngineErrorCode; message: string }
  /** A callback's event (`onFrame`, `onProgress`, …) of call `id`. */
  | { type: 'event'; id: number; event: string; value: unknown }
  | { type: 'log'; level: LogLevel; message: string };
