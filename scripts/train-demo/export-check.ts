/**
 * The export check: llama.cpp (through node-llama-cpp) against PyTorch on the committed demo model. For every
 * prompt of models/demo/reference.json (written by export.py from the same F16 weights): llama.cpp's greedy
 * tokens, whether they equal PyTorch's, and the largest |Δ log-probability| over PyTorch's top-16 tokens at each
 * step that are not negligible (log p > −8). Used by the test (test/engine/demo-model.test.ts) and measure.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LlamaModel } from 'node-llama-cpp';
import { llamaGreedy } from '../fixtures/llama-greedy';

export interface ReferencePrompt {
  prompt: string;
  promptIds: number[];
  greedy: number[];
  text: string;
  steps: { ids: number[]; logprobs: number[] }[];
}

export interface PromptCheck {
  prompt: string;
  tokens: number;
  identical: boolean;
  llamaTokens: number[];
  /** PyTorch's greedy tokens, less a final EOS (which node-llama-cpp does not yield). */
  expected: number[];
  maxLogprobDiff: number;
}

export function readReference(dir: string): ReferencePrompt[] {
  return (JSON.parse(fs.readFileSync(path.join(dir, 'reference.json'), 'utf8')) as { prompts: ReferencePrompt[] }).prompts;
}

export async function checkPrompt(model: LlamaModel, p: ReferencePrompt): Promise<PromptCheck> {
  const expected = p.greedy.filter((t, j) => !(j === p.greedy.length - 1 && t === model.tokens.eos));
  const run = await llamaGreedy(model, p.promptIds, expected.length);
  let worst = 0;
  run.probabilities.forEach((probs, j) =>
    p.steps[j].ids.forEach((id, rank) => {
      if (p.steps[j].logprobs[rank] > -8) worst = Math.max(worst, Math.abs(Math.log(probs.get(id) ?? 0) - p.steps[j].logprobs[rank]));
    }),
  );
  return { prompt: p.prompt, tokens: run.tokens.length, identical: JSON.stringify(run.tokens) === JSON.stringify(expected), llamaTokens: run.tokens, expected, maxLogprobDiff: worst };
}
