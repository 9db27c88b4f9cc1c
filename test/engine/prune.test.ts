// Expert pruning (extension/engine/prune.ts) on every fixture architecture and quantization the repo generates:
// the pruned file, read back by a second, independent GGUF parser (scripts/fixtures/gguf-reader.ts), has the lower
// expert_count, the kept experts' bytes and every other key and tensor unchanged, provenance under moe_lens.; the
// real engine on the pruned file routes and decodes exactly like the original with the same experts ablated (ids
// mapped back through the kept list; gate weights within 5e-4, as the matrices differ in shape); llama.cpp's own
// llama-perplexity on the pruned file equals `perplexity --ablate` of the original within 0.5 %. Refusals, the input never modified, cancel and a full disk leave nothing.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEngineError } from '../../extension/engine/errors';
import { moeShape, planFromSpec, prunedSize, readGgufLayout, writePruned, type PrunePlan } from '../../extension/engine/prune';
import type { Intervention } from '../../extension/engine/types';
import { readGgufHeader } from '../../scripts/fixtures/gguf-reader';
import { tensorByteSize } from '../../scripts/fixtures/gguf-writer';
import { buildTools } from '../../scripts/llama-tools.mjs';
import { llamaPerplexity } from './llama-perplexity';
import { collect, fixture, greedy, newEngine, ROOT } from './helpers';

const TEXT_FILE = path.join(ROOT, 'README.md');
const TEXT = readFileSync(TEXT_FILE, 'utf8');
const dir = mkdtempSync(path.join(os.tmpdir(), 'moe-lens-prune-'));
const engine = newEngine();
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

beforeAll(() => buildTools(['llama-perplexity']), 1_800_000);
afterAll(async () => {
  await engine.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function prune(input: string, spec: string, name = path.basename(input)): Promise<{ output: string; plan: PrunePlan }> {
  const plan = planFromSpec(moeShape(await readGgufLayout(input)), spec);
  const output = path.join(dir, `pruned-${name}`);
  await writePruned(input, output, plan);
  return { output, plan };
}

// [fixture, router, removal (same count per layer; deepseek2's evenly within its 4 groups of 4), context, chunks]
const CASES: [string, string, string, number, number][] = [
  ['moe-llama.gguf', 'Mixtral-style, F32/F16, softmax', '*:0,5', 128, 3],
  ['moe-qwen2.gguf', 'qwen2moe with a shared expert', '0:1,2;1:3,4;2:0,7;3:5,6', 96, 3],
  ['moe-qwen3.gguf', 'qwen3moe, softmax renormalised', '*:1,5', 96, 3],
  ['moe-olmoe.gguf', 'olmoe, softmax not renormalised', '*:0,6', 96, 3],
  ['moe-qwen35.gguf', 'qwen3.5 MoE, shared expert', '*:2,6', 96, 3],
  ['moe-deepseek2.gguf', 'deepseek2, sigmoid with groups and selection bias', '*:0,5,10,15', 96, 3],
  ['moe-gptoss.gguf', 'gpt-oss with expert biases', '*:1,6', 96, 3],
  ['moe-gemma4.gguf', 'gemma4', '*:3', 96, 3],
  ['moe-q8_0.gguf', 'Q8_0', '*:2,3', 96, 3],
  ['moe-q4_k.gguf', 'Q4_K', '*:1,4', 96, 3],
  ['moe-mxfp4.gguf', 'MXFP4', '*:0,7', 96, 3],
];

describe.each(CASES)('pruning %s (%s)', (name, _router, spec, context, chunks) => {
  const input = fixture(name);
  let output = '';
  let plan: PrunePlan;
  const ablate = (): Intervention => ({ ablate: Object.fromEntries(plan.layers.map((l) => [String(l.layer), l.remove])) });

  it('writes the kept experts and leaves every other key and tensor byte-identical; the input is unchanged', async () => {
    const before = sha256(input);
    ({ output, plan } = await prune(input, spec));
    expect(sha256(input)).toBe(before);
    const a = readGgufHeader(input);
    const b = readGgufHeader(output);
    const arch = String(a.metadata.get('general.architecture'));
    const n = Number(a.metadata.get(`${arch}.expert_count`));
    expect(b.metadata.get(`${arch}.expert_count`)).toBe(plan.keepCount);
    expect(b.metadataTypes.get(`${arch}.expert_count`)).toBe(a.metadataTypes.get(`${arch}.expert_count`));
    for (const [key, value] of a.metadata) if (key !== `${arch}.expert_count`) expect(b.metadata.get(key), key).toEqual(value);
    expect([...b.metadata.keys()].filter((k) => !a.metadata.has(k)).every((k) => k.startsWith('moe_lens.'))).toBe(true);
    expect(b.metadata.get('moe_lens.pruned_from')).toBe(name);
    expect(b.metadata.get('moe_lens.pruned_from_sha256')).toBe(before);
    expect(b.metadata.get('moe_lens.original_expert_count')).toBe(n);
    for (const l of plan.layers) expect(b.metadata.get(`moe_lens.original_experts.${l.layer}`)).toEqual(l.keep);
    expect(b.fileSize).toBe(prunedSize(await readGgufLayout(input), plan));

    const bytesA = readFileSync(input);
    const bytesB = readFileSync(output);
    expect(b.tensorOrder).toEqual(a.tensorOrder);
    let sliced = 0;
    for (const tensor of a.tensorOrder) {
      const ta = a.tensors.get(tensor)!;
      const tb = b.tensors.get(tensor)!;
      const dataA = bytesA.subarray(ta.offset, ta.offset + tensorByteSize(ta));
      const dataB = bytesB.subarray(tb.offset, tb.offset + tensorByteSize(tb));
      const layer = plan.layers.find((l) => tensor.startsWith(`blk.${l.layer}.`));
      const perExpert = layer && /(_exps\.|ffn_gate_inp\.(weight|bias)$|exp_probs_b\.)/.test(tensor);
      expect(tb.type).toBe(ta.type);
      if (!perExpert) {
        expect(tb.shape, tensor).toEqual(ta.shape);
        expect(dataB.equals(dataA), tensor).toBe(true);
        continue;
      }
      sliced++;
      expect(tb.shape).toEqual([...ta.shape.slice(0, -1), plan.keepCount]);
      const per = dataA.length / n;
      const expected = Buffer.concat(layer!.keep.map((e) => dataA.subarray(e * per, (e + 1) * per)));
      expect(dataB.equals(expected), tensor).toBe(true);
    }
    expect(sliced).toBeGreaterThanOrEqual(plan.layers.length * 4); // router + gate/up/down at least
  });

  it('routes and decodes greedily like the original with the same experts ablated', async () => {
    const request = { input: { kind: 'text' as const, text: 'The quick brown fox' }, sampling: greedy(8), captureRouting: true };
    await engine.load({ modelPath: input, contextSize: 256 });
    const original = await collect(engine, { ...request, intervention: ablate() });
    const info = await engine.load({ modelPath: output, contextSize: 256 });
    expect(info.routing?.experts).toBe(plan.keepCount);
    const pruned = await collect(engine, request);
    expect(pruned.tokens.map((t) => t.id)).toEqual(original.tokens.map((t) => t.id));
    expect(pruned.tokens.length).toBeGreaterThan(8);
    for (let t = 0; t < original.tokens.length; t++)
      for (let l = 0; l < plan.layers.length; l++) {
        const keep = plan.layers[l].keep;
        expect(pruned.tokens[t].experts[l].map((e) => keep[e]), `token ${t} layer ${l}`).toEqual(original.tokens[t].experts[l]);
        pruned.tokens[t].weights[l].forEach((w, r) => expect(w).toBeCloseTo(original.tokens[t].weights[l][r], 3));
      }
  });

  it("llama.cpp's llama-perplexity on the pruned file equals perplexity --ablate of the original within 0.5 %", async () => {
    await engine.load({ modelPath: input, contextSize: context });
    const ours = await engine.perplexity({ text: TEXT, context, chunks, intervention: ablate() });
    const theirs = await llamaPerplexity(output, TEXT_FILE, context, chunks);
    expect(Math.abs(theirs - ours.perplexity) / ours.perplexity).toBeLessThan(0.005);
  });
});

describe('refusals (one line, nothing written, the input unchanged)', () => {
  const MOE = fixture('moe-llama.gguf');
  const DEEPSEEK = fixture('moe-deepseek2.gguf');
  it.each([
    [MOE, '0:1', /every MoE layer must lose the same number of experts .*1 in layer 0, 0 in layer 1/],
    [MOE, '*:0,1,2,3,4,5,6', /leaves 1, fewer than the 2 the router picks per token/],
    [MOE, '*:8', /expert 8 is out of range: moe-llama.gguf has 8 experts per layer \(0–7\)/],
    [MOE, '9:1', /layer 9 is not a MoE layer/],
    [MOE, '0;1', /^bad --remove SPEC "0;1"/],
    [DEEPSEEK, '*:0,1,2,3', /routes through 4 expert groups of 4: every group must lose the same number of experts, but layer 1 loses 4, 0, 0, 0/],
    [fixture('dense-llama.gguf'), '*:0', /dense model \(no experts\)/],
  ])('%s --remove %s', async (input, spec, message) => {
    const error = await readGgufLayout(input).then((layout) => planFromSpec(moeShape(layout), spec)).catch((e: unknown) => e);
    expect(isEngineError(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('refuses to write over its input, by the same path or another name of it', async () => {
    const copy = path.join(dir, 'input-copy.gguf');
    execFileSync('cp', [MOE, copy]);
    const link = path.join(dir, 'input-link.gguf');
    execFileSync('ln', ['-s', copy, link]);
    const before = sha256(copy);
    const plan = planFromSpec(moeShape(await readGgufLayout(copy)), '*:0');
    for (const out of [copy, link, path.join(dir, '.', 'input-copy.gguf')]) {
      const error = await writePruned(copy, out, plan).catch((e: unknown) => e);
      expect((error as Error).message).toMatch(/is the input: write the pruned model to another file/);
    }
    expect(sha256(copy)).toBe(before);
  });

  it('says when the output folder does not exist', async () => {
    const plan = planFromSpec(moeShape(await readGgufLayout(MOE)), '*:0');
    const error = await writePruned(MOE, path.join(dir, 'no-such-folder', 'out.gguf'), plan).catch((e: unknown) => e);
    expect(isEngineError(error)).toBe(true);
    expect((error as Error).message).toMatch(/^cannot write out\.gguf in .*no-such-folder: the folder does not exist$/);
  });
});

describe('interruptions leave nothing behind', () => {
  const MOE = fixture('moe-llama.gguf');
  it('a cancelled write removes its temporary file and writes no output', async () => {
    const out = path.join(dir, 'cancelled', 'out.gguf');
    mkdirSync(path.dirname(out));
    const plan = planFromSpec(moeShape(await readGgufLayout(MOE)), '*:1');
    const controller = new AbortController();
    controller.abort();
    const error = await writePruned(MOE, out, plan, { signal: controller.signal }).catch((e: unknown) => e);
    expect(isEngineError(error, 'aborted')).toBe(true);
    expect(readdirSync(path.dirname(out))).toEqual([]);
  });

  // A 200 KiB tmpfs (needs root, as in CI's container): the free-space check refuses before writing, and without
  // it the disk fills mid-write (ENOSPC): both a clear error, the folder left empty.
  const mount = path.join(dir, 'small-disk');
  // Probed at collection, mounted only while these tests run (a filtered run must not leave a mount behind).
  const tmpfs = (): void => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=200k', 'tmpfs', mount]);
  };
  const canMount = (() => {
    if (process.getuid?.() !== 0) return false;
    try {
      mkdirSync(mount);
      tmpfs();
      execFileSync('umount', [mount]);
      return true;
    } catch {
      return false;
    }
  })();
  beforeAll(() => {
    if (canMount) tmpfs();
  });
  afterAll(() => {
    if (canMount) execFileSync('umount', [mount]);
  });
  it.skipIf(!canMount).each([false, true])('a full disk is a clear error (free-space check skipped: %s)', async (skipSpaceCheck) => {
    const plan = planFromSpec(moeShape(await readGgufLayout(MOE)), '*:1');
    const error = await writePruned(MOE, path.join(mount, 'out.gguf'), plan, { skipSpaceCheck }).catch((e: unknown) => e);
    expect(isEngineError(error, 'disk-full')).toBe(true);
    expect((error as Error).message).toMatch(/^not enough disk space in .*small-disk to write out.gguf: it needs \d+ bytes/);
    expect(readdirSync(mount)).toEqual([]);
    expect(existsSync(path.join(mount, 'out.gguf'))).toBe(false);
  });
});

describe('pruning a pruned file', () => {
  it('composes the original ids', async () => {
    const first = await prune(fixture('moe-llama.gguf'), '*:0,5', 'twice-1.gguf');
    const second = await prune(first.output, '*:0', 'twice-2.gguf');
    const h = readGgufHeader(second.output);
    expect(h.metadata.get('moe_lens.original_experts.2')).toEqual([2, 3, 4, 6, 7]);
    expect(h.metadata.get('moe_lens.original_expert_count')).toBe(8);
    expect(h.metadata.get('moe_lens.pruned_from')).toBe('pruned-twice-1.gguf');
  });
});
