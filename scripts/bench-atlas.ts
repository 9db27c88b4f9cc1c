// Routing-atlas speed and memory (a benchmark, not a test): prints figures.
//   npx tsx scripts/bench-atlas.ts [--model demo] [--tokens 100000,1000000] [--rounds 5]
// 1. The capture pass (runAtlas: the engine's routeTexts, several items per call, and the aggregation) against the
//    engine's own prompt evaluation without capture on the same items, two ways: as `moe-lens generate` runs a
//    prompt (tokenize, generate with captureRouting false and maxTokens 0, one item per call), and routeTexts in the
//    atlas's batches with capture off. Rounds interleaved; the median and the range of each, and the ratios of the
//    medians (capture speed / plain speed). On the probe set and on items of ~500 tokens.
// 2. The probe set's atlas time, and for each --tokens size a JSONL corpus of probe texts joined into items of
//    ~500 tokens: its time and the atlas process's RSS (sampled while it runs and at the end).
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EngineClient } from '../extension/engine/client';
import { resolveModelArg } from '../extension/engine/demo-model';
import { bosToken } from '../extension/engine/route';
import { probeSetPath, readCorpus, type CorpusItem } from '../extension/routing/atlas-corpus';
import { BATCH_CHARS, BATCH_ITEMS, runAtlas } from '../extension/routing/atlas-run';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const modelPath = resolveModelArg(arg('model', 'demo'));
const sizes = arg('tokens', '100000').split(',').filter(Boolean).map(Number);
const rounds = Number(arg('rounds', '5'));
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const range = (values: number[]) => `${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)}`;

async function main(): Promise<void> {
  const engine = new EngineClient({ log: (level, message) => level === 'error' && console.error(`[engine] ${message}`) });
  try {
    const info = await engine.load({ modelPath });
    console.log(`model ${info.name}, context ${info.contextSize}, ${info.routing?.experts} experts, top-${info.routing?.expertsPerToken}`);
    const items: CorpusItem[] = [];
    for await (const entry of readCorpus([probeSetPath()])) if ('item' in entry) items.push(entry.item);
    const max = info.contextSize - 2;
    const bos = await bosToken(engine);

    /** Per round: one item per generate call, then routeTexts without capture in the atlas's batches, then the atlas. */
    const compare = async (what: string, list: CorpusItem[]) => {
      const times: Record<'generate' | 'batched' | 'atlas', number[]> = { generate: [], batched: [], atlas: [] };
      let tokens = 0;
      async function* entries() {
        for (const item of list) yield { item };
      }
      const batches: string[][] = [[]];
      let chars = 0;
      for (const item of list) {
        batches[batches.length - 1].push(item.text);
        chars += Math.min(item.text.length, max * 16);
        if (batches[batches.length - 1].length >= BATCH_ITEMS || chars >= BATCH_CHARS) {
          batches.push([]);
          chars = 0;
        }
      }
      for (let round = 0; round < rounds; round++) {
        let start = performance.now();
        tokens = 0;
        for (const item of list) {
          const ids = (await engine.tokenize(item.text)).slice(0, max);
          tokens += ids.length;
          await engine.generate({ input: { kind: 'tokens', ids: bos >= 0 ? [bos, ...ids] : ids }, sampling: { maxTokens: 0 }, captureRouting: false, reuseCache: false });
        }
        times.generate.push(performance.now() - start);
        start = performance.now();
        for (const texts of batches) if (texts.length) await engine.routeTexts({ texts, capture: false });
        times.batched.push(performance.now() - start);
        const result = await runAtlas(engine, entries(), { permutations: 0 });
        if (result.tokens !== tokens) throw new Error(`the atlas counted ${result.tokens} tokens, the plain pass ${tokens}`);
        times.atlas.push(result.ms);
      }
      const speed = (ms: number) => (tokens * 1000) / ms;
      const line = (name: keyof typeof times) => `${median(times[name]).toFixed(0)} ms (${range(times[name])}; ${speed(median(times[name])).toFixed(0)} tok/s)`;
      console.log(
        `${what} (${list.length} items, ${tokens} tokens), medians of ${rounds} interleaved rounds: without capture, one generate per item ${line('generate')}, ` +
          `routeTexts in batches ${line('batched')}; atlas capture pass ${line('atlas')}; ratio ${(median(times.generate) / median(times.atlas)).toFixed(3)} ` +
          `against generate, ${(median(times.batched) / median(times.atlas)).toFixed(3)} against the batched evaluation`,
      );
      return tokens;
    };
    const tokens = await compare('probe set', items);
    const long = Array.from({ length: 12 }, (_, n) => {
      let text = '';
      for (let j = 0; text.length < 2000; j++) text += items[(n * 7 + j) % items.length].text + '\n';
      return { ...items[n % items.length], id: `long${n}`, text };
    });
    await compare('items of ~500 tokens', long);
    const withPermutations = performance.now();
    await runAtlas(engine, readCorpus([probeSetPath()]), { permutations: 200 });
    console.log(`probe-set atlas with 200 permutations: ${(performance.now() - withPermutations).toFixed(0)} ms`);

    // Bigger corpora: the probe texts joined into ~2,000-character items, as many as the size needs.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-atlas-'));
    for (const size of sizes) {
      const file = path.join(dir, `corpus-${size}.jsonl`);
      const lines: string[] = [];
      const perToken = tokens / items.reduce((s, i) => s + i.text.length, 0);
      let chars = 0;
      for (let n = 0; chars * perToken < size; n++) {
        let text = '';
        for (let j = 0; text.length < 2000; j++) text += items[(n * 7 + j) % items.length].text + '\n';
        chars += Math.min(text.length, max / perToken);
        lines.push(JSON.stringify({ text, label: items[n % items.length].label, id: `b${n}` }));
      }
      writeFileSync(file, lines.join('\n') + '\n');
      let peak = process.memoryUsage().rss;
      const rssAt: string[] = [];
      let nextMark = 1e5;
      const start = performance.now();
      const result = await runAtlas(engine, readCorpus([file]), {
        permutations: 200,
        onProgress: (p) => {
          const rss = process.memoryUsage().rss;
          peak = Math.max(peak, rss);
          if (p.tokens >= nextMark) {
            rssAt.push(`${p.tokens} tokens: ${mib(rss)}`);
            nextMark += 1e5;
          }
        },
      });
      const wall = performance.now() - start;
      console.log(
        `corpus ${size}: ${result.items} items, ${result.tokens} tokens in ${(wall / 1000).toFixed(1)} s (${((result.tokens * 1000) / wall).toFixed(0)} tok/s with 200 permutations); ` +
          `atlas process RSS peak ${mib(peak)}, at ${rssAt.join(', ')}`,
      );
    }
  } finally {
    await engine.dispose();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
