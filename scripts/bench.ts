// Decode-speed benchmark (not a test): on the bench MoE (32 layers, 8 experts, top-2), greedy decoding
// with the engine's router capture on, off, and node-llama-cpp's own LlamaChatSession on the same model,
// context, threads and prompt. Runs are interleaved in one process; medians and ratios are printed.
//
//   npm run bench                 (generates fixtures/bench-moe.gguf on first use)
//   npm run bench -- --runs 9 --tokens 128 --model path/to/model.gguf
//   npm run bench -- --vs-llama-bench [--rounds 5] [--tokens 128] [--prompt 512] [--threads N] [--model M] [--vocab-model M]
//                                 (beside llama.cpp's own llama-bench: scripts/bench/vs-llama-bench.ts)
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LocalEngine } from '../extension/engine/local-engine';
import { ensureFixtures, fixturePath } from './fixtures/generate';
import { vsLlamaBench } from './bench/vs-llama-bench';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    tokens: { type: 'string', default: '128' },
    context: { type: 'string', default: '1024' },
    model: { type: 'string' },
    'vs-llama-bench': { type: 'boolean', default: false },
    rounds: { type: 'string', default: '5' },
    prompt: { type: 'string', default: '512' },
    threads: { type: 'string' },
    'vocab-model': { type: 'string' },
  },
});
const runs = Math.max(5, Number(values.runs));
const maxTokens = Number(values.tokens);
const contextSize = Number(values.context);
const PROMPT = 'Explain how a mixture-of-experts router chooses experts for each token, and why it matters for speed.';

let modelPath = values.model;
if (!modelPath) {
  modelPath = fixturePath('bench-moe');
  if (!existsSync(modelPath)) {
    console.error('generating fixtures/bench-moe.gguf ...');
    ensureFixtures({ bench: true, only: ['bench-moe'] });
  }
}
modelPath = path.resolve(modelPath);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const engine = new LocalEngine();
  const info = await engine.load({ modelPath: modelPath!, contextSize });
  const nlc = await import('node-llama-cpp');
  const llama = await nlc.getLlama({ gpu: process.env.MOE_LENS_GPU === 'off' ? false : 'auto', logLevel: nlc.LlamaLogLevel.error });
  const threads = llama.cpuMathCores;
  const model = await llama.loadModel({ modelPath: modelPath! });
  const context = await model.createContext({ contextSize, threads, batchSize: 512 });

  console.log(
    `model: ${info.name} — ${info.layers} layers, ${info.routing?.experts ?? 0} experts, top-${info.routing?.expertsPerToken ?? 0}, ` +
      `${(info.totalParams / 1e6).toFixed(0)} M params (${(info.activeParams / 1e6).toFixed(0)} M active), backend ${info.placement.backend}, ` +
      `${threads} threads, context ${contextSize}, ${maxTokens} tokens, ${runs} interleaved runs`,
  );

  const engineRun = async (captureRouting: boolean) => {
    const result = await engine.generate({
      input: { kind: 'chat', messages: [{ role: 'user', content: PROMPT }] },
      sampling: { temperature: 0, maxTokens, repeatPenalty: 1 },
      captureRouting,
    });
    return { tps: result.generatedTokensPerSecond, tokens: result.generatedTokens };
  };

  const sessionRun = async () => {
    const sequence = context.getSequence();
    const session = new nlc.LlamaChatSession({ contextSequence: sequence });
    const times: number[] = [];
    let tokens = 0;
    await session.prompt(PROMPT, {
      temperature: 0,
      maxTokens,
      onToken: (chunk) => {
        tokens += chunk.length;
        times.push(performance.now());
      },
    });
    session.dispose();
    await sequence.dispose();
    // Same span as the engine's figure: from the first generated token to the last.
    const span = (times[times.length - 1] - times[0]) / 1000;
    return { tps: span > 0 ? (tokens - 1) / span : 0, tokens };
  };

  const results: Record<string, number[]> = { 'engine, capture on': [], 'engine, capture off': [], 'node-llama-cpp LlamaChatSession': [] };
  const tokenCounts: Record<string, number[]> = { 'engine, capture on': [], 'engine, capture off': [], 'node-llama-cpp LlamaChatSession': [] };
  await engineRun(true); // warm-up (and the router-node discovery decode)
  await sessionRun();
  for (let i = 0; i < runs; i++) {
    for (const [name, run] of [
      ['engine, capture on', () => engineRun(true)],
      ['engine, capture off', () => engineRun(false)],
      ['node-llama-cpp LlamaChatSession', sessionRun],
    ] as const) {
      const r = await run();
      results[name].push(r.tps);
      tokenCounts[name].push(r.tokens);
    }
    process.stderr.write(`run ${i + 1}/${runs} done\n`);
  }

  console.log('\n| runner | median decode tok/s | min | max | ms/token | tokens |');
  console.log('|---|---|---|---|---|---|');
  for (const [name, xs] of Object.entries(results)) {
    const m = median(xs);
    console.log(
      `| ${name} | ${m.toFixed(1)} | ${Math.min(...xs).toFixed(1)} | ${Math.max(...xs).toFixed(1)} | ${(1000 / m).toFixed(1)} | ${median(tokenCounts[name])} |`,
    );
  }
  const on = median(results['engine, capture on']);
  const off = median(results['engine, capture off']);
  const session = median(results['node-llama-cpp LlamaChatSession']);
  console.log(`\ncapture on ÷ capture off: ${(on / off).toFixed(3)}`);
  console.log(`engine (capture on) ÷ LlamaChatSession: ${(on / session).toFixed(3)}`);
  console.log(`engine (capture off) ÷ LlamaChatSession: ${(off / session).toFixed(3)}`);

  await context.dispose();
  await model.dispose();
  await engine.dispose();
}

const run = values['vs-llama-bench']
  ? () =>
      vsLlamaBench({
        model: values.model,
        vocabModel: values['vocab-model'],
        threads: values.threads ? Number(values.threads) : undefined,
        rounds: Math.max(1, Number(values.rounds)),
        genTokens: maxTokens,
        promptTokens: Number(values.prompt),
        contextSize,
      })
  : main;

run().catch((error) => {
  console.error(`bench: ${(error as Error).message}`);
  process.exitCode = 1;
});
