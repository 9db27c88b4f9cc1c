// Routing-atlas speed and memory (a benchmark, not a test): prints figures.
//   npx tsx scripts/bench-atlas.ts [--model demo] [--tokens 100000,1000000] [--rounds 3]
// 1. The capture pass (runAtlas: tokenize, evaluate with routing capture, aggregate) against the engine's own prompt
//    evaluation without capture on the same items (tokenize, generate with captureRouting false, maxTokens 0):
//    both on the probe set, best of --rounds each, and the ratio (capture speed / plain speed).
// 2. The probe set's atlas time, and for each --tokens size a JSONL corpus of probe texts joined into items of
//    ~500 tokens: its time and the atlas process's RSS (sampled while it runs and at the end).
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EngineClient } from '../extension/engine/client';
import { resolveModelArg } from '../extension/engine/demo-model';
import { probeSetPath, readCorpus, type CorpusItem } from '../extension/routing/atlas-corpus';
import { bosToken, runAtlas } from '../extension/routing/atlas-run';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const modelPath = resolveModelArg(arg('model', 'demo'));
const sizes = arg('tokens', '100000').split(',').filter(Boolean).map(Number);
const rounds = Number(arg('rounds', '3'));
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

async function main(): Promise<void> {
  const engine = new EngineClient({ log: (level, message) => level === 'error' && console.error(`[engine] ${message}`) });
  try {
    const info = await engine.load({ modelPath });
    console.log(`model ${info.name}, context ${info.contextSize}, ${info.routing?.experts} experts, top-${info.routing?.expertsPerToken}`);
    const items: CorpusItem[] = [];
    for await (const entry of readCorpus([probeSetPath()])) if ('item' in entry) items.push(entry.item);
    const max = info.contextSize - 2;
    const bos = await bosToken(engine);

    /** Best of `rounds` for the same items: plain prompt evaluation, then the atlas capture pass (no permutations). */
    const compare = async (what: string, list: CorpusItem[]) => {
      let plainBest = Infinity;
      let captureBest = Infinity;
      let tokens = 0;
      async function* entries() {
        for (const item of list) yield { item };
      }
      for (let round = 0; round < rounds; round++) {
        const start = performance.now();
        tokens = 0;
        for (const item of list) {
          const ids = (await engine.tokenize(item.text)).slice(0, max);
          tokens += ids.length;
          await engine.generate({ input: { kind: 'tokens', ids: bos >= 0 ? [bos, ...ids] : ids }, sampling: { maxTokens: 0 }, captureRouting: false, reuseCache: false });
        }
        plainBest = Math.min(plainBest, performance.now() - start);
        const result = await runAtlas(engine, entries(), { permutations: 0 });
        captureBest = Math.min(captureBest, result.ms);
      }
      const plainSpeed = (tokens * 1000) / plainBest;
      const captureSpeed = (tokens * 1000) / captureBest;
      console.log(
        `${what} (${list.length} items, ${tokens} tokens), best of ${rounds}: prompt evaluation without capture ${plainBest.toFixed(0)} ms ` +
          `(${plainSpeed.toFixed(0)} tok/s); atlas capture pass ${captureBest.toFixed(0)} ms (${captureSpeed.toFixed(0)} tok/s); ratio ${(captureSpeed / plainSpeed).toFixed(3)}`,
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
