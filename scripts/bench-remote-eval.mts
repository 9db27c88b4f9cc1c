// Eval throughput against a real llama-server at concurrency 1 and 4 (the numbers in the README).
//
//   npx tsx scripts/bench-remote-eval.mts [--items 32] [--max-tokens 64] [--rounds 3] [--threads 1]
//
// Starts llama-server (built by scripts/llama-tools.mjs) on the demo model with 4 slots on 127.0.0.1 and a free
// port, runs the same chat suite of `items` short documents (greedy, 64 tokens per summary) at concurrency 1 and 4, interleaved for
// `rounds` rounds, each into a fresh output folder, and prints samples/min and generated tok/s per run and the
// median per concurrency. Benchmark on a quiet machine: llama.cpp's threads spin.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RemoteEngine } from '../extension/engine/remote-engine';
import { runEval } from '../extension/evals/runner';
import { loadSuite } from '../extension/evals/suite';
import { formatLoadTarget } from '../extension/engine/backends';
import type { RemoteLoadOptions } from '../extension/engine/types';
import { startLlamaServer } from '../test/remote/servers';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const items = arg('items', 32);
const maxTokens = arg('max-tokens', 64);
const rounds = arg('rounds', 3);
const threads = arg('threads', 1);

const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-remote-'));
const words = 'router expert token layer gate weight prompt answer cache context'.split(' ');
writeFileSync(
  path.join(dir, 'items.jsonl'),
  Array.from({ length: items }, (_, i) => JSON.stringify({ id: `doc-${i}`, document: Array.from({ length: 60 }, (_, w) => words[(i * 7 + w * 3) % words.length]).join(' '), summary: 'x' })).join('\n') + '\n',
);
writeFileSync(path.join(dir, 'suite.yaml'), ['name: bench', 'items: items.jsonl', 'mode: chat', 'variants:', '  - name: plain', '    template: "Summarize: {document}"', 'generation:', `  maxTokens: ${maxTokens}`, '  temperature: 0', '  seed: 1', ''].join('\n'));
const suite = await loadSuite(path.join(dir, 'suite.yaml'));

async function main(): Promise<void> {
const server = await startLlamaServer({ parallel: 4, slotContext: 512, threads });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results: Record<number, { spm: number; tps: number }[]> = { 1: [], 4: [] };
try {
  console.log(`llama-server ${server.url}, demo model, 4 slots, ${threads} threads; ${items} items × ${maxTokens} tokens; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (let round = 0; round < rounds; round++) {
    for (const concurrency of [1, 4]) {
      const remote: RemoteLoadOptions = { backend: 'remote', endpoint: server.url };
      const run = await runEval({ suite, models: [formatLoadTarget(remote)], modelOptions: () => remote, concurrency, engine: new RemoteEngine(), outDir: path.join(dir, `r${round}-c${concurrency}`), captureRouting: false });
      const t = run.info.throughput!;
      results[concurrency].push({ spm: t.samplesPerMinute, tps: t.generatedTokensPerSecond });
      console.log(`round ${round + 1} concurrency ${concurrency}: ${t.samples} samples in ${(t.wallMs / 1000).toFixed(1)} s = ${t.samplesPerMinute.toFixed(1)} samples/min, ${t.generatedTokensPerSecond.toFixed(1)} generated tok/s`);
    }
  }
  for (const c of [1, 4]) console.log(`median concurrency ${c}: ${median(results[c].map((r) => r.spm)).toFixed(1)} samples/min, ${median(results[c].map((r) => r.tps)).toFixed(1)} generated tok/s`);
  console.log(`concurrency 4 ÷ 1 (generated tok/s): ${(median(results[4].map((r) => r.tps)) / median(results[1].map((r) => r.tps))).toFixed(2)}; load average after ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
} finally {
  await server.kill();
  rmSync(dir, { recursive: true, force: true });
}
}

void main();
