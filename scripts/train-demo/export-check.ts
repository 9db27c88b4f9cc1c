/**
 * The export check: llama.cpp (through node-llama-cpp) against PyTorch on the committed demo model. For every
 * prompt of models/demo/reference.json (written by export.py from the same F16 weights): llama.cpp's greedy
 * tokens, whether they equal PyTorch's, and the largest |Δ log-probability| over PyTorch's top-16 tokens at each
 * step that are not negligible (log p > −8). Used by the test (test/engine/demo-model.test.ts) and measure.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LlamaModel, Token } from 'node-llama-cpp';

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
  const context = await model.createContext({ contextSize: 512, threads: 1 });
  const tokens: number[] = [];
  let worst = 0;
  try {
    const seq = context.getSequence();
    for await (const r of seq.evaluateWithMetadata(p.promptIds as Token[], { probabilities: true }, { temperature: 0 })) {
      const step = p.steps[tokens.length];
      step.ids.forEach((id, rank) => {
        if (step.logprobs[rank] > -8) worst = Math.max(worst, Math.abs(Math.log(r.probabilities.get(id as Token) ?? 0) - step.logprobs[rank]));
      });
      tokens.push(r.token);
      if (tokens.length >= expected.length) break;
    }
  } finally {
    await context.dispose();
  }
  return { prompt: p.prompt, tokens: tokens.length, identical: JSON.stringify(tokens) === JSON.stringify(expected), llamaTokens: tokens, expected, maxLogprobDiff: worst };
}
