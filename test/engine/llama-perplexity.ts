// llama.cpp's own `llama-perplexity` (built from the bundled source by scripts/llama-tools.mjs: call
// buildTools(['llama-perplexity']) in a beforeAll), as the reference the engine's perplexity is checked against.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { binDir } from '../../scripts/llama-tools.mjs';

function runLlamaPerplexity(model: string, textFile: string, context: number, chunks: number): Promise<number | string> {
  return new Promise((resolve) => {
    execFile(
      path.join(binDir(), 'llama-perplexity'),
      ['-m', model, '-f', textFile, '-c', String(context), '--chunks', String(chunks), '-t', '1'],
      { env: { ...process.env, LD_LIBRARY_PATH: binDir() }, timeout: 300_000, maxBuffer: 1 << 24 },
      (error, stdout, stderr) => {
        // "Final estimate: PPL = x", else the running estimate after the last chunk, "[N]x,", which is the same number.
        const match = /Final estimate: PPL = ([\d.]+)/.exec(stdout + stderr) ?? new RegExp(`\\[${chunks}\\]([\\d.]+)`).exec(stdout + stderr);
        resolve(match ? Number(match[1]) : `${error?.message ?? ''}\n${(stdout + stderr).slice(-2000)}`);
      },
    );
  });
}

/**
 * llama-perplexity's estimate. Its log goes through a background thread that the process does not wait for at exit,
 * so on a loaded machine the last lines (the estimate among them) are sometimes lost: it is run again, up to 3 times.
 */
export async function llamaPerplexity(model: string, textFile: string, context: number, chunks: number): Promise<number> {
  let last = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = await runLlamaPerplexity(model, textFile, context, chunks);
    if (typeof r === 'number') return r;
    last = r;
  }
  throw new Error(`llama-perplexity gave no estimate in 3 runs: ${last}`);
}
