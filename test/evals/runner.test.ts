import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FakeEngine } from '../fake-engine';
import { formatLoadTarget } from '../../extension/engine/backends';
import { runEval, loadRun, listRuns, compareRuns, loadRunItem, readSamples } from '../../extension/evals/runner';
import { DEFAULT_GENERATION, DEFAULT_LONG_INPUT, DEFAULT_METRICS } from '../../extension/evals/suite';
import { renderReport } from '../../extension/evals/aggregate';
import { progressText } from '../../extension/evals/progress';
import { formatProgress, runTable } from '../../extension/cli/eval-commands';
import type { RemoteLoadOptions } from '../../extension/engine/types';
import type { EvalItem, EvalProgress, EvalSuite, SampleRecord } from '../../extension/evals/types';

const root = mkdtempSync(path.join(tmpdir(), 'evals-runner-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const outDir = () => path.join(root, `run-${++counter}`);

const words = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}`).join(' ');

function item(id: string, document: string, references: string[] = []): EvalItem {
  return { id, title: `Title ${id}`, document, references, source: { file: 'mem.jsonl', line: 1 } };
}

function suite(overrides: Partial<EvalSuite> = {}): EvalSuite {
  return {
    name: 'mem',
    path: '',
    itemsFiles: [],
    items: [
      item('a', 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi', ['alpha beta gamma delta epsilon zeta']),
      item('b', 'the cat sat on the mat and looked at the dog for a long time', ['the cat sat on the mat']),
      item('c', 'one two three four five six seven eight nine ten eleven twelve thirteen', []),
    ],
    mode: 'chat',
    variants: [
      { name: 'plain', template: 'Summarize:\n\n{document}' },
      { name: 'intro', template: 'About {title}. Summarize:\n\n{document}' },
    ],
    generation: { ...DEFAULT_GENERATION, maxTokens: 64 },
    longInput: { ...DEFAULT_LONG_INPUT },
    metrics: { ...DEFAULT_METRICS },
    ...overrides,
  };
}

const samplesIn = async (dir: string) => (await readSamples(path.join(dir, 'samples.jsonl'))).samples;

describe('runner', () => {
  it('runs every model × variant × item, loads each model once and writes all files', async () => {
    const engine = new FakeEngine({ echoWords: 6 });
    const out = outDir();
    const progress: EvalProgress[] = [];
    const run = await runEval({ suite: suite(), models: ['/m/one.gguf', '/m/two.gguf'], outDir: out, engine, onProgress: (p) => progress.push(p) });

    expect(engine.loads.map((l) => formatLoadTarget(l))).toEqual(['/m/one.gguf', '/m/two.gguf']);
    expect(engine.unloads).toBe(2);
    expect(engine.disposed).toBe(false); // the caller's engine is left alone
    expect(run.info.status).toBe('completed');
    const samples = await samplesIn(out);
    expect(samples).toHaveLength(12);
    expect(new Set(samples.map((s) => s.key)).size).toBe(12);

    const a = samples.find((s) => s.itemId === 'a' && s.variant === 'plain' && s.model === '/m/one.gguf')!;
    expect(a.output).toBe('alpha beta gamma delta epsilon zeta');
    expect(a.metrics!.rouge!.rouge1.fmeasure).toBe(1);
    expect(a.metrics!.summaryTokens).toBe(6);
    expect(a.metrics!.compression).toBeCloseTo(14 / 6, 12);
    expect(a.failures).toEqual([]);
    expect(a.speed).toMatchObject({ timeToFirstTokenMs: 20, promptTokensPerSecond: 1000, generatedTokensPerSecond: 50, stopReason: 'eos' });
    expect(a.strategy!.strategy).toBe('none');
    expect(a.routing!.layers).toBe(2);
    expect(a.routing!.tokens).toBe(6);
    expect(a.routing!.sameTop1Baseline).toBeCloseTo(1 / 8, 12);
    for (const e of a.routing!.loadEntropy) {
      expect(e).toBeGreaterThan(0);
      expect(e).toBeLessThanOrEqual(1);
    }
    // The intro variant's first words are the template's: scored lower against the reference.
    const intro = samples.find((s) => s.itemId === 'a' && s.variant === 'intro' && s.model === '/m/one.gguf')!;
    expect(intro.output.startsWith('alpha')).toBe(true);
    expect(samples.find((s) => s.itemId === 'c')!.metrics!.rouge).toBeUndefined();

    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
    expect(summary.groups).toHaveLength(4);
    expect(summary.groups[0]).toMatchObject({ modelName: 'one', variant: 'plain', samples: 3, scored: 2 });
    const report = readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(report).toContain('| one | plain | 3 |');
    // The scores table renders from the metric catalogue: its labels, rates in %, speeds in tok/s.
    expect(report).toContain('| Model | Variant | n | ROUGE-1 F (mean) | ROUGE-2 F (mean) | ROUGE-L F (mean) | Refusal rate |');
    expect(report).toMatch(/\| one \| plain \| 3 \| [\d.]+ \| [\d.]+ \| [\d.]+ \| \d+% \| \d+% \| \d+% \| \d+% \| \d+ \| \d+ ms \| [\d.]+ tok\/s \| [\d.]+ tok\/s \|/);
    expect(report).toContain('## Items');
    const info = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8'));
    expect(info).toMatchObject({ status: 'completed', models: ['/m/one.gguf', '/m/two.gguf'], variants: ['plain', 'intro'] });
    expect(info.samples).toEqual({ total: 12, done: 12, errors: 0, resumed: 0 });
    expect((await loadRunItem(out, 'b'))!.references).toEqual(['the cat sat on the mat']);

    expect(progress[0].kind).toBe('start');
    const sampleEvents = progress.filter((p) => p.kind === 'sample');
    expect(sampleEvents.map((p) => p.done)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(sampleEvents.every((p) => p.total === 12 && p.etaMs !== undefined)).toBe(true);
    expect(progress.at(-1)!.kind).toBe('done');
  });

  it('resume skips finished samples and tolerates a truncated last line', async () => {
    const out = outDir();
    await runEval({ suite: suite(), models: ['/m/one.gguf'], outDir: out, engine: new FakeEngine() });
    expect(await samplesIn(out)).toHaveLength(6);

    // Same folder again: nothing to do, the model is not even loaded.
    const again = new FakeEngine();
    const rerun = await runEval({ suite: suite(), models: ['/m/one.gguf'], outDir: out, engine: again });
    expect(again.loads).toEqual([]);
    expect(again.requests).toHaveLength(0);
    expect(rerun.info.samples).toMatchObject({ total: 6, done: 6, resumed: 6 });

    // A killed process left half a line.
    const file = path.join(out, 'samples.jsonl');
    const text = readFileSync(file, 'utf8');
    const lastStart = text.lastIndexOf('\n', text.length - 2) + 1;
    const lost = JSON.parse(text.slice(lastStart)) as SampleRecord;
    writeFileSync(file, text.slice(0, lastStart + 40));
    const third = new FakeEngine();
    const resumed = await runEval({ suite: suite(), models: ['/m/one.gguf'], outDir: out, engine: third });
    expect(third.requests).toHaveLength(1);
    expect(resumed.info.samples).toMatchObject({ done: 6, resumed: 5 });
    const after = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(after).toHaveLength(6);
    for (const line of after) JSON.parse(line);
    expect((await samplesIn(out)).at(-1)!.key).toBe(lost.key);
  });

  it('cancel keeps the finished samples; resuming finishes the rest', async () => {
    const out = outDir();
    const controller = new AbortController();
    const engine = new FakeEngine({ beforeGenerate: (call) => (call === 4 ? controller.abort() : undefined) });
    const run = await runEval({ suite: suite(), models: ['/m/one.gguf', '/m/two.gguf'], outDir: out, engine, signal: controller.signal });
    expect(run.info.status).toBe('cancelled');
    expect(await samplesIn(out)).toHaveLength(4);
    expect(JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')).status).toBe('cancelled');
    expect(existsSync(path.join(out, 'report.md'))).toBe(true);

    const engine2 = new FakeEngine();
    const done = await runEval({ suite: suite(), models: ['/m/one.gguf', '/m/two.gguf'], outDir: out, engine: engine2 });
    expect(done.info.status).toBe('completed');
    expect(engine2.requests).toHaveLength(8);
    expect(await samplesIn(out)).toHaveLength(12);
  });

  it('records load errors per sample and retries them on resume; disposes an engine it created', async () => {
    const out = outDir();
    let created: FakeEngine | undefined;
    const run = await runEval({
      suite: suite(),
      models: ['/m/ok.gguf', '/m/broken.gguf'],
      variants: ['plain'],
      outDir: out,
      engine: () => (created = new FakeEngine({ failLoad: (p) => p.includes('broken') })),
    });
    expect(created!.disposed).toBe(true);
    expect(run.info.samples.errors).toBe(3);
    expect(run.samples.filter((s) => s.error)).toHaveLength(3);
    expect(run.samples.find((s) => s.error)!.error).toMatch(/could not load the model: cannot load \/m\/broken\.gguf/);
    const group = run.summary.groups.find((g) => g.model === '/m/broken.gguf')!;
    expect(group.errors).toBe(3);

    const fixed = new FakeEngine();
    const rerun = await runEval({ suite: suite(), models: ['/m/ok.gguf', '/m/broken.gguf'], variants: ['plain'], outDir: out, engine: fixed });
    expect(fixed.loads.map((l) => formatLoadTarget(l))).toEqual(['/m/broken.gguf']);
    expect(rerun.samples).toHaveLength(6);
    expect(rerun.samples.every((s) => !s.error)).toBe(true);
  });

  it('records the long-input strategy of each sample', async () => {
    const long = [item('long', words(300, 'x'), [words(10, 'x')])];
    const engine = new FakeEngine({ contextSize: 120, echoWords: 10 });
    const t = await runEval({ suite: suite({ items: long, variants: [{ name: 'plain', template: 'S:\n\n{document}' }] }), models: ['/m/a.gguf'], outDir: outDir(), engine });
    // 120 − 64 reserved = 56; chat overhead 3 + "S:" 1 = 4 → 52 kept of 300.
    expect(t.samples[0].strategy).toMatchObject({ strategy: 'truncate-middle', documentTokens: 300, tokensDropped: 248, budgetTokens: 56 });
    expect(t.samples[0].output).toBe(words(10, 'x'));

    const mr = await runEval({
      suite: suite({
        items: long,
        variants: [{ name: 'plain', template: 'S:\n\n{document}' }],
        longInput: { ...DEFAULT_LONG_INPUT, strategy: 'map-reduce', chunkTokens: 40, mapMaxTokens: 5 },
      }),
      models: ['/m/a.gguf'],
      outDir: outDir(),
      engine: new FakeEngine({ contextSize: 120, echoWords: 10 }),
    });
    // 300 tokens in chunks of 40 → 8 chunk summaries of 5 words = 40 + 4 ≤ 56.
    expect(mr.samples[0].strategy).toMatchObject({ strategy: 'map-reduce', chunks: 8, chunksMerged: 8, levels: 1, calls: 9 });
    expect(mr.samples[0].output).toBe('x0 x1 x2 x3 x4 x40 x41 x42 x43 x44');
    expect(mr.samples[0].intermediate![0]).toHaveLength(8);
    expect(mr.samples[0].intermediate![0][1]).toBe('x40 x41 x42 x43 x44');
    expect(t.samples[0].intermediate).toBeUndefined();
  });

  it('refuses to resume into a folder run with other settings', async () => {
    const out = outDir();
    await runEval({ suite: suite(), models: ['/m/one.gguf'], variants: ['plain'], outDir: out, engine: new FakeEngine() });
    await expect(
      runEval({ suite: suite({ generation: { ...DEFAULT_GENERATION, maxTokens: 10 } }), models: ['/m/one.gguf'], outDir: out, engine: new FakeEngine() }),
    ).rejects.toThrow(/other settings/);
    await expect(runEval({ suite: suite(), models: ['/m/one.gguf'], variants: ['nope'], outDir: out, engine: new FakeEngine() })).rejects.toThrow(
      /unknown variant "nope"/,
    );
  });

  it('flags failures with evidence from the model output', async () => {
    const engine = new FakeEngine({
      respond: (_prompt, model) =>
        model.includes('refuser') ? "I'm sorry, but I can't summarize this document." : 'Loop again. '.repeat(30),
    });
    const run = await runEval({ suite: suite(), models: ['/m/refuser.gguf', '/m/looper.gguf'], variants: ['plain'], outDir: outDir(), engine });
    const refusal = run.samples.find((s) => s.model.includes('refuser'))!;
    expect(refusal.failures.map((f) => f.kind)).toEqual(['refusal']);
    expect(refusal.failures[0].evidence).toBe("I'm sorry, but I can't summarize this document");
    const loop = run.samples.find((s) => s.model.includes('looper'))!;
    expect(loop.failures.map((f) => f.kind)).toEqual(['repetition']);
    const groups = run.summary.groups;
    expect(groups.find((g) => g.model.includes('refuser'))!.failureRates.refusal).toBe(1);
    expect(groups.find((g) => g.model.includes('looper'))!.failureRates.repetition).toBe(1);
  });

  it('a context beyond what the model was trained for is said in run.json and in report.md, above the scores', async () => {
    class ShortTrained extends FakeEngine {
      override info(options: Parameters<FakeEngine['info']>[0]) {
        return { ...super.info(options), trainContextLength: 512 };
      }
    }
    const out = outDir();
    const run = await runEval({ suite: suite({ contextSize: 8192 }), models: ['/m/short.gguf'], variants: ['plain'], outDir: out, engine: new ShortTrained() });
    const warning = 'short runs at a context of 8192 tokens, more than the 512 it was trained for: expect degraded output';
    expect(run.info.warnings).toEqual([warning]);
    const report = readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(report).toContain(`> **Warning:** ${warning}`);
    expect(report.indexOf('**Warning:**')).toBeLessThan(report.indexOf('## Scores'));
    // A resume with nothing left to run (no load) keeps it.
    const again = await runEval({ suite: suite({ contextSize: 8192 }), models: ['/m/short.gguf'], variants: ['plain'], outDir: out, engine: new ShortTrained() });
    expect(again.info.samples.resumed).toBe(3);
    expect(again.info.warnings).toEqual([warning]);
    expect(readFileSync(path.join(out, 'report.md'), 'utf8')).toContain(`> **Warning:** ${warning}`);
  });

  it('a running run is listed with the samples it has so far (not the count run.json had at the start)', async () => {
    const base = path.join(root, 'live');
    const listed: Promise<number>[] = [];
    // The next sample waits until the listing made after the previous one is done.
    class Gated extends FakeEngine {
      gate: Promise<unknown> = Promise.resolve();
      override async generate(...args: Parameters<FakeEngine['generate']>) {
        await this.gate;
        return super.generate(...args);
      }
    }
    const engine = new Gated({ echoWords: 3 });
    await runEval({
      suite: suite(), models: ['/m/one.gguf'], variants: ['plain'], outDir: path.join(base, 'r'), engine,
      onProgress: (p) => {
        if (p.kind === 'sample') listed.push((engine.gate = listRuns(base).then((runs) => runs[0].samples)) as Promise<number>);
      },
    });
    expect(await Promise.all(listed)).toEqual([1, 2, 3]);
  });

  it("stores each model's identity as a value: run.json, the list, the report and progress read it, no key parsed back", async () => {
    const remote: RemoteLoadOptions = { backend: 'remote', endpoint: 'https://gpu.example:8000', model: 'Qwen/Qwen3-30B-A3B' };
    const key = formatLoadTarget(remote);
    const base = path.join(root, 'identities');
    const progress: EvalProgress[] = [];
    const suiteWithIv = suite({ interventions: [{ name: 'no7', ablate: '*:7' }] });
    await runEval({
      suite: suiteWithIv,
      models: ['/m/one.gguf', key],
      modelOptions: (m) => (m === key ? remote : { modelPath: m }),
      variants: ['plain'],
      maxItems: 1,
      outDir: path.join(base, 'r'),
      engine: new FakeEngine({ echoWords: 6 }),
      onProgress: (p) => progress.push(p),
    });
    const identities = { '/m/one.gguf': { kind: 'local', path: '/m/one.gguf' }, [key]: { kind: 'server', endpoint: 'https://gpu.example:8000', model: 'Qwen/Qwen3-30B-A3B' } };
    expect(JSON.parse(readFileSync(path.join(base, 'r', 'run.json'), 'utf8')).identities).toEqual(identities);
    const loaded = await loadRun(path.join(base, 'r'));
    expect(loaded.info.identities).toEqual(identities);
    expect((await listRuns(base))[0]).toMatchObject({ models: ['/m/one.gguf', key], modelNames: ['one', 'Qwen3-30B-A3B'] });
    // The report's interventions table names each model by its identity.
    const report = renderReport(loaded.info, loaded.summary, loaded.samples);
    expect(report).toContain('| one | baseline |');
    expect(report).toContain('| Qwen3-30B-A3B | no7 |');
    // Progress events carry the identity: the notification, the Evals tab and the CLI name the server's model by it.
    const served = progress.find((p) => p.kind === 'sample' && p.model === key)!;
    expect(served.identity).toEqual(identities[key]);
    expect(progressText(served)).toMatch(/^\d of \d done · Qwen3-30B-A3B · plain · a/);
    expect(formatProgress(served)).toMatch(/^\[\d\/\d\] Qwen3-30B-A3B · plain · a/);
    expect(progress.find((p) => p.kind === 'model' && p.model === '/m/one.gguf')!.message).toBe('loading one');
  });

  it('a run written before identities were stored still lists, opens, reports and compares, its keys shown as stored', async () => {
    const dir = path.join(__dirname, 'old-run');
    const key = 'Qwen/Qwen3-30B-A3B @ https://gpu.example:8000';
    const [listed] = await listRuns(dir);
    expect(listed).toMatchObject({ id: 'old-run', suite: 'old', status: 'completed', samples: 2, models: ['/models/old-moe.gguf', key], modelNames: ['/models/old-moe.gguf', key] });
    const run = await loadRun(dir);
    expect(run.info.identities).toBeUndefined();
    // Each group's name is the one its samples stored.
    expect(run.summary.groups.map((g) => [g.model, g.modelName])).toEqual([
      ['/models/old-moe.gguf', 'old-moe'],
      [key, 'Qwen3-30B-A3B'],
    ]);
    expect(runTable(run.summary.groups)).toMatch(/^Qwen3-30B-A3B\s+plain\s+1 /m);
    expect(renderReport(run.info, run.summary, run.samples)).toContain(`- Models: \`/models/old-moe.gguf\`, \`${key}\``);
    expect(compareRuns([run]).columns.map((c) => c.label)).toEqual(['old-moe / plain', 'Qwen3-30B-A3B / plain']);
    expect(progressText({ kind: 'model', done: 0, total: 2, resumed: 0, elapsedMs: 1, model: key })).toBe(`0 of 2 done · ${key}`);
  });

  it('lists, loads and compares runs', async () => {
    const base = path.join(root, 'many');
    const r1 = await runEval({ suite: suite(), models: ['/m/one.gguf'], variants: ['plain'], outDir: path.join(base, 'first'), engine: new FakeEngine({ echoWords: 6 }) });
    const r2 = await runEval({ suite: suite(), models: ['/m/one.gguf'], variants: ['plain'], outDir: path.join(base, 'second'), engine: new FakeEngine({ echoWords: 3 }) });
    const runs = await listRuns(base);
    expect(runs.map((r) => r.id).sort()).toEqual(['first', 'second']);
    expect(runs[0]).toMatchObject({ suite: 'mem', status: 'completed', samples: 3 });
    const loaded = [await loadRun(r1.dir), await loadRun(r2.dir)];
    expect(loaded[0].samples).toHaveLength(3);
    const cmp = compareRuns(loaded);
    expect(cmp.columns.map((c) => c.label)).toEqual(['first: one / plain', 'second: one / plain']);
    const rl = cmp.metrics.find((m) => m.id === 'rougeL')!;
    expect(rl).toMatchObject({ label: 'ROUGE-L F (mean)', unit: 'score', better: 'higher' });
    expect(cmp.columns.map((c) => c.shortLabel)).toEqual(['first: plain', 'second: plain']);
    expect(rl.values[0]!).toBeGreaterThan(rl.values[1]!);
    const itemA = cmp.items.find((i) => i.itemId === 'a')!;
    expect(itemA.rougeL[0]).toBe(1);
    expect(itemA.rougeL[1]).toBeCloseTo(2 * (3 / 3) * (3 / 6) / (1 + 0.5), 12); // P 3/3, R 3/6 → F = 2/3
    await expect(loadRun(root)).rejects.toThrow(/not an evaluation run/);
  });
});

describe('answerEvalsRequest (host side of the views)', () => {
  it('answers list/open/item/compare from disk and refuses folders outside the runs folder', async () => {
    const { answerEvalsRequest } = await import('../../extension/evals/host');
    const base = path.join(root, 'hosted');
    await runEval({ suite: suite(), models: ['/m/one.gguf'], variants: ['plain'], outDir: path.join(base, 'r1'), engine: new FakeEngine() });
    await runEval({ suite: suite(), models: ['/m/two.gguf'], variants: ['plain'], outDir: path.join(base, 'r2'), engine: new FakeEngine() });
    const opts = { runsDirs: [base] };
    const list = await answerEvalsRequest({ type: 'evals.listRuns' }, opts);
    expect(list!.type === 'evals.runs' && list!.runs.map((r) => r.id).sort()).toEqual(['r1', 'r2']);
    const run = await answerEvalsRequest({ type: 'evals.openRun', dir: path.join(base, 'r1') }, opts);
    expect(run!.type === 'evals.run' && run!.run.samples.length).toBe(3);
    const item = await answerEvalsRequest({ type: 'evals.openItem', dir: path.join(base, 'r1'), itemId: 'b' }, opts);
    expect(item!.type === 'evals.item' && item!.item!.document).toMatch(/^the cat sat/);
    const cmp = await answerEvalsRequest({ type: 'evals.compare', dirs: [path.join(base, 'r1'), path.join(base, 'r2')] }, opts);
    expect(cmp!.type === 'evals.comparison' && cmp!.comparison.columns.length).toBe(2);
    const outside = await answerEvalsRequest({ type: 'evals.openRun', dir: path.join(base, '..', 'run-1') }, opts);
    expect(outside).toEqual({ type: 'evals.error', message: expect.stringMatching(/not inside the evaluation runs folder/) });
    expect(await answerEvalsRequest({ type: 'evals.cancel' }, opts)).toBeUndefined();
  });
});
