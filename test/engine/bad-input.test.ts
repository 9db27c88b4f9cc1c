// Bad input through the CLI, as a user meets it: one clear line on stderr, a non-zero exit, no stack
// trace, no hang; and an engine process killed mid-generation.
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, greedy, MOE, newEngine, runCli as cli } from './helpers';

function expectOneCleanLine(result: { code: number; stderr: string }, pattern: RegExp) {
  expect(result.code).not.toBe(0);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^moe-lens: /);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

describe('bad model files', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'moe-lens-bad-'));
    const good = readFileSync(MOE);
    writeFileSync(path.join(dir, 'empty.gguf'), '');
    writeFileSync(path.join(dir, 'text.gguf'), 'this is not a model\n');
    writeFileSync(path.join(dir, 'truncated.gguf'), good.subarray(0, Math.floor(good.length / 2)));
    writeFileSync(path.join(dir, 'header-cut.gguf'), good.subarray(0, 200));
    mkdirSync(path.join(dir, 'folder.gguf'));
    // Same file with general.architecture renamed to one llama.cpp does not know.
    const arch = Buffer.from(good);
    const key = arch.indexOf('general.architecture');
    const value = arch.indexOf('llama', key + 'general.architecture'.length);
    arch.write('zzzzz', value, 'latin1');
    writeFileSync(path.join(dir, 'unknown-arch.gguf'), arch);
  });

  it.each([
    ['missing.gguf', /not found/],
    ['folder.gguf', /not a file/],
    ['empty.gguf', /empty/],
    ['text.gguf', /not a GGUF/],
    ['truncated.gguf', /truncated/],
    ['header-cut.gguf', /truncated|damaged/],
  ])('inspect %s', async (name, pattern) => {
    expectOneCleanLine(await cli('inspect', path.join(dir, name)), pattern);
  });

  it('generate with a truncated file', async () => {
    expectOneCleanLine(await cli('generate', path.join(dir, 'truncated.gguf'), '--prompt', 'hi'), /truncated/);
  });

  it('generate with an unsupported architecture', async () => {
    expectOneCleanLine(await cli('generate', path.join(dir, 'unknown-arch.gguf'), '--prompt', 'hi'), /architecture "zzzzz"/);
  });

  it('generate with a prompt longer than the context', async () => {
    const result = await cli('generate', MOE, '--context', '256', '--prompt', 'expert router '.repeat(300));
    expectOneCleanLine(result, /context holds 256/);
  });

  it('a bad option value', async () => {
    const result = await cli('generate', MOE, '--prompt', 'x', '--cpu-moe', 'lots');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/--cpu-moe/);
  });
});

describe('engine process crash', () => {
  const engine = newEngine();
  afterAll(() => engine.dispose());

  it('fails the running call clearly and recovers on the next one', async () => {
    await engine.load({ modelPath: MOE, contextSize: 256 });
    const pid = engine.pid!;
    // A long prompt keeps the engine busy (prompt processing) while it is killed.
    const running = engine.generate({ input: { kind: 'text', text: 'expert router '.repeat(110) }, sampling: greedy(30) });
    setTimeout(() => process.kill(pid, 'SIGKILL'), 20);
    await expect(running).rejects.toMatchObject({ code: 'engine-crashed' });
    // The next request starts a fresh engine process and reloads the model.
    const after = await collect(engine, { input: { kind: 'text', text: 'The router' }, sampling: greedy(3) });
    expect(engine.pid).not.toBe(pid);
    expect(after.result.generatedTokens).toBe(3);
    expect(after.tokens.every((t) => t.experts.length === 4)).toBe(true);
  });
});
