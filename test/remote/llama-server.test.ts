// The remote engine and the CLI against a real llama-server (llama.cpp's own, built from the bundled source) on a
// MoE model (the trained demo): /v1/models, streaming chat, exact token counts, cancel, an eval with --concurrency 4, and
// the server killed mid-run: a clear error, then a resumed run that redoes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { RemoteEngine } from '../../extension/engine/remote-engine';
import { isEngineError } from '../../extension/engine/errors';
import type { RemoteLoadOptions, TokenFrame } from '../../extension/engine/types';
import { registerEvalCommands } from '../../extension/cli/eval-commands';
import { remoteOptions } from '../../extension/cli/main';
import { createAnyEngine } from '../../extension/engine/any-engine';
import { loadSuite } from '../../extension/evals/suite';
import { readSamples, runEval } from '../../extension/evals/runner';
import type { EvalProgress } from '../../extension/evals/types';
import { formatLoadTarget } from '../../extension/engine/backends';
import { startLlamaServer, type RunningServer } from './servers';

let server: RunningServer;
const dir = mkdtempSync(path.join(tmpdir(), 'llama-server-'));
const options = (): RemoteLoadOptions => ({ backend: 'remote', endpoint: server.url });
const chat = { kind: 'chat' as const, messages: [{ role: 'user' as const, content: 'Tell me about the experts.' }] };

beforeAll(async () => {
  server = await startLlamaServer({ parallel: 4, slotContext: 512 });
});
afterAll(async () => {
  await server?.kill();
  rmSync(dir, { recursive: true, force: true });
});

/** A suite of `n` short documents, chat mode, 24 greedy tokens per summary. */
function writeSuite(name: string, n: number, maxTokens = 24): string {
  const folder = path.join(dir, name);
  const words = 'router expert token layer gate weight prompt answer cache context'.split(' ');
  const items = Array.from({ length: n }, (_, i) => ({
    id: `doc-${i}`,
    document: Array.from({ length: 40 }, (_, w) => words[(i * 7 + w * 3) % words.length]).join(' '),
    summary: words.slice(0, 5 + (i % 3)).join(' '),
  }));
  rmSync(folder, { recursive: true, force: true });
  writeFileSync(path.join(dir, `${name}.jsonl`), items.map((x) => JSON.stringify(x)).join('\n') + '\n');
  const suite = path.join(dir, `${name}.yaml`);
  writeFileSync(
    suite,
    [`name: ${name}`, `items: ${name}.jsonl`, 'mode: chat', 'variants:', '  - name: plain', '    template: "Summarize: {document}"', 'generation:', `  maxTokens: ${maxTokens}`, '  temperature: 0', '  seed: 1', ''].join('\n'),
  );
  return suite;
}

describe('llama-server', () => {
  it('/v1/models: detected as llama.cpp, its slot context, no routing and why, exact token counts', async () => {
    const engine = new RemoteEngine();
    const info = await engine.load(options());
    expect(info.remote).toMatchObject({ server: 'llama.cpp', endpoint: server.url });
    // llama-server's model id is the file's path; the name shown is the file's short name, the id is kept for requests.
    expect(info.name).toBe('demo-moe');
    expect(info.remote?.model).toMatch(/\/demo-moe\.gguf$/);
    expect(info.contextSize).toBe(512);
    expect(info.trainContextLength).toBe(512);
    expect(info.capabilities).toMatchObject({ routingIds: false, gateWeights: false, tokenIds: false, tokenCounting: 'exact', routingAbsent: 'server-does-not-report', concurrentRequests: true });
    expect(info.placement).toBeUndefined();
  });

  it('streams a chat answer; the counted prompt tokens equal what the server evaluated', async () => {
    const engine = new RemoteEngine();
    await engine.load(options());
    const counted = await engine.countTokens(chat);
    const frames: TokenFrame[] = [];
    const result = await engine.generate({ input: chat, sampling: { maxTokens: 12, temperature: 0 } }, { onFrame: (f) => frames.push(f) });
    expect(result.generatedTokens).toBe(12);
    expect(result.stopReason).toBe('max-tokens');
    expect(frames.length).toBeGreaterThan(1);
    expect(frames.map((f) => f.textDelta).join('')).toBe(result.text);
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.promptTokens).toBe(counted);
    const ids = await engine.tokenize('experts and routers');
    expect(ids.length).toBeGreaterThan(1);
    // SentencePiece adds a leading space to the first piece.
    expect((await engine.detokenize(ids)).trimStart()).toBe('experts and routers');
  });

  it('cancel: aborting the request stops the answer with what it had; the server answers the next one', async () => {
    const engine = new RemoteEngine();
    await engine.load(options());
    const controller = new AbortController();
    let streamed = '';
    const result = await engine.generate(
      { input: { kind: 'text', text: 'Once' }, sampling: { maxTokens: 400, temperature: 0 } },
      {
        signal: controller.signal,
        onFrame: (f) => {
          streamed += f.textDelta;
          controller.abort();
        },
      },
    );
    expect(result.stopReason).toBe('aborted');
    expect(result.text).toBe(streamed);
    expect(result.text.length).toBeGreaterThan(0);
    const next = await engine.generate({ input: { kind: 'text', text: 'Twice' }, sampling: { maxTokens: 3, temperature: 0 } });
    expect(next.generatedTokens).toBe(3);
  });

  it('moe-lens eval --endpoint --concurrency 4: every sample, ordered, with the throughput', async () => {
    const suitePath = writeSuite('concurrent', 8);
    const out: string[] = [];
    const err: string[] = [];
    const program = new Command('moe-lens').exitOverride();
    registerEvalCommands(program, { createEngine: () => createAnyEngine(), stdout: (t) => out.push(t), stderr: (t) => err.push(t), remoteOptions });
    const outDir = path.join(dir, 'concurrent-run');
    await program.parseAsync(['node', 'moe-lens', 'eval', suitePath, '--endpoint', server.url, '--concurrency', '4', '--out', outDir]);
    const { samples } = await readSamples(path.join(outDir, 'samples.jsonl'));
    expect(samples.map((s) => s.itemId)).toEqual((await loadSuite(suitePath)).items.map((i) => i.id));
    expect(samples.every((s) => !s.error && s.output.length > 0 && s.speed?.generatedTokens === 24)).toBe(true);
    const run = JSON.parse(readFileSync(path.join(outDir, 'run.json'), 'utf8'));
    expect(run.status).toBe('completed');
    expect(run.throughput).toMatchObject({ concurrency: 4, samples: 8 });
    expect(run.throughput.generatedTokensPerSecond).toBeGreaterThan(0);
    expect(out.join('')).toMatch(/throughput: 8 samples in .* at concurrency 4: [\d.]+ samples\/min, [\d.]+ generated tok\/s/);
  });

  it('the server killed mid-run: a clear error; restarted, the resumed run redoes nothing', async () => {
    const suite = await loadSuite(writeSuite('killed', 16, 48));
    const remote = options();
    const key = formatLoadTarget(remote);
    const outDir = path.join(dir, 'killed-run');
    let written = 0;
    let killing: Promise<void> | undefined;
    const first = runEval({
      suite,
      models: [key],
      modelOptions: () => remote,
      concurrency: 4,
      engine: new RemoteEngine({ attempts: 2, retryDelaysMs: [50] }),
      outDir,
      onProgress: (p: EvalProgress) => {
        if (p.kind === 'sample' && ++written === 3) killing = server.kill();
      },
    });
    let error: unknown;
    await first.catch((e: unknown) => (error = e));
    await killing;
    expect(isEngineError(error)).toBe(true);
    expect((error as Error).message).toMatch(/cannot connect to http:\/\/127\.0\.0\.1:\d+: connection refused|closed the connection/);
    const before = (await readSamples(path.join(outDir, 'samples.jsonl'))).samples;
    const done = before.filter((s) => !s.error);
    expect(done.length).toBeGreaterThanOrEqual(3);
    expect(done.length).toBeLessThan(16);
    // Ordered: the finished samples are the first ones of the work list.
    expect(done.map((s) => s.itemId)).toEqual(suite.items.slice(0, done.length).map((i) => i.id));
    expect(JSON.parse(readFileSync(path.join(outDir, 'run.json'), 'utf8')).status).toBe('failed');

    server = await startLlamaServer({ port: server.port, parallel: 4, slotContext: 512 });
    const generatedAgain: string[] = [];
    let resumed = -1;
    const second = await runEval({
      suite,
      models: [key],
      modelOptions: () => remote,
      concurrency: 4,
      engine: new RemoteEngine(),
      outDir,
      onProgress: (p) => {
        if (p.kind === 'start') resumed = p.resumed;
        if (p.kind === 'sample') generatedAgain.push(p.itemId!);
      },
    });
    expect(resumed).toBe(done.length);
    expect(generatedAgain.sort()).toEqual(suite.items.slice(done.length).map((i) => i.id).sort());
    expect(second.info.status).toBe('completed');
    expect(second.samples).toHaveLength(16);
    // The samples from before the kill are kept as they were (same start times).
    const kept = new Map(second.samples.map((s) => [s.itemId, s.startedAt]));
    for (const s of done) expect(kept.get(s.itemId)).toBe(s.startedAt);
  });
});
