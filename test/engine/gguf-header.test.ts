// Hostile GGUF headers: every one is refused with one clear line by the engine's file check (which every command
// and the extension go through), never a hang, a stack trace or a crash; thousands of byte-level mutations of a
// valid header each give such an error or a model that still works.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LLAMA_CPP_ARCHITECTURES } from '../../extension/engine/architectures';
import { isEngineError } from '../../extension/engine/errors';
import { validateGgufHeader } from '../../extension/engine/gguf-header';
import { modelFacts, readModelFile } from '../../extension/engine/model-file';
import { MOE, ROOT, greedy, newEngine, runCli } from './helpers';

type Nlc = typeof import('node-llama-cpp');
let nlc: Nlc;
let dir: string;
const good = readFileSync(MOE);
const header = validateGgufHeader(MOE, 'moe-llama.gguf', good.length);

beforeAll(async () => {
  nlc = await import('node-llama-cpp');
  dir = mkdtempSync(path.join(tmpdir(), 'moe-lens-gguf-'));
});

/** readModelFile of `bytes`: the model facts, or the EngineError. Anything else (a TypeError, a hang) fails the test. */
async function check(bytes: Buffer, name = 'mutant.gguf') {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  try {
    const f = await readModelFile(file, nlc);
    return { ok: true as const, facts: modelFacts(f) };
  } catch (error) {
    if (!isEngineError(error)) throw error;
    return { ok: false as const, code: error.code, message: error.message };
  }
}

const u32 = (buf: Buffer, at: number, v: number) => (buf.writeUInt32LE(v, at), buf);
const u64 = (buf: Buffer, at: number, v: bigint) => (buf.writeBigUInt64LE(v, at), buf);
/** Byte offset of the first key's value type (after magic, version, counts and the key string). */
const firstKeyLength = () => Number(good.readBigUInt64LE(24));

describe('the architectures the bundled llama.cpp knows', () => {
  it('are the list in its source (src/llama-arch.cpp)', () => {
    // The source npm run build:native cloned from node-llama-cpp's bundle, for the release its binaries are.
    const { tag } = JSON.parse(readFileSync(path.join(ROOT, 'node_modules', 'node-llama-cpp', 'llama', 'llama.cpp.info.json'), 'utf8'));
    const src = readFileSync(path.join(ROOT, '.cache', `llama.cpp-${tag}`, 'src', 'llama-arch.cpp'), 'utf8');
    const table = src.slice(src.indexOf('LLM_ARCH_NAMES'), src.indexOf('};', src.indexOf('LLM_ARCH_NAMES')));
    const names = [...table.matchAll(/\{\s*LLM_ARCH_\w+,\s*"([^"]+)"\s*\}/g)].map((m) => m[1]).filter((n) => n !== 'clip' && n !== '(unknown)');
    expect([...LLAMA_CPP_ARCHITECTURES]).toEqual(names);
    for (const moe of ['llama', 'qwen2moe', 'qwen35moe', 'deepseek2', 'gpt-oss', 'gemma4', 'mixtral'].filter((a) => names.includes(a))) expect(LLAMA_CPP_ARCHITECTURES.has(moe)).toBe(true);
  });
});

describe('hostile headers', () => {
  it.each([
    ['GGUF version 1', () => u32(Buffer.from(good), 4, 1), /GGUF version 1; llama\.cpp reads versions 2 and 3/],
    ['GGUF version 4', () => u32(Buffer.from(good), 4, 4), /GGUF version 4/],
    ['a big-endian file', () => u32(Buffer.from(good), 4, 0x03000000), /GGUF version 50331648/],
    ['an absurd tensor count', () => u64(Buffer.from(good), 8, 1n << 60n), /claims 27 keys and more than 2\^53 tensors, more than \d+ bytes can hold/],
    ['an absurd key count', () => u64(Buffer.from(good), 16, 0xffffffffffffffffn), /claims more than 2\^53 keys and 43 tensors/],
    ['a key length past the end', () => u64(Buffer.from(good), 24, 1n << 40n), /claims 1099511627776 bytes, past the end of the file|bytes long/],
    ['an unknown value type', () => u32(Buffer.from(good), 32 + firstKeyLength(), 77), /unknown value type 77/],
    ['cut inside the header', () => Buffer.from(good.subarray(0, 300)), /past the end of the file|truncated/],
    ['cut inside the data', () => Buffer.from(good.subarray(0, header.dataOffset + 100)), /truncated|need \d+ bytes/],
  ])('%s', async (_name, make, pattern) => {
    const r = await check(make());
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.message).toMatch(pattern);
    expect(r.message).not.toContain('\n');
  });

  it('an architecture llama.cpp does not know, refused by inspect as by generate', async () => {
    const arch = Buffer.from(good);
    const at = arch.indexOf('llama', arch.indexOf('general.architecture') + 20);
    arch.write('zzzzz', at, 'latin1');
    const file = path.join(dir, 'unknown-arch.gguf');
    writeFileSync(file, arch);
    for (const args of [['inspect', file], ['generate', file, '--prompt', 'hi']]) {
      const r = await runCli(...args);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe('moe-lens: unknown-arch.gguf: llama.cpp does not support the architecture "zzzzz"');
    }
  });
});

describe('fuzz: byte-level mutations of a valid header', () => {
  const engine = newEngine();
  afterAll(() => engine.dispose());

  it('3,000 mutants: each one a clear error or a model with sane facts; the ones that pass still load and generate', async () => {
    // mulberry32: the same mutants on every run.
    let seed = 0x5eed;
    const rand = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const passed: Buffer[] = [];
    const codes = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const bytes = Buffer.from(good);
      const edits = 1 + Math.floor(rand() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rand() * header.dataOffset);
        const kind = rand();
        bytes[at] = kind < 0.3 ? 0xff : kind < 0.5 ? 0 : kind < 0.7 ? bytes[at] ^ (1 << Math.floor(rand() * 8)) : Math.floor(rand() * 256);
      }
      const r = await check(bytes);
      if (r.ok) {
        expect(r.facts.layers).toBeGreaterThanOrEqual(0);
        if (passed.length < 12 && !bytes.equals(good)) passed.push(bytes);
      } else {
        expect(r.message).not.toContain('\n');
        expect(r.message.length).toBeLessThan(400);
        codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
      }
    }
    console.log(`refused: ${JSON.stringify(Object.fromEntries(codes))}; accepted: ${3000 - [...codes.values()].reduce((a, b) => a + b, 0)}`);
    expect([...codes.keys()].every((c) => ['truncated-gguf', 'not-gguf', 'unsupported-gguf-version', 'unsupported-architecture'].includes(c))).toBe(true);
    // Mutants the header check accepts (changed token texts, metadata values, weights' names…) go through the real
    // engine: a clean error or an answer, and the engine process survives either way.
    for (const [i, bytes] of passed.entries()) {
      const file = path.join(dir, `passed-${i}.gguf`);
      writeFileSync(file, bytes);
      try {
        await engine.load({ modelPath: file, threads: 1, contextSize: 256 });
        const r = await engine.generate({ input: { kind: 'text', text: 'hello' }, sampling: greedy(4), captureRouting: true });
        expect(r.generatedTokens).toBeGreaterThanOrEqual(0);
      } catch (error) {
        expect(isEngineError(error), String(error)).toBe(true);
        expect((error as Error).message).not.toContain('\n');
      }
    }
  }, 300_000);
});
