// Shared helpers for tests that run the real engine on the generated GGUF fixtures.
import path from 'node:path';
import { EngineClient } from '../../extension/engine/client';
import type { GenerateRequest, GenerationResult, TokenFrame } from '../../extension/engine/types';
import { exportTokens, type JsonlToken } from '../../extension/routing/export';

export const ROOT = path.resolve(__dirname, '..', '..');
export const fixture = (name: string) => path.join(ROOT, 'fixtures', name);

export const MOE = fixture('moe-llama.gguf');
export const DENSE = fixture('dense-llama.gguf');
export const QWEN = fixture('moe-qwen2.gguf');

export function newEngine(): EngineClient {
  return new EngineClient({ log: (level, message) => level === 'error' && console.error(`[engine] ${message}`) });
}

export interface Collected {
  result: GenerationResult;
  frames: TokenFrame[];
  /** All tokens in order with their routing, [token][layer][rank]. */
  tokens: JsonlToken[];
  text: string;
}

export async function collect(engine: EngineClient, request: GenerateRequest, signal?: AbortSignal): Promise<Collected> {
  const frames: TokenFrame[] = [];
  const result = await engine.generate(request, { onFrame: (frame) => frames.push(frame), signal });
  // A TokenFrame is a RoutingBlock: the export's per-token unpacking serves here too.
  const tokens = [...exportTokens(frames)];
  return { result, frames, tokens, text: frames.map((f) => f.textDelta).join('') };
}

export const greedy = (maxTokens: number) => ({ temperature: 0, maxTokens, repeatPenalty: 1 });
