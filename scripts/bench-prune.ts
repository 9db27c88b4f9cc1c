// Expert-pruning benchmark (not a test): figures for the README's "Shrinking a model".
//
//   npx tsx scripts/bench-prune.ts [--model demo] [--runs 7] [--calibrate docs/evals.md] [--text README.md]
//                                  [--context 512] [--seeds 5]
//
// 1. Throughput: writing a pruned copy (2 experts per layer removed; the whole input read and hashed) against a
//    plain copy of the same file (16 MiB reads and writes, and fs.copyFile), each ending with fsync, interleaved,
//    medians over the runs, in MB of input per second (page cache warm: all read the same file).
// 2. Quality: perplexity on --text (held out: the experts are scored on --calibrate) and file size after dropping 2
//    and 4 of the experts per layer by REAP, by routed frequency (one capture pass over the calibration text for both)
//    and at random (the baseline a criterion must beat: mean and range over --seeds seeds).
import { copyFile, open, readFile, rm } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { resolveModelArg } from '../extension/engine/demo-model';
import { LocalEngine } from '../extension/engine/local-engine';
import { chooseRemoval, scoreExperts, type PruneCriterion } from '../extension/engine/prune-plan';
import { moeShape, planFromSpec, readGgufLayout, writePruned } from '../extension/engine/prune';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'demo' },
    runs: { type: 'string', default: '7' },
    calibrate: { type: 'string', default: 'docs/evals.md' },
    text: { type: 'string', default: 'README.md' },
    context: { type: 'string', default: '512' },
    seeds: { type: 'string', default: '5' },
  },
});
const model = resolveModelArg(values.model!);
const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-prune-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const CHUNK = 16 << 20;

async function streamCopy(from: string, to: string): Promise<void> {
  const input = await open(from, 'r');
  const output = await open(to, 'w');
  const buf = Buffer.alloc(CHUNK);
  for (let pos = 0; ; ) {
    const { bytesRead } = await input.read(buf, 0, CHUNK, pos);
    if (bytesRead === 0) break;
    await output.write(buf, 0, bytesRead, pos);
    pos += bytesRead;
  }
  await output.sync();
  await Promise.all([input.close(), output.close()]);
}

async function kernelCopy(from: string, to: string): Promise<void> {
  await copyFile(from, to);
  const fh = await open(to, 'r+');
  await fh.sync();
  await fh.close();
}

async function throughput(): Promise<void> {
  const layout = await readGgufLayout(model);
  const plan = planFromSpec(moeShape(layout), '*:0,1');
  const out = path.join(dir, 'out.gguf');
  const ways: [string, () => Promise<unknown>][] = [
    ['prune (2 experts per layer)', () => writePruned(model, out, plan)],
    ['plain copy, 16 MiB reads/writes', () => streamCopy(model, out)],
    ['plain copy, fs.copyFile', () => kernelCopy(model, out)],
  ];
  const times = ways.map(() => [] as number[]);
  for (let r = 0; r < Number(values.runs); r++)
    for (const [i, [, run]] of ways.entries()) {
      await rm(out, { force: true });
      const start = performance.now();
      await run();
      times[i].push(performance.now() - start);
    }
  console.log(`\nthroughput on ${path.basename(model)} (${(layout.fileSize / 1e6).toFixed(1)} MB), median of ${values.runs} interleaved runs:`);
  const mbps = (ms: number) => layout.fileSize / 1e6 / (ms / 1000);
  for (const [i, [name]] of ways.entries()) console.log(`  ${name.padEnd(34)} ${mbps(median(times[i])).toFixed(0).padStart(6)} MB/s  (${median(times[i]).toFixed(1)} ms)`);
  console.log(`  prune / 16 MiB copy: ${(median(times[1]) / median(times[0])).toFixed(2)}×, prune / fs.copyFile: ${(median(times[2]) / median(times[0])).toFixed(2)}×`);
}

async function quality(): Promise<void> {
  const context = Number(values.context);
  const calibrate = await readFile(values.calibrate!, 'utf8');
  const text = await readFile(values.text!, 'utf8');
  const layout = await readGgufLayout(model);
  const shape = moeShape(layout);
  const engine = new LocalEngine();
  const perplexityOf = async (file: string) => {
    await engine.load({ modelPath: file, contextSize: context });
    return (await engine.perplexity({ text, context })).perplexity;
  };
  const rows: { drop: number; by: string; perplexity: number; low?: number; high?: number; bytes: number }[] = [];
  rows.push({ drop: 0, by: 'original', perplexity: await perplexityOf(model), bytes: layout.fileSize });
  await engine.load({ modelPath: model, contextSize: context });
  const scores: Partial<Record<PruneCriterion, number[][]>> = {};
  for (const by of ['reap', 'frequency'] as const) scores[by] = (await scoreExperts(engine, by, { text: calibrate, context })).scores;
  for (const drop of [2, 4]) {
    for (const by of ['reap', 'frequency'] as const) {
      const out = path.join(dir, `${by}-${drop}.gguf`);
      const written = await writePruned(model, out, chooseRemoval(shape, scores[by]!, drop));
      rows.push({ drop, by, perplexity: await perplexityOf(out), bytes: written.outputBytes });
    }
    const random: number[] = [];
    let bytes = 0;
    for (let seed = 1; seed <= Number(values.seeds); seed++) {
      await engine.load({ modelPath: model, contextSize: context });
      const out = path.join(dir, `random-${drop}-${seed}.gguf`);
      const written = await writePruned(model, out, chooseRemoval(shape, (await scoreExperts(engine, 'random', { seed })).scores, drop));
      random.push(await perplexityOf(out));
      bytes = written.outputBytes;
    }
    rows.push({ drop, by: `random (${random.length} seeds)`, perplexity: random.reduce((a, b) => a + b, 0) / random.length, low: Math.min(...random), high: Math.max(...random), bytes });
  }
  await engine.dispose();
  console.log(`\nquality on ${path.basename(model)}: experts scored on ${values.calibrate}, perplexity of ${values.text} (context ${context}):`);
  console.log(`  | experts dropped per layer | by | perplexity | size |`);
  console.log(`  |---|---|---|---|`);
  for (const r of rows)
    console.log(
      `  | ${r.drop} of ${shape.experts} | ${r.by} | ${r.perplexity.toFixed(2)}${r.low !== undefined ? ` (${r.low.toFixed(2)}–${r.high!.toFixed(2)})` : ''} | ${(r.bytes / 1e6).toFixed(1)} MB |`,
    );
  console.log(JSON.stringify({ model: path.basename(model), context, rows }));
}

(async () => {
  try {
    await throughput();
    await quality();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
