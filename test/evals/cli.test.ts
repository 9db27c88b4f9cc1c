import { afterAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { registerEvalCommands } from '../../extension/cli/eval-commands';
import { loadSuite } from '../../extension/evals/suite';
import { FakeEngine } from '../fake-engine';
import { formatLoadTarget } from '../../extension/engine/backends';

const dir = mkdtempSync(path.join(tmpdir(), 'evals-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const BUILTIN = path.resolve(__dirname, '../../suites/builtin/suite.yaml');

function cli(engineFactory = () => new FakeEngine({ contextSize: 8192, echoWords: 40 })) {
  const out: string[] = [];
  const err: string[] = [];
  const engines: FakeEngine[] = [];
  const program = new Command('moe-lens').exitOverride();
  registerEvalCommands(program, {
    createEngine: () => {
      const e = engineFactory();
      engines.push(e);
      return e;
    },
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
  });
  const run = (...args: string[]) => program.parseAsync(['node', 'moe-lens', ...args]);
  return { run, out, err, engines };
}

describe('built-in suite', () => {
  it('parses: 5 items, two variants, references for the written documents', async () => {
    const suite = await loadSuite(BUILTIN);
    expect(suite.items.map((i) => i.id)).toEqual(['moe-routing', 'gguf-layout', 'long-context', 'source-runner', 'source-long-input']);
    expect(suite.variants.map((v) => v.name)).toEqual(['plain', 'intro']);
    for (const it of suite.items) expect(it.document.split(/\s+/).length).toBeGreaterThan(900);
    expect(suite.items.filter((i) => i.references.length === 1).map((i) => i.id)).toEqual(['moe-routing', 'gguf-layout', 'long-context']);
  });
});

describe('moe-lens eval', () => {
  it('runs a suite, prints progress to stderr and a table to stdout', async () => {
    const c = cli();
    const out = path.join(dir, 'run-table');
    await c.run('eval', BUILTIN, '--model', 'a.gguf', '--model', 'b.gguf', '--variant', 'plain', '--max-items', '2', '--out', out);
    expect(c.engines).toHaveLength(1);
    expect(c.engines[0].loads.map((l) => path.basename(formatLoadTarget(l)))).toEqual(['a.gguf', 'b.gguf']);
    expect(c.engines[0].disposed).toBe(true);
    const stderr = c.err.join('');
    expect(stderr).toContain('4 samples');
    expect(stderr).toMatch(/\[1\/4\] a · plain · moe-routing — ROUGE-L \d+\.\d/);
    expect(stderr).toContain('[4/4]');
    const stdout = c.out.join('');
    expect(stdout).toMatch(/^model\s+variant\s+n\s+ROUGE-1\s+ROUGE-2\s+ROUGE-L\s+Refusal/);
    // Units from the metric catalogue: rates in %, speeds in tok/s, durations in ms.
    expect(stdout).toMatch(/\na\s+plain\s+2\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+\d+%\s+\d+%\s+\d+%\s+\d+%\s+\d+\s+\d+ ms\s+[\d.]+ tok\/s\s+[\d.]+ tok\/s/);
    expect(stdout).toMatch(/\na\s+plain\s+2\s+\d+\.\d/);
    expect(stdout).toContain(`completed: 4/4 samples in ${out}`);
    expect(readFileSync(path.join(out, 'samples.jsonl'), 'utf8').trim().split('\n')).toHaveLength(4);
  });

  it('--json prints the summary as JSON', async () => {
    const c = cli();
    const out = path.join(dir, 'run-json');
    await c.run('eval', BUILTIN, '--model', 'a.gguf', '--max-items', '1', '--out', out, '--json');
    const result = JSON.parse(c.out.join(''));
    expect(result.status).toBe('completed');
    expect(result.summary.groups.map((g: { variant: string }) => g.variant)).toEqual(['plain', 'intro']);
  });

  it('errors are one clear line', async () => {
    await expect(cli().run('eval', BUILTIN)).rejects.toThrow('give at least one --model PATH');
    await expect(cli().run('eval', path.join(dir, 'missing.yaml'), '--model', 'a.gguf')).rejects.toThrow(/missing\.yaml: file not found/);
    await expect(cli().run('eval', BUILTIN, '--model', 'a.gguf', '--max-items', 'x')).rejects.toThrow(/--max-items must be a positive integer/);
    await expect(cli().run('eval', BUILTIN, '--model', 'a.gguf', '--variant', 'nope', '--out', path.join(dir, 'v'))).rejects.toThrow(
      /unknown variant "nope"/,
    );
  });
});

describe('moe-lens score', () => {
  const file = path.join(dir, 'predictions.jsonl');
  writeFileSync(
    file,
    [
      JSON.stringify({ id: 'p1', prediction: 'The cat lay on the mat', references: ['The cat sat on the mat.'] }),
      JSON.stringify({ id: 'p2', prediction: "I'm sorry, but I can't summarize this.", references: ['Something else entirely here.'], document: 'one two three four five six' }),
    ].join('\n') + '\n',
  );

  it('prints a table with per-item scores, failures and the mean', async () => {
    const c = cli();
    await c.run('score', file);
    const text = c.out.join('');
    expect(text).toMatch(/\np1\s+83\.3\s+60\.0\s+83\.3\s+6\s+—/);
    expect(text).toMatch(/\np2\s.*refusal: I'm sorry, but I can't summarize this/);
    expect(text).toMatch(/\nmean\s/);
  });

  it('--json gives per-item and aggregate results; --no-stem turns stemming off', async () => {
    const c = cli();
    await c.run('score', file, '--json', '--no-stem');
    const result = JSON.parse(c.out.join(''));
    expect(result.settings.stem).toBe(false);
    expect(result.items[0].metrics.rouge.rouge1.fmeasure).toBeCloseTo(5 / 6, 12);
    expect(result.items[1].failures[0].kind).toBe('refusal');
    expect(result.aggregate.failureRates.refusal).toBe(0.5);
    expect(result.items[1].metrics.compression).toBeCloseTo(6 / 7, 12);
  });

  it('malformed predictions name the file and line', async () => {
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(bad, `${JSON.stringify({ id: 1, prediction: 'x', references: [] })}\n${JSON.stringify({ id: 2, references: [] })}\n`);
    await expect(cli().run('score', bad)).rejects.toThrow(/bad\.jsonl:2: missing "prediction"/);
  });
});
