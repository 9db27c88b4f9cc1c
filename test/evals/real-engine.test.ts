// The evaluations end to end with the real engine (llama.cpp in the engine process) on the generated GGUF fixtures:
// runEval with both long-input strategies, a dense model, the `moe-lens eval` CLI killed mid-run and resumed,
// malformed suite files, the built-in suite and `moe-lens score`.
//
// Kept small on purpose (tiny contexts, a few tokens per answer): the fixtures have random weights, so the outputs
// are gibberish; what is checked is the plumbing and the recorded values. Engines run with one thread: on a busy
// machine llama.cpp's spinning thread pool is orders of magnitude slower with two.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runEval } from '../../extension/evals/runner';
import { loadSuite } from '../../extension/evals/suite';
import { wordCount } from '../../extension/evals/metrics/detectors';
import { rougeMulti } from '../../extension/evals/metrics/rouge';
import type { LoadedRun, SampleRecord } from '../../extension/evals/types';
import type { EngineClient } from '../../extension/engine/client';
import { DENSE, MOE, ROOT, fixture, newEngine } from '../engine/helpers';

const BIN = path.join(ROOT, 'bin', 'moe-lens.js');
const DEMO = fixture('random-demo.gguf');
const BUILTIN = path.join(ROOT, 'suites', 'builtin', 'suite.yaml');
const THREADS = { threads: 1 };

const dir = mkdtempSync(path.join(tmpdir(), 'evals-real-'));
afterAll(() => { if (!process.env.KEEP_EVAL_TMP) rmSync(dir, { recursive: true, force: true }); else console.log(dir); });

// ---------------------------------------------------------------------------------------------------------------
// Suite files written by the tests

const SENTENCES = [
  'The river authority measured the water level at seven stations along the northern valley every morning.',
  'Engineers replaced the old pumps with smaller electric units that need less maintenance and less fuel.',
  'The council approved a budget of four million for flood defences, bridges and the repair of the canal locks.',
  'Farmers near the delta reported that the spring floods arrived two weeks earlier than in previous years.',
  'A committee of residents asked for clearer warnings, printed maps and a telephone line staffed at night.',
  'Rainfall in the hills was heavier than forecast, and the reservoir reached its highest level in a decade.',
  'The report recommends planting trees on the upper slopes to slow the runoff after long storms.',
  'Maintenance crews cleared fallen branches from the drains before the autumn storms began.',
];

/** About `words` words of varied text (the sentences cycle with a running number so chunks differ). */
function longDocument(words: number): string {
  const out: string[] = [];
  let n = 0;
  for (let i = 0; out.join(' ').split(/\s+/).length < words; i++) {
    out.push(`Section ${++n}. ${SENTENCES[i % SENTENCES.length]}`);
  }
  return out.join(' ');
}

const ITEMS = [
  {
    id: 'short',
    title: 'the pumps',
    document: 'Engineers replaced the old pumps with smaller electric units. The new pumps need less fuel and less maintenance.',
    summary: 'The old pumps were replaced by smaller electric pumps that need less fuel.',
  },
  {
    id: 'long',
    title: 'flood defences',
    document: longDocument(700),
    summary: 'The river authority and the council prepared for earlier and heavier floods with new pumps and defences.',
  },
  {
    id: 'medium',
    document: SENTENCES.slice(0, 3).join(' '),
    summaries: ['Water levels were measured, pumps were replaced and a flood budget was approved.'],
  },
];

function writeItems(file: string, items: object[]): string {
  writeFileSync(file, items.map((x) => JSON.stringify(x)).join('\n') + '\n');
  return file;
}

/** A suite folder: items.jsonl plus suite.yaml with the given long-input block. */
function writeSuite(name: string, opts: { longInput: string; maxTokens?: number; contextSize?: number; items?: object[] }): string {
  const d = path.join(dir, name);
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
  writeItems(path.join(d, 'items.jsonl'), opts.items ?? ITEMS);
  const file = path.join(d, 'suite.yaml');
  writeFileSync(
    file,
    [
      `name: ${name}`,
      'items: items.jsonl',
      'mode: chat',
      `contextSize: ${opts.contextSize ?? 256}`,
      'variants:',
      '  - name: plain',
      '    template: "Summarize the following document.\\n\\n{document}"',
      `generation: { maxTokens: ${opts.maxTokens ?? 8}, temperature: 0, seed: 1, repeatPenalty: 1 }`,
      'longInput:',
      ...opts.longInput.split('\n').map((l) => `  ${l}`),
      '',
    ].join('\n'),
  );
  return file;
}

function sampleLines(outDir: string): string[] {
  const file = path.join(outDir, 'samples.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
}

function readSampleFile(outDir: string): SampleRecord[] {
  return sampleLines(outDir).map((l) => JSON.parse(l) as SampleRecord);
}

function expectWrittenRun(run: LoadedRun, n: number): SampleRecord[] {
  const samples = readSampleFile(run.dir);
  expect(samples).toHaveLength(n);
  expect(new Set(samples.map((s) => s.key)).size).toBe(n);
  expect(run.info.status).toBe('completed');
  expect(run.info.samples).toMatchObject({ total: n, done: n, errors: 0 });
  const summary = JSON.parse(readFileSync(path.join(run.dir, 'summary.json'), 'utf8'));
  expect(summary.groups).toHaveLength(1);
  expect(summary.groups[0].samples).toBe(n);
  const report = readFileSync(path.join(run.dir, 'report.md'), 'utf8');
  for (const s of samples) expect(report).toContain(s.itemId);
  expect(JSON.parse(readFileSync(path.join(run.dir, 'run.json'), 'utf8')).status).toBe('completed');
  for (const s of samples) {
    expect(s.error, `${s.itemId}: ${s.error}`).toBeUndefined();
    expect(typeof s.output).toBe('string');
    expect(s.metrics?.rouge?.rougeL.fmeasure).toBeGreaterThanOrEqual(0);
    expect(s.metrics?.rouge?.rougeL.fmeasure).toBeLessThanOrEqual(1);
    expect(s.metrics?.documentWords).toBe(wordCount(ITEMS.find((i) => i.id === s.itemId)!.document));
    expect(s.speed!.generatedTokens).toBeGreaterThan(0);
    expect(s.speed!.generatedTokens).toBeLessThanOrEqual(8);
    expect(s.speed!.promptTokens).toBeGreaterThan(0);
    expect(s.speed!.promptTokens).toBeLessThanOrEqual(256);
    expect(s.speed!.generatedTokensPerSecond).toBeGreaterThan(0);
    expect(s.speed!.promptTokensPerSecond).toBeGreaterThan(0);
    expect(s.speed!.timeToFirstTokenMs).toBeGreaterThan(0);
    expect(s.speed!.wallMs).toBeGreaterThan(0);
    expect(s.strategy!.promptTokens).toBeLessThanOrEqual(s.strategy!.budgetTokens);
    expect(s.strategy!.budgetTokens).toBe(256 - 8);
  }
  return samples;
}

function expectMoeRouting(s: SampleRecord): void {
  const r = s.routing;
  expect(r, `${s.itemId}: routing stats`).toBeDefined();
  expect(r!.layers).toBe(4);
  expect(r!.k).toBe(2);
  expect(r!.experts).toBe(8);
  expect(r!.tokens).toBe(s.speed!.generatedTokens);
  expect(r!.loadEntropy).toHaveLength(4);
  expect(r!.sameTop1Rate).toHaveLength(4);
  for (const e of r!.loadEntropy) {
    expect(e).toBeGreaterThan(0); // at least two distinct experts chosen (k = 2)
    expect(e).toBeLessThanOrEqual(1 + 1e-9);
  }
  expect(r!.sameTop1Baseline).toBeCloseTo(1 / 8);
}

// ---------------------------------------------------------------------------------------------------------------

describe('runEval with the real engine', () => {
  let engine: EngineClient;
  beforeAll(() => {
    engine = newEngine();
  });
  afterAll(async () => {
    await engine?.dispose();
  });

  it('truncate-middle on moe-llama: samples, strategy, routing, speeds, summary and report', { timeout: 600_000 }, async () => {
    const suite = await loadSuite(writeSuite('truncate', { longInput: 'strategy: truncate-middle' }));
    const run = await runEval({ suite, models: [MOE], outDir: path.join(dir, 'out-truncate'), engine, loadOptions: THREADS });
    const samples = expectWrittenRun(run, 3);
    expect(samples.map((s) => s.itemId)).toEqual(['short', 'long', 'medium']);
    const byId = Object.fromEntries(samples.map((s) => [s.itemId, s]));
    expect(byId.short.strategy!.strategy).toBe('none');
    expect(byId.medium.strategy!.strategy).toBe('none');
    const long = byId.long.strategy!;
    expect(long.strategy).toBe('truncate-middle');
    expect(long.documentTokens).toBeGreaterThan(256);
    expect(long.tokensDropped).toBeGreaterThan(0);
    expect(long.tokensDropped).toBeLessThan(long.documentTokens);
    // The model saw the prompt the strategy measured.
    expect(byId.long.speed!.promptTokens).toBe(long.promptTokens);
    for (const s of samples) {
      expect(s.modelName).toBe('MoE Lens test Mixtral-style (random weights)');
      expect(s.model).toBe(MOE);
      expectMoeRouting(s);
    }
    const group = run.summary.groups[0];
    expect(group.truncated).toBe(1);
    expect(group.mapReduced).toBe(0);
    expect(group.scored).toBe(3);
    expect(group.rougeL?.mean).toBeGreaterThanOrEqual(0);
    expect(group.generatedTokensPerSecond?.mean).toBeGreaterThan(0);
    expect(group.loadEntropy?.mean).toBeGreaterThan(0);
  });

  it('map-reduce on moe-llama: chunks > 1, intermediate summaries, routing', { timeout: 600_000 }, async () => {
    const suite = await loadSuite(
      writeSuite('mapreduce', { longInput: 'strategy: map-reduce\nchunkTokens: 120\nmapMaxTokens: 6\nmaxDepth: 2' }),
    );
    const run = await runEval({ suite, models: [MOE], outDir: path.join(dir, 'out-mapreduce'), engine, loadOptions: THREADS });
    const samples = expectWrittenRun(run, 3);
    const long = samples.find((s) => s.itemId === 'long')!;
    const info = long.strategy!;
    expect(info.strategy).toBe('map-reduce');
    expect(info.documentTokens).toBeGreaterThan(256);
    expect(info.chunks).toBeGreaterThan(1);
    expect(info.chunks).toBe(Math.ceil(info.documentTokens / 120));
    expect(info.levels).toBeGreaterThanOrEqual(1);
    expect(info.calls).toBe(info.chunksMerged! + 1);
    expect(long.intermediate).toBeDefined();
    expect(long.intermediate![0]).toHaveLength(info.chunks!);
    expect(long.speed!.promptTokens).toBe(info.promptTokens);
    for (const s of samples) expectMoeRouting(s);
    expect(run.summary.groups[0].mapReduced).toBe(1);
    expect(run.summary.groups[0].truncated).toBe(0);
    for (const s of samples.filter((x) => x.itemId !== 'long')) {
      expect(s.strategy!.strategy).toBe('none');
      expect(s.intermediate).toBeUndefined();
    }
  });

  it('a dense model works and has no routing statistics', { timeout: 600_000 }, async () => {
    const suite = await loadSuite(writeSuite('dense', { longInput: 'strategy: truncate-middle' }));
    const run = await runEval({ suite, models: [DENSE], outDir: path.join(dir, 'out-dense'), engine, loadOptions: THREADS });
    const samples = expectWrittenRun(run, 3);
    for (const s of samples) expect(s.routing).toBeUndefined();
    expect(samples.find((s) => s.itemId === 'long')!.strategy!.tokensDropped).toBeGreaterThan(0);
    const group = run.summary.groups[0];
    expect(group.loadEntropy ?? undefined).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The CLI as a child process

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `node bin/moe-lens.js ARGS` started in its own process group (so a kill can take its engine process too). */
interface CliRun {
  child: ReturnType<typeof spawn>;
  /** Output so far. */
  stdout: string;
  stderr: string;
  closed: boolean;
  exited: Promise<Exit>;
}

function startCli(args: string[]): CliRun {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const run: CliRun = {
    child,
    stdout: '',
    stderr: '',
    closed: false,
    exited: new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        run.closed = true;
        resolve({ code, signal, stdout: run.stdout, stderr: run.stderr });
      });
    }),
  };
  child.stdout!.on('data', (d) => (run.stdout += d));
  child.stderr!.on('data', (d) => (run.stderr += d));
  return run;
}

/** Runs `node bin/moe-lens.js ARGS` to completion. */
async function cli(args: string[], timeoutMs = 480_000): Promise<Exit> {
  const run = startCli(args);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      try { process.kill(-run.child.pid!, 'SIGKILL'); } catch { /* gone */ }
      reject(new Error(`moe-lens ${args.join(' ')} did not finish in ${timeoutMs / 1000}s; stderr:\n${run.stderr}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([run.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Processes of process group `pgid` that are not zombies (Linux /proc). */
function liveGroupMembers(pgid: number): string[] {
  const live: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // state ppid pgrp …
      if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') live.push(`${pid} ${stat.slice(0, 60)}`);
    } catch {
      /* gone */
    }
  }
  return live;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Lines of samples.jsonl that are complete (newline-terminated and valid JSON). */
function completeLines(outDir: string): string[] {
  const file = path.join(outDir, 'samples.jsonl');
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  lines.pop(); // the part after the last newline: '' or a line cut by the kill
  return lines.filter((l) => {
    try {
      JSON.parse(l);
      return true;
    } catch {
      return false;
    }
  });
}

/** Waits until the run has written its first complete sample, has ended, or 480 s passed. */
async function untilFirstSample(run: CliRun, outDir: string): Promise<void> {
  const deadline = Date.now() + 480_000;
  while (completeLines(outDir).length < 1 && !run.closed && Date.now() < deadline) await sleep(10);
}

describe('moe-lens eval (real CLI, real engine)', () => {
  it('resumes after the process group is killed mid-run: nothing duplicated, nothing redone', { timeout: 900_000 }, async () => {
    const items = Array.from({ length: 10 }, (_, i) => ({
      id: `doc-${i + 1}`,
      document: `${SENTENCES[i % SENTENCES.length]} ${SENTENCES[(i + 3) % SENTENCES.length]} Item number ${i + 1}.`,
      summary: SENTENCES[i % SENTENCES.length],
    }));
    const suiteFile = writeSuite('resume', { longInput: 'strategy: truncate-middle', maxTokens: 96, contextSize: 512, items });
    const out = path.join(dir, 'out-resume');
    const args = ['eval', suiteFile, '--model', MOE, '--out', out, '--threads', '1'];

    const run = startCli(args);
    await untilFirstSample(run, out);
    expect(run.closed, `the CLI ended before it was killed; stderr:\n${run.stderr}`).toBe(false);
    const members = liveGroupMembers(run.child.pid!);
    process.kill(-run.child.pid!, 'SIGKILL'); // the CLI and its engine process
    expect(members.length, members.join('\n')).toBeGreaterThanOrEqual(2);
    await run.exited;
    // The engine process went with it (same process group): no live member left (zombies awaiting reaping are fine).
    // SIGKILL is delivered at once but a process on the other core can still show as running for a moment.
    for (let i = 0; i < 50 && liveGroupMembers(run.child.pid!).length > 0; i++) await sleep(100);
    expect(liveGroupMembers(run.child.pid!)).toEqual([]);

    const before = completeLines(out);
    expect(before.length).toBeGreaterThanOrEqual(1);
    expect(before.length, 'the run must be killed before it finished').toBeLessThan(items.length);
    expect(JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')).status).toBe('running');
    expect(existsSync(path.join(out, 'summary.json'))).toBe(false);
    // As if the kill had landed in the middle of writing the next line.
    appendFileSync(path.join(out, 'samples.jsonl'), '{"key":"cut-off","itemId":"doc-');

    const again = await cli([...args, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`resuming: ${before.length} of ${items.length} samples already done`);
    const json = JSON.parse(again.stdout);
    expect(json.status).toBe('completed');
    expect(json.samples).toMatchObject({ total: items.length, done: items.length, errors: 0, resumed: before.length });

    const after = sampleLines(out);
    expect(after).toHaveLength(items.length);
    expect(after.slice(0, before.length)).toEqual(before); // earlier samples kept byte for byte, not redone
    const samples = after.map((l) => JSON.parse(l) as SampleRecord);
    expect(new Set(samples.map((s) => s.key)).size).toBe(items.length);
    expect(samples.map((s) => s.itemId).sort()).toEqual(items.map((i) => i.id).sort());
    for (const s of samples) {
      expect(s.error).toBeUndefined();
      expect(s.speed!.generatedTokens).toBeGreaterThan(0);
      expectMoeRouting(s);
    }
    // The samples finished before the kill were not generated again: their timestamps predate the rerun.
    const rerunStart = Math.min(...samples.slice(before.length).map((s) => Date.parse(s.startedAt)));
    for (const s of samples.slice(0, before.length)) expect(Date.parse(s.finishedAt)).toBeLessThanOrEqual(rerunStart);
    const info = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8'));
    expect(info.status).toBe('completed');
    expect(info.samples.resumed).toBe(before.length);
  });

  it('Ctrl-C (SIGINT to the process group, as a terminal sends it) cancels: exit 130, finished samples kept', { timeout: 600_000 }, async () => {
    const items = Array.from({ length: 10 }, (_, i) => ({ id: `doc-${i + 1}`, document: `${SENTENCES[i % SENTENCES.length]} Item ${i + 1}.` }));
    const suiteFile = writeSuite('sigint', { longInput: 'strategy: truncate-middle', maxTokens: 96, contextSize: 512, items });
    const out = path.join(dir, 'out-sigint');
    const run = startCli(['eval', suiteFile, '--model', MOE, '--out', out, '--threads', '1']);
    await untilFirstSample(run, out);
    expect(run.closed, `the CLI ended before Ctrl-C; stderr:\n${run.stderr}`).toBe(false);
    process.kill(-run.child.pid!, 'SIGINT');
    const { code, stdout, stderr } = await run.exited;
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('cancelling…');
    const info = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8'));
    expect(info.status).toBe('cancelled');
    const lines = sampleLines(out);
    expect(completeLines(out)).toEqual(lines);
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.length).toBeLessThan(items.length);
    expect(info.samples).toMatchObject({ total: items.length, done: lines.length, errors: 0 });
    for (const l of lines) expect(JSON.parse(l).error).toBeUndefined();
    expect(stdout).toContain(`cancelled: ${lines.length}/${items.length} samples`);
    expect(JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')).status).toBe('cancelled');
    await sleep(200);
    expect(liveGroupMembers(run.child.pid!)).toEqual([]);
  });

  it('the engine process dies mid-run: the run goes on with a new engine, a rerun retries the failed sample', { timeout: 600_000 }, async () => {
    const items = Array.from({ length: 8 }, (_, i) => ({ id: `doc-${i + 1}`, document: `${SENTENCES[i % SENTENCES.length]} Item ${i + 1}.` }));
    const suiteFile = writeSuite('engine-crash', { longInput: 'strategy: truncate-middle', maxTokens: 96, contextSize: 512, items });
    const out = path.join(dir, 'out-engine-crash');
    const args = ['eval', suiteFile, '--model', MOE, '--out', out, '--threads', '1', '--json'];
    const run = startCli(args);
    await untilFirstSample(run, out);
    expect(run.closed, `the CLI ended too early; stderr:\n${run.stderr}`).toBe(false);
    const engines = liveGroupMembers(run.child.pid!).map((m) => Number(m.split(' ')[0])).filter((pid) => pid !== run.child.pid);
    expect(engines).toHaveLength(1);
    process.kill(engines[0], 'SIGKILL'); // only the engine process
    const { code, stdout, stderr } = await run.exited;
    expect(code, stderr).toBe(0);
    const first = readSampleFile(out);
    expect(first).toHaveLength(items.length);
    const failed = first.filter((s) => s.error);
    expect(failed.length).toBeLessThanOrEqual(1); // none if the kill fell between two samples
    for (const s of failed) expect(s.error).toMatch(/engine process stopped/);
    expect(first.filter((s) => !s.error).length).toBeGreaterThanOrEqual(items.length - 1); // later samples ran on a new engine
    expect(JSON.parse(stdout).samples).toMatchObject({ total: items.length, done: items.length, errors: failed.length });

    const again = await cli(args);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).samples).toMatchObject({ done: items.length, errors: 0, resumed: items.length - failed.length });
    const lines = sampleLines(out);
    expect(lines).toHaveLength(items.length + failed.length); // only the failed sample was generated again
    const latest = new Map(lines.map((l) => JSON.parse(l) as SampleRecord).map((s) => [s.itemId, s]));
    expect([...latest.keys()].sort()).toEqual(items.map((i) => i.id).sort());
    for (const s of latest.values()) expect(s.error).toBeUndefined();
  });

  describe('malformed suites: non-zero exit, one stderr line with the file and the line', () => {
    const base = ITEMS.slice(0, 1).concat(ITEMS.slice(2));

    async function expectConfigError(suiteFile: string, file: string, line: number, detail: RegExp): Promise<void> {
      const out = path.join(dir, `out-bad-${path.basename(path.dirname(suiteFile))}`);
      const r = await cli(['eval', suiteFile, '--model', MOE, '--out', out], 120_000);
      expect(r.code).not.toBe(0);
      expect(r.code).not.toBeNull();
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toContain(`${file}:${line}: `);
      expect(lines[0]).toMatch(detail);
      expect(r.stdout).toBe('');
      expect(existsSync(out)).toBe(false);
    }

    it('bad JSON on a line of the items file', { timeout: 180_000 }, async () => {
      const suiteFile = writeSuite('bad-json', { longInput: 'strategy: truncate-middle', items: base });
      const itemsFile = path.join(path.dirname(suiteFile), 'items.jsonl');
      const lines = readFileSync(itemsFile, 'utf8').split('\n');
      lines.splice(1, 0, '{"id": "broken", "document": "no closing brace"');
      writeFileSync(itemsFile, lines.join('\n'));
      await expectConfigError(suiteFile, itemsFile, 2, /invalid JSON/);
    });

    it('an item without a document field', { timeout: 180_000 }, async () => {
      const suiteFile = writeSuite('no-document', {
        longInput: 'strategy: truncate-middle',
        items: [...base, { id: 'empty', summary: 'A summary of nothing.' }],
      });
      await expectConfigError(suiteFile, path.join(path.dirname(suiteFile), 'items.jsonl'), 3, /missing document field/);
    });

    it('an unknown long-input strategy', { timeout: 180_000 }, async () => {
      const suiteFile = writeSuite('bad-strategy', { longInput: 'strategy: summarize-everything' });
      const line = readFileSync(suiteFile, 'utf8').split('\n').findIndex((l) => l.includes('summarize-everything')) + 1;
      expect(line).toBeGreaterThan(1);
      await expectConfigError(suiteFile, suiteFile, line, /strategy must be one of .*"truncate-middle".*"map-reduce"/);
    });
  });

  it('the built-in suite, first item, on the demo model with --json', { timeout: 900_000 }, async () => {
    const out = path.join(dir, 'out-builtin');
    const r = await cli(['eval', BUILTIN, '--model', DEMO, '--max-items', '1', '--json', '--threads', '1', '--out', out], 840_000);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.out).toBe(out);
    expect(json.status).toBe('completed');
    expect(json.samples).toMatchObject({ total: 2, done: 2, errors: 0, resumed: 0 });
    expect(json.summary.suite).toBe('builtin');
    expect(json.summary.groups.map((g: { variant: string }) => g.variant)).toEqual(['plain', 'intro']);
    for (const g of json.summary.groups) {
      expect(g.modelName).toBe('MoE Lens random demo (random weights)');
      expect(g.samples).toBe(1);
      expect(g.scored).toBe(1);
      expect(g.generatedTokensPerSecond.mean).toBeGreaterThan(0);
      expect(g.loadEntropy.mean).toBeGreaterThan(0);
      expect(g.loadEntropy.mean).toBeLessThanOrEqual(1);
    }
    const samples = readSampleFile(out);
    expect(samples.map((s) => `${s.variant}/${s.itemId}`)).toEqual(['plain/moe-routing', 'intro/moe-routing']);
    // Each group's ROUGE-L is its one sample's, scored again here from the answer and the item's references.
    const suite = await loadSuite(BUILTIN);
    const references = suite.items.find((i) => i.id === 'moe-routing')!.references;
    expect(references.length).toBeGreaterThan(0);
    for (const g of json.summary.groups as { variant: string; rougeL: { mean: number } }[]) {
      const sample = samples.find((s) => s.variant === g.variant)!;
      const expected = rougeMulti(references, sample.output, { stem: suite.metrics.stem })!.rougeL.fmeasure;
      expect(sample.metrics!.rouge!.rougeL.fmeasure).toBeCloseTo(expected, 12);
      expect(g.rougeL.mean).toBeCloseTo(expected, 12);
    }
    for (const s of samples) {
      expect(s.speed!.generatedTokens).toBeLessThanOrEqual(400);
      expect(s.routing!.layers).toBe(8);
      expect(s.routing!.loadEntropy).toHaveLength(8);
    }
    expect(r.stderr).toContain('[2/2] random-demo · intro · moe-routing');
    // The suite's 8192-token context is beyond the 2048 the model was trained for: the run says so.
    const warning = 'MoE Lens random demo (random weights) runs at a context of 8192 tokens, more than the 2048 it was trained for: expect degraded output';
    expect(r.stderr).toContain(`warning: ${warning}`);
    expect(JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')).warnings).toEqual([warning]);
    expect(json.warnings).toEqual([warning]);
    expect(readFileSync(path.join(out, 'report.md'), 'utf8')).toContain(`> **Warning:** ${warning}`);
  });
});

describe('moe-lens score (real CLI)', () => {
  it('scores a predictions file per item', { timeout: 180_000 }, async () => {
    const file = writeItems(path.join(dir, 'predictions.jsonl'), [
      { id: 'exact', prediction: 'The council approved a budget for flood defences.', references: ['The council approved a budget for flood defences.'] },
      { id: 'partial', prediction: 'the cat sat', references: ['the cat sat on the mat'] },
      { id: 'best-of', prediction: 'the cat sat', reference: ['completely different words here', 'the cat sat on the mat'] },
    ]);
    const r = await cli(['score', file, '--json'], 120_000);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    const byId = Object.fromEntries(result.items.map((x: { id: string }) => [x.id, x]));
    expect(Object.keys(byId)).toEqual(['exact', 'partial', 'best-of']);
    for (const k of ['rouge1', 'rouge2', 'rougeL']) expect(byId.exact.metrics.rouge[k].fmeasure).toBeCloseTo(1, 10);
    // "the cat sat" vs "the cat sat on the mat": unigrams P 3/3, R 3/6; bigrams P 2/2, R 2/5; LCS 3.
    const p = byId.partial.metrics.rouge;
    expect(p.rouge1).toMatchObject({ precision: 1, recall: 0.5 });
    expect(p.rouge1.fmeasure).toBeCloseTo(2 / 3, 10);
    expect(p.rouge2.recall).toBeCloseTo(0.4, 10);
    expect(p.rouge2.fmeasure).toBeCloseTo(4 / 7, 10);
    expect(p.rougeL.fmeasure).toBeCloseTo(2 / 3, 10);
    // Two references: the best one (the second) counts.
    const b = byId['best-of'].metrics.rouge;
    for (const k of ['rouge1', 'rouge2', 'rougeL']) expect(b[k]).toEqual(p[k]);
    expect(b.bestReference).toEqual({ rouge1: 1, rouge2: 1, rougeL: 1 });
    expect(p.bestReference).toEqual({ rouge1: 0, rouge2: 0, rougeL: 0 });
    expect(result.aggregate.items).toBe(3);
    expect(result.aggregate.rouge1.mean).toBeCloseTo((1 + 2 / 3 + 2 / 3) / 3, 10);

    const table = await cli(['score', file], 120_000);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^exact\s+100\.0\s+100\.0\s+100\.0\s/m);
    expect(table.stdout).toMatch(/^partial\s+66\.7\s+57\.1\s+66\.7\s/m);
    expect(table.stdout).toMatch(/^mean\s+77\.8\s/m);
  });
});
