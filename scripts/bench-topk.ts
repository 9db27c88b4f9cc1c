// Top-k speed/quality benchmark (not a test): decode speed of a model at several experts-per-token values
// (llama.cpp's expert_used_count override), interleaved in one process, plus perplexity on a text at each.
//
//   npx tsx scripts/bench-topk.ts [--model demo] [--k 1,2] [--runs 7] [--tokens 128] [--text FILE] [--threads 2]
//
// Prints, per k: decode tok/s median and range over the interleaved runs, prompt tok/s median, and the
// perplexity (llama-perplexity's definition, context = the model's) of the text. Run on a quiet machine:
// llama.cpp's threads spin, and any other load makes 2-thread runs erratic.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { resolveModelArg } from '../extension/engine/demo-model';
import { LocalEngine } from '../extension/engine/local-engine';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'demo' },
    k: { type: 'string', default: '1,2' },
    runs: { type: 'string', default: '7' },
    tokens: { type: 'string', default: '128' },
    text: { type: 'string' },
    threads: { type: 'string' },
  },
});
const ks = values.k!.split(',').map(Number);
const runs = Math.max(3, Number(values.runs));
const maxTokens = Number(values.tokens);
const PROMPT = 'The history of the city begins';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const modelPath = resolveModelArg(values.model!);
  const engines = new Map<number, LocalEngine>();
  for (const k of ks) {
    const engine = new LocalEngine();
    await engine.load({ modelPath, expertsPerToken: k, threads: values.threads ? Number(values.threads) : undefined });
    engines.set(k, engine);
  }
  const decode = new Map(ks.map((k) => [k, [] as number[]]));
  const prompt = new Map(ks.map((k) => [k, [] as number[]]));
  for (let i = 0; i < runs; i++)
    for (const k of i % 2 ? [...ks].reverse() : ks) {
      const r = await engines.get(k)!.generate({
        input: { kind: 'text', text: PROMPT },
        sampling: { temperature: 0, maxTokens, repeatPenalty: 1 },
        captureRouting: false,
        reuseCache: false,
      });
      decode.get(k)!.push(r.generatedTokensPerSecond);
      prompt.get(k)!.push(r.promptTokensPerSecond);
    }
  const text = values.text ? readFileSync(values.text, 'utf8') : undefined;
  for (const k of ks) {
    const d = decode.get(k)!;
    const ppl = text ? (await engines.get(k)!.perplexity({ text })).perplexity : undefined;
    console.log(
      `top-${k}: decode ${median(d).toFixed(1)} tok/s (range ${Math.min(...d).toFixed(1)}–${Math.max(...d).toFixed(1)}, ${runs} interleaved runs of ${maxTokens} tokens), ` +
        `prompt ${median(prompt.get(k)!).toFixed(0)} tok/s${ppl !== undefined ? `, perplexity ${ppl.toFixed(4)}` : ''}`,
    );
  }
  for (const engine of engines.values()) await engine.dispose();
}

void main();
