// Shared helpers for tests that run the real engine on the generated GGUF fixtures.
import path from 'node:path';
import { EngineClient } from '../../extension/engine/client';
import type { GenerateRequest, GenerationResult, TokenFrame } from '../../extension/engine/types';

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
  tokens: { index: number; phase: TokenFrame['phase']; id: number; text: string; experts: number[][]; weights: number[][] }[];
  text: string;
}

export async function collect(engine: EngineClient, request: GenerateRequest, signal?: AbortSignal): Promise<Collected> {
  const frames: TokenFrame[] = [];
  const result = await engine.generate(request, { onFrame: (frame) => frames.push(frame), signal });
  const tokens: Collected['tokens'] = [];
  for (const f of frames) {
    for (let t = 0; t < f.ids.length; t++) {
      const experts: number[][] = [];
      const weights: number[][] = [];
      for (let l = 0; l < f.layers; l++) {
        const o = (t * f.layers + l) * f.k;
        experts.push(Array.from(f.experts.subarray(o, o + f.k)));
        weights.push(Array.from(f.weights.subarray(o, o + f.k)));
      }
      tokens.push({ index: f.firstIndex + t, phase: f.phase, id: f.ids[t], text: f.texts[t], experts, weights });
    }
  }
  return { result, frames, tokens, text: frames.map((f) => f.textDelta).join('') };
}

export const greedy = (maxTokens: number) => ({ temperature: 0, maxTokens, repeatPenalty: 1 });
