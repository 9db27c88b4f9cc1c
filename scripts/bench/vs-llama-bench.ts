// `npm run bench -- --vs-llama-bench`: the engine beside llama.cpp's own llama-bench, in one run, on the same
// model and thread count (not a test: it prints figures).
//
// Per round (rounds interleaved, so machine load hits every runner alike): the engine's decode (tgN: greedy,
// N tokens after a short prompt) and prompt (ppM: M tokens, one generated) with router capture on and off, then
// one `llama-bench -r 1` for ppM and tgN. Medians, min–max over rounds, and per-round ratios (their spread shows
// whether a gap is real). Then decode bytes per token × tok/s against this machine's memory read bandwidth
// (scripts/bench/membw.c), and, on a 152k-vocabulary bench model, the prompt's lm_head cost with capture on:
// every captured prompt token is an output; the engine skips those rows' lm_head (MOE_LENS_ALL_PROMPT_LOGITS=1
// restores it for the comparison).
//
// llama-bench and membw are built once into the tools cache (scripts/llama-tools.mjs).
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { LocalEngine } from '../../extension/engine/local-engine';
import { modelFacts, readModelFile } from '../../extension/engine/model-file';
import { binDir, buildTools, toolsDir } from '../llama-tools.mjs';
import { ensureFixtures, fixturePath } from '../fixtures/generate';

export interface VsLlamaBenchOptions {
  model?: string;
  vocabModel?: string;
  threads?: number;
  rounds: number;
  genTokens: number;
  promptTokens: number;
  contextSize: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const range = (xs: number[], digits = 1) => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;

function benchModel(given: string | undefined, name: string): string {
  if (given) return path.resolve(given);
  const file = fixturePath(name);
  if (!existsSync(file)) {
    console.error(`generating fixtures/${name}.gguf ...`);
    ensureFixtures({ bench: true, only: [name] });
  }
  return file;
}

/** scripts/bench/membw.c compiled into the tools cache (again when the source is newer). */
function membw(): string {
  const source = path.join(__dirname, 'membw.c');
  const binary = path.join(toolsDir(), 'membw');
  if (!existsSync(binary) || statSync(binary).mtimeMs < statSync(source).mtimeMs)
    execFileSync('cc', ['-O3', '-march=native', '-pthread', source, '-o', binary], { stdio: 'inherit' });
  return binary;
}

function bandwidth(threads: number): number {
  const out = execFileSync(membw(), [String(threads), '1024', '5'], { encoding: 'utf8' });
  return Number(out.trim().split(/\s+/)[0]);
}

interface LlamaBenchRow {
  n_prompt: number;
  n_gen: number;
  avg_ts: number;
}

function llamaBench(model: string, threads: number, opts: VsLlamaBenchOptions): { pp: number; tg: number } {
  const bin = binDir();
  const out = execFileSync(
    path.join(bin, 'llama-bench'),
    ['-m', model, '-t', String(threads), '-p', String(opts.promptTokens), '-n', String(opts.genTokens), '-r', '1', '-o', 'json'],
    { encoding: 'utf8', env: { ...process.env, LD_LIBRARY_PATH: bin }, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 24 },
  );
  const rows = JSON.parse(out) as LlamaBenchRow[];
  const pp = rows.find((r) => r.n_prompt > 0 && r.n_gen === 0)?.avg_ts ?? NaN;
  const tg = rows.find((r) => r.n_gen > 0 && r.n_prompt === 0)?.avg_ts ?? NaN;
  return { pp, tg };
}

/** Deterministic prompt ids: ordinary vocabulary pieces after BOS (the bench models share one vocabulary). */
const promptIds = (n: number) => [1, ...Array.from({ length: n - 1 }, (_, i) => 300 + ((i * 37) % 700))];

async function engineDecode(engine: LocalEngine, capture: boolean, opts: VsLlamaBenchOptions) {
  const r = await engine.generate({
    input: { kind: 'tokens', ids: promptIds(16) },
    sampling: { temperature: 0, maxTokens: opts.genTokens, repeatPenalty: 1 },
    captureRouting: capture,
    reuseCache: false,
  });
  return { tps: r.generatedTokensPerSecond, tokens: r.generatedTokens };
}

async function enginePrompt(engine: LocalEngine, capture: boolean, n: number) {
  const r = await engine.generate({
    input: { kind: 'tokens', ids: promptIds(n) },
    sampling: { temperature: 0, maxTokens: 1, repeatPenalty: 1 },
    captureRouting: capture,
    reuseCache: false,
  });
  return r.promptTokensPerSecond;
}

async function loadEngine(modelPath: string, threads: number, contextSize: number, allPromptLogits = false): Promise<LocalEngine> {
  const engine = new LocalEngine();
  if (allPromptLogits) process.env.MOE_LENS_ALL_PROMPT_LOGITS = '1';
  try {
    await engine.load({ modelPath, threads, contextSize });
  } finally {
    if (allPromptLogits) delete process.env.MOE_LENS_ALL_PROMPT_LOGITS;
  }
  return engine;
}

export async function vsLlamaBench(opts: VsLlamaBenchOptions): Promise<void> {
  buildTools(['llama-bench']);
  const model = benchModel(opts.model, 'bench-moe');
  const nlc = await import('node-llama-cpp');
  const llama = await nlc.getLlama({ gpu: process.env.MOE_LENS_GPU === 'off' ? false : 'auto', logLevel: nlc.LlamaLogLevel.error });
  const threads = opts.threads ?? llama.cpuMathCores;
  const facts = modelFacts(await readModelFile(model, nlc));
  const pp = `pp${opts.promptTokens}`;
  const tg = `tg${opts.genTokens}`;
  const contextSize = Math.max(opts.contextSize, opts.promptTokens + 8, opts.genTokens + 32);

  const engine = await loadEngine(model, threads, contextSize);
  const info = engine.model!;
  console.log(
    `model: ${info.name} (${path.basename(model)}) — ${info.layers} layers, ${info.routing?.experts ?? 0} experts, top-${info.routing?.expertsPerToken ?? 0}, ` +
      `vocabulary ${info.vocabSize}, ${(info.activeParams / 1e6).toFixed(0)} M active params, backend ${info.placement.backend}; ` +
      `${threads} threads, ${opts.rounds} interleaved rounds`,
  );
  // Warm-up: page the weights in, and the first captured decode (which learns the router's final node).
  await engineDecode(engine, true, { ...opts, genTokens: 4 });
  await enginePrompt(engine, true, 32);

  const series: Record<string, number[]> = {};
  const add = (name: string, value: number) => (series[name] ??= []).push(value);
  const tokensSeen: number[] = [];
  for (let round = 0; round < opts.rounds; round++) {
    const on = await engineDecode(engine, true, opts);
    const off = await engineDecode(engine, false, opts);
    tokensSeen.push(on.tokens, off.tokens);
    add(`engine ${tg}, capture on`, on.tps);
    add(`engine ${tg}, capture off`, off.tps);
    add(`engine ${pp}, capture on`, await enginePrompt(engine, true, opts.promptTokens));
    add(`engine ${pp}, capture off`, await enginePrompt(engine, false, opts.promptTokens));
    const lb = llamaBench(model, threads, opts);
    add(`llama-bench ${tg}`, lb.tg);
    add(`llama-bench ${pp}`, lb.pp);
    process.stderr.write(`round ${round + 1}/${opts.rounds} done\n`);
  }
  await engine.dispose();

  console.log(`\n| runner | median tok/s | min–max over rounds |`);
  console.log('|---|---|---|');
  for (const [name, xs] of Object.entries(series)) console.log(`| ${name} | ${median(xs).toFixed(1)} | ${range(xs)} |`);
  if (tokensSeen.some((n) => n !== opts.genTokens)) console.log(`\n(decode runs generated ${range(tokensSeen, 0)} tokens: the model stopped early)`);

  const ratio = (a: string, b: string) => series[a].map((x, i) => x / series[b][i]);
  const ratios: [string, number[]][] = [
    [`engine ÷ llama-bench, ${tg}, capture off`, ratio(`engine ${tg}, capture off`, `llama-bench ${tg}`)],
    [`engine ÷ llama-bench, ${tg}, capture on`, ratio(`engine ${tg}, capture on`, `llama-bench ${tg}`)],
    [`engine ÷ llama-bench, ${pp}, capture off`, ratio(`engine ${pp}, capture off`, `llama-bench ${pp}`)],
    [`engine ÷ llama-bench, ${pp}, capture on`, ratio(`engine ${pp}, capture on`, `llama-bench ${pp}`)],
    [`capture on ÷ off, ${tg}`, ratio(`engine ${tg}, capture on`, `engine ${tg}, capture off`)],
    [`capture on ÷ off, ${pp}`, ratio(`engine ${pp}, capture on`, `engine ${pp}, capture off`)],
  ];
  console.log(`\n| ratio (per round) | median | min–max |`);
  console.log('|---|---|---|');
  for (const [name, xs] of ratios) console.log(`| ${name} | ${median(xs).toFixed(3)} | ${range(xs, 3)} |`);

  const bw = bandwidth(threads);
  const bw1 = threads === 1 ? bw : bandwidth(1);
  const perToken = facts.decodeBytesPerToken;
  console.log(`\nmemory read bandwidth (scripts/bench/membw.c, 1 GiB, best of 5): ${bw.toFixed(1)} GB/s with ${threads} threads, ${bw1.toFixed(1)} GB/s with 1`);
  console.log(`decode reads ${(perToken / 1e6).toFixed(0)} MB of weights per token (experts at top-${facts.expertsPerToken} of ${facts.experts}):`);
  for (const name of [`engine ${tg}, capture off`, `engine ${tg}, capture on`, `llama-bench ${tg}`]) {
    const gbs = (perToken * median(series[name])) / 1e9;
    console.log(`  ${name}: ${gbs.toFixed(1)} GB/s = ${((100 * gbs) / bw).toFixed(0)} % of the measured bandwidth`);
  }

  // The prompt's lm_head with capture on, on a large vocabulary.
  const vocabModel = benchModel(opts.vocabModel, 'bench-moe-150k');
  const cut = await loadEngine(vocabModel, threads, contextSize);
  const full = await loadEngine(vocabModel, threads, contextSize, true);
  console.log(`\nprompt ${pp} with capture on, ${path.basename(vocabModel)} (vocabulary ${cut.model!.vocabSize}), ${opts.rounds} interleaved rounds:`);
  for (const e of [cut, full]) await enginePrompt(e, true, 32);
  const v: Record<string, number[]> = { skip: [], all: [], off: [] };
  for (let round = 0; round < opts.rounds; round++) {
    v.skip.push(await enginePrompt(cut, true, opts.promptTokens));
    v.all.push(await enginePrompt(full, true, opts.promptTokens));
    v.off.push(await enginePrompt(cut, false, opts.promptTokens));
  }
  await cut.dispose();
  await full.dispose();
  const cost = v.all.map((x, i) => v.skip[i] / x - 1);
  console.log(`| prompt, capture on, lm_head skipped (the engine) | ${median(v.skip).toFixed(1)} tok/s | ${range(v.skip)} |`);
  console.log(`| prompt, capture on, lm_head for every token | ${median(v.all).toFixed(1)} tok/s | ${range(v.all)} |`);
  console.log(`| prompt, capture off | ${median(v.off).toFixed(1)} tok/s | ${range(v.off)} |`);
  console.log(`the lm_head for every prompt token costs ${(100 * median(cost)).toFixed(1)} % (per round ${range(cost.map((c) => 100 * c))} %) — skipped`);
  await llama.dispose();
}
