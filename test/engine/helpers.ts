// Shared helpers for tests that run the real engine on the generated GGUF fixtures.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { EngineClient } from '../../extension/engine/client';
import type { GenerateRequest, GenerationResult, TokenFrame } from '../../extension/engine/types';
import { exportTokens, type JsonlToken } from '../../extension/routing/export';

export const ROOT = path.resolve(__dirname, '..', '..');
export const fixture = (name: string) => path.join(ROOT, 'fixtures', name);
export const CLI = path.join(ROOT, 'bin', 'moe-lens.js');

export const MOE = fixture('moe-llama.gguf');
export const DENSE = fixture('dense-llama.gguf');
export const QWEN = fixture('moe-qwen2.gguf');
export const QWEN35 = fixture('moe-qwen35.gguf');

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

/** Runs one generation on an EngineClient or an in-process LocalEngine and gathers what it streamed. */
export async function collect(engine: Pick<EngineClient, 'generate'>, request: GenerateRequest, signal?: AbortSignal): Promise<Collected> {
  const frames: TokenFrame[] = [];
  const result = await engine.generate(request, { onFrame: (frame) => frames.push(frame), signal });
  // A TokenFrame is a RoutingBlock: the export's per-token unpacking serves here too.
  const tokens = [...exportTokens(frames)];
  return { result, frames, tokens, text: frames.map((f) => f.textDelta).join('') };
}

export const greedy = (maxTokens: number) => ({ temperature: 0, maxTokens, repeatPenalty: 1 });

/** `node bin/moe-lens.js ARGS` to completion (60 s limit); `code` is the exit status (0 on success). */
export function runCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

// node-llama-cpp's own greedy decoding lives with the fixture tools (the demo's export check uses it too).
export { llamaGreedy, type LlamaRun } from '../../scripts/fixtures/llama-greedy';
