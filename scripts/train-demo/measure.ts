/**
 * The demo model's figures for its model card, measured on the held-out slice with the real engine, beside the
 * random-weight demo (fixtures/random-demo.gguf, same shape class, random weights):
 *
 *   npx tsx scripts/train-demo/measure.ts --work .cache/train-demo --out models/demo/figures.json
 *
 * - the export check (llama.cpp's greedy tokens and log-probabilities against PyTorch's, export-check.ts);
 * - perplexity of held-out prose and code (llama.cpp through node-llama-cpp: each chunk of up to 512 tokens
 *   evaluated afresh, every token after the first scored), per token and in bits per byte (comparable across
 *   the two models' different vocabularies);
 * - text: 20 prose prompts, temperature 0.8 (the chat's other sampling defaults), 60 tokens each: the share of
 *   generated words in Debian's wamerican word list, and the share of answers the eval's repetition detector flags;
 * - routing of held-out prose and code (router capture): each expert's share of top-k slots per layer, the
 *   Jensen–Shannon divergence between prose's and code's per-layer expert distributions, top-1/top-k keep rates
 *   against their uniform baselines;
 * - decode and prompt speed (2 threads, capture on, 5 runs: median and range). Run on a quiet machine.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineClient } from '../../extension/engine/client';
import type { SamplingOptions, TokenFrame } from '../../extension/engine/types';
import { detectFailures } from '../../extension/evals/metrics/detectors';
import { RoutingAggregator } from '../../extension/routing/aggregate';
import { jensenShannon } from '../../extension/routing/math';
import { checkPrompt, readReference } from './export-check';

const ROOT = path.resolve(__dirname, '..', '..');
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const WORK = path.resolve(arg('--work', path.join(ROOT, '.cache', 'train-demo')));
const OUT = path.resolve(arg('--out', path.join(ROOT, 'models', 'demo', 'figures.json')));
const MODELS = { trained: path.join(ROOT, 'models', 'demo', 'demo-moe.gguf'), random: path.join(ROOT, 'fixtures', 'random-demo.gguf') };
const CHUNK = 512;
const CHUNKS = Number(arg('--chunks', '8'));

export const PROSE_PROMPTS = [
  'The history of the city begins',
  'When you open the file for the first time,',
  'In the morning the team met to discuss',
  'This chapter explains how the system',
  'The most important thing to remember is that',
  'After the meeting, she wrote a short note',
  'A good example of this problem is',
  'The results of the experiment show that',
  'Before you start, make sure that',
  'There are several reasons why people',
  'The following section describes the',
  'In most cases the easiest way to',
  'He looked at the old map and',
  'The main difference between the two',
  'If the server does not respond,',
  'Our goal in this guide is to',
  'Many users find it useful to',
  'The book was written at a time when',
  'To understand the problem, we first',
  'Finally, the report recommends that',
];

interface Doc { source: string; kind: 'prose' | 'code'; text: string }
const heldout: Doc[] = fs.readFileSync(path.join(WORK, 'corpus', 'heldout.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
/** The held-out documents of one kind as one text (what perplexity and routing are measured on). */
const heldoutText = (kind: Doc['kind']) => heldout.filter((d) => d.kind === kind).map((d) => d.text).join('\n\n');

async function perplexity(modelPath: string) {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, build: 'never' });
  const model = await llama.loadModel({ modelPath });
  const context = await model.createContext({ contextSize: CHUNK, threads: 2 });
  const seq = context.getSequence();
  const out: Record<string, { perplexity: number; bitsPerByte: number; tokens: number }> = {};
  try {
    for (const kind of ['prose', 'code'] as const) {
      const ids = model.tokenize(heldoutText(kind));
      let nats = 0;
      let scored = 0;
      let bytes = 0;
      for (let c = 0; c < CHUNKS && (c + 1) * (CHUNK - 1) <= ids.length; c++) {
        const chunk = [model.tokens.bos!, ...ids.slice(c * (CHUNK - 1), (c + 1) * (CHUNK - 1))];
        await seq.clearHistory();
        const results = await seq.controlledEvaluate(chunk.map((t, i) => (i < chunk.length - 1 ? [t, { generateNext: { probabilities: true } }] : t)));
        for (let i = 1; i < chunk.length; i++) {
          const p = results[i - 1]?.next?.probabilities?.get(chunk[i]) ?? 0;
          nats -= Math.log(Math.max(p, 1e-12));
          scored++;
          bytes += Buffer.byteLength(model.detokenize([chunk[i]]), 'utf8');
        }
      }
      out[kind] = { perplexity: Math.exp(nats / scored), bitsPerByte: nats / Math.LN2 / bytes, tokens: scored };
    }
  } finally {
    await context.dispose();
    await model.dispose();
  }
  return out;
}

const dictionary = new Set(fs.readFileSync('/usr/share/dict/american-english', 'utf8').split('\n').map((w) => w.trim().toLowerCase()).filter(Boolean));
const wordsOf = (text: string) => text.match(/[A-Za-z]+(?:'[a-z]+)?/g) ?? [];

async function text(engine: EngineClient) {
  const sampling: Partial<SamplingOptions> = { temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1.1, maxTokens: 60 };
  let known = 0;
  let total = 0;
  let repetitive = 0;
  const samples: { prompt: string; text: string }[] = [];
  for (const [i, prompt] of PROSE_PROMPTS.entries()) {
    const r = await engine.generate({ input: { kind: 'text', text: prompt }, sampling: { ...sampling, seed: 1000 + i }, captureRouting: false });
    const words = wordsOf(r.text);
    total += words.length;
    known += words.filter((w) => dictionary.has(w.toLowerCase()) || dictionary.has(w)).length;
    if (detectFailures(r.text).failures.some((f) => f.kind === 'repetition')) repetitive++;
    samples.push({ prompt, text: r.text });
  }
  return { dictionaryWordShare: known / total, words: total, repetitionFlagged: repetitive / PROSE_PROMPTS.length, samples };
}

async function routing(engine: EngineClient, tokenize: (t: string) => Promise<number[]>) {
  const info = engine.model!;
  if (!info.routing) throw new Error(`${info.name} is a dense model: it has no routing to measure`);
  const { experts, moeLayers } = info.routing;
  const agg: Record<'prose' | 'code', RoutingAggregator> = { prose: new RoutingAggregator({ experts }), code: new RoutingAggregator({ experts }) };
  for (const kind of ['prose', 'code'] as const) {
    const ids = await tokenize(heldoutText(kind));
    for (let c = 0; c < CHUNKS && (c + 1) * (CHUNK - 2) <= ids.length; c++) {
      const frames: TokenFrame[] = [];
      await engine.generate({ input: { kind: 'tokens', ids: [1, ...ids.slice(c * (CHUNK - 2), (c + 1) * (CHUNK - 2))] }, sampling: { temperature: 0, maxTokens: 1 }, captureRouting: true }, { onFrame: (f) => frames.push(f) });
      for (const f of frames) if (f.phase === 'prompt') agg[kind].add(f);
    }
  }
  const both = new RoutingAggregator({ experts }).merge(agg.prose).merge(agg.code);
  const s = both.summary();
  const prose = agg.prose.summary();
  const code = agg.code.summary();
  const perLayer = s.perLayer.map((l, i) => {
    const slots = l.topk.reduce((a, b) => a + b, 0);
    return {
      layer: moeLayers[i],
      expertShare: l.topk.map((n) => n / slots),
      minShare: Math.min(...l.topk) / slots,
      jsProseVsCode: jensenShannon(prose.perLayer[i].topk, code.perLayer[i].topk),
    };
  });
  return {
    tokens: s.tokens,
    perLayer,
    minExpertShare: Math.min(...perLayer.map((l) => l.minShare)),
    meanJsProseVsCode: perLayer.reduce((a, l) => a + l.jsProseVsCode, 0) / perLayer.length,
    keepTop1: s.mean.keepTop1,
    keepSet: s.mean.keepSet,
    baselines: s.baselines,
  };
}

async function speed(engine: EngineClient) {
  const runs: { decode: number; prompt: number }[] = [];
  const prompt = heldout.find((d) => d.kind === 'prose')!.text.slice(0, 1200);
  for (let i = 0; i < 5; i++) {
    const r = await engine.generate({ input: { kind: 'text', text: prompt }, sampling: { temperature: 0, maxTokens: 128, repeatPenalty: 1 }, captureRouting: true });
    runs.push({ decode: r.generatedTokensPerSecond, prompt: r.promptTokensPerSecond });
  }
  const stat = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
  };
  return { threads: 2, runs: runs.length, decodeTokensPerSecond: stat(runs.map((r) => r.decode)), promptTokensPerSecond: stat(runs.map((r) => r.prompt)) };
}

async function measure(modelPath: string, withSpeed: boolean) {
  const engine = new EngineClient({ log: (level, m) => level === 'error' && console.error(m) });
  try {
    await engine.load({ modelPath, contextSize: CHUNK, threads: 2 });
    const r = {
      model: path.relative(ROOT, modelPath),
      perplexity: await perplexity(modelPath),
      text: await text(engine),
      routing: await routing(engine, (t) => engine.tokenize(t)),
      ...(withSpeed ? { speed: await speed(engine) } : {}),
    };
    console.error(`${r.model}: ppl prose ${r.perplexity.prose.perplexity.toFixed(1)}, code ${r.perplexity.code.perplexity.toFixed(1)}; words ${(r.text.dictionaryWordShare * 100).toFixed(1)} %; JS ${r.routing.meanJsProseVsCode.toFixed(3)}`);
    return r;
  } finally {
    await engine.dispose();
  }
}

/** The export check (as `npm test` runs it), for the model card. */
async function exportCheck() {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, build: 'never' });
  const model = await llama.loadModel({ modelPath: MODELS.trained });
  try {
    const prompts = [];
    for (const p of readReference(path.dirname(MODELS.trained))) {
      const { llamaTokens: _l, expected: _e, ...check } = await checkPrompt(model, p);
      prompts.push(check);
    }
    return { prompts, identical: prompts.every((p) => p.identical), maxLogprobDiff: Math.max(...prompts.map((p) => p.maxLogprobDiff)) };
  } finally {
    await model.dispose();
  }
}

async function main(): Promise<void> {
  const figures = { measuredAt: new Date().toISOString(), exportCheck: await exportCheck(), trained: await measure(MODELS.trained, true), random: await measure(MODELS.random, false) };
  fs.writeFileSync(OUT, JSON.stringify(figures, null, 1) + '\n');
  console.error(`wrote ${path.relative(ROOT, OUT)}`);
}

void main();
