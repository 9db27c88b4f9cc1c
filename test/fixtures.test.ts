import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureFixtures, fixturePath, isUpToDate, specHash, DEFAULT_FIXTURES_DIR } from '../scripts/fixtures/generate';
import { DEFAULT_MODELS, MODEL_SPECS, buildVocab, TOKEN_TYPE, type ModelSpec } from '../scripts/fixtures/models';
import { GgufModelFile, readGgufHeader } from '../scripts/fixtures/gguf-reader';
import { GgmlType, GgufType, kv, writeGguf } from '../scripts/fixtures/gguf-writer';
import { f16BitsToF32, f32ToF16Bits, roundF16 } from '../scripts/fixtures/f16';

const tmpDirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'moe-lens-fixtures-'));
  tmpDirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

const fixture = (name: string): string => fixturePath(name, DEFAULT_FIXTURES_DIR);

describe('f16 conversion', () => {
  it('rounds to nearest even and handles the edges', () => {
    expect(f32ToF16Bits(1)).toBe(0x3c00);
    expect(f32ToF16Bits(-2)).toBe(0xc000);
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // rounds up to +inf
    expect(f32ToF16Bits(1e-8)).toBe(0); // underflow
    expect(f32ToF16Bits(2 ** -24)).toBe(1); // smallest subnormal
    expect(f32ToF16Bits(3 * 2 ** -25)).toBe(2); // tie between 1 and 2 subnormal units → even (2)
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie → even mantissa (1.0)
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (1 + 2^-9)
    expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN)))).toBe(true);
    expect(roundF16(0.1)).toBeCloseTo(0.0999755859375, 12);
    for (let h = 0; h < 0x7c00; h += 37) expect(f32ToF16Bits(f16BitsToF32(h))).toBe(h);
  });
});

describe('GGUF writer / reader', () => {
  it('round-trips every metadata type and F32/F16 tensors with aligned data', () => {
    const file = path.join(tmpDir(), 'rt.gguf');
    const values = [0.5, -1.25, 3, 1e-3, 7];
    writeGguf(file, {
      kvs: [
        kv.u8('a.u8', 200), kv.i8('a.i8', -100), kv.u16('a.u16', 60000), kv.i16('a.i16', -30000),
        kv.u32('a.u32', 4000000000), kv.i32('a.i32', -2000000000), kv.u64('a.u64', 2n ** 40n), kv.i64('a.i64', -(2n ** 40n)),
        kv.f32('a.f32', 0.25), kv.f64('a.f64', Math.PI), kv.bool('a.bool', true), kv.str('a.str', 'héllo ▁ wörld'),
        kv.strs('a.strs', ['x', '', 'zz']), kv.f32s('a.f32s', [1.5, -2]), kv.i32s('a.i32s', [1, -2, 3]),
      ],
      tensors: [
        { name: 't32', shape: [5], type: GgmlType.F32, fill: (o) => o.set(values) },
        { name: 't16', shape: [5, 1], type: GgmlType.F16, fill: (o) => o.set(values) },
        { name: 'big', shape: [3, 2, 2], type: GgmlType.F32, fill: (o) => o.forEach((_, i) => (o[i] = i)) },
      ],
    });
    const f = new GgufModelFile(file);
    try {
      const m = f.metadata;
      expect(m.get('a.u8')).toBe(200);
      expect(m.get('a.i8')).toBe(-100);
      expect(m.get('a.u16')).toBe(60000);
      expect(m.get('a.i16')).toBe(-30000);
      expect(m.get('a.u32')).toBe(4000000000);
      expect(m.get('a.i32')).toBe(-2000000000);
      expect(m.get('a.u64')).toBe(2n ** 40n);
      expect(m.get('a.i64')).toBe(-(2n ** 40n));
      expect(m.get('a.f32')).toBe(0.25);
      expect(m.get('a.f64')).toBe(Math.PI);
      expect(m.get('a.bool')).toBe(true);
      expect(m.get('a.str')).toBe('héllo ▁ wörld');
      expect(m.get('a.strs')).toEqual(['x', '', 'zz']);
      expect(m.get('a.f32s')).toEqual([1.5, -2]);
      expect(m.get('a.i32s')).toEqual([1, -2, 3]);
      expect(f.header.metadataTypes.get('a.strs')).toBe(GgufType.ARRAY);
      expect(Array.from(f.tensor('t32'))).toEqual(values.map(Math.fround));
      expect(Array.from(f.tensor('t16'))).toEqual(values.map(roundF16));
      expect(f.info('big').shape).toEqual([3, 2, 2]);
      expect(Array.from(f.tensor('big'))).toEqual([...Array(12).keys()]);
      for (const name of f.header.tensorOrder) expect(f.info(name).offset % 32).toBe(0);
      expect(f.header.dataOffset % 32).toBe(0);
    } finally {
      f.close();
    }
  });

  it('rejects duplicate tensor names and keys', () => {
    const file = path.join(tmpDir(), 'dup.gguf');
    const t = { name: 'x', shape: [1], type: GgmlType.F32, fill: () => {} };
    expect(() => writeGguf(file, { kvs: [], tensors: [t, t] })).toThrow(/duplicate tensor/);
    expect(() => writeGguf(file, { kvs: [kv.u32('k', 1), kv.u32('k', 2)], tensors: [] })).toThrow(/duplicate key/);
  });
});

describe('vocabulary', () => {
  it('is a valid SPM vocabulary with unique tokens', () => {
    const v = buildVocab();
    expect(new Set(v.tokens).size).toBe(v.tokens.length);
    expect(v.tokens.slice(0, 5)).toEqual(['<unk>', '<s>', '</s>', '[INST]', '[/INST]']);
    expect(v.types.slice(1, 5)).toEqual([3, 3, 3, 3]);
    for (let b = 0; b < 256; b++) {
      expect(v.tokens[5 + b]).toBe(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
      expect(v.types[5 + b]).toBe(TOKEN_TYPE.BYTE);
    }
    expect(v.tokens.length).toBeGreaterThan(500);
    expect(v.tokens.length).toBeLessThan(1200);
    for (const p of ['▁the', '▁function', '▁return', '(', ')', '{', '}', ';', '▁']) expect(v.tokens).toContain(p);
    // prefix closure of normal pieces: SPM can only build a piece from pieces that exist
    const normal = new Set(v.tokens.filter((_, i) => v.types[i] === TOKEN_TYPE.NORMAL));
    for (const p of normal) {
      const chars = [...p];
      if (chars.length > 1) expect(normal.has(chars.slice(0, -1).join(''))).toBe(true);
    }
  });
});

describe('generator', () => {
  it('is deterministic: two runs give identical bytes, equal to the fixtures in use', () => {
    const a = tmpDir();
    const b = tmpDir();
    ensureFixtures({ outDir: a, force: true });
    ensureFixtures({ outDir: b, force: true });
    for (const name of DEFAULT_MODELS) {
      const fa = fs.readFileSync(fixturePath(name, a));
      const fb = fs.readFileSync(fixturePath(name, b));
      expect(fa.equals(fb), name).toBe(true);
      expect(fa.equals(fs.readFileSync(fixture(name))), `${name} vs fixtures/`).toBe(true);
    }
  });

  it('skips up-to-date files and regenerates on spec, hash or size changes', () => {
    const dir = tmpDir();
    const only = ['dense-llama'];
    expect(ensureFixtures({ outDir: dir, only })[0].generated).toBe(true);
    expect(ensureFixtures({ outDir: dir, only })[0].generated).toBe(false);

    // a changed spec (same name) has a new hash and regenerates, with different bytes
    const before = fs.readFileSync(fixturePath('dense-llama', dir));
    const changed: Record<string, ModelSpec> = { 'dense-llama': { ...MODEL_SPECS['dense-llama'], seed: 777 } };
    expect(specHash(changed['dense-llama'])).not.toBe(specHash(MODEL_SPECS['dense-llama']));
    expect(isUpToDate(changed['dense-llama'], dir)).toBe(false);
    expect(ensureFixtures({ outDir: dir, only, specs: changed })[0].generated).toBe(true);
    expect(fs.readFileSync(fixturePath('dense-llama', dir)).equals(before)).toBe(false);
    expect(ensureFixtures({ outDir: dir, only, specs: changed })[0].generated).toBe(false);

    // back to the real spec
    expect(ensureFixtures({ outDir: dir, only })[0].generated).toBe(true);
    expect(fs.readFileSync(fixturePath('dense-llama', dir)).equals(before)).toBe(true);

    // a truncated file or a missing spec record regenerates
    fs.truncateSync(fixturePath('dense-llama', dir), 1000);
    expect(ensureFixtures({ outDir: dir, only })[0].generated).toBe(true);
    fs.rmSync(path.join(dir, 'dense-llama.spec.json'));
    expect(ensureFixtures({ outDir: dir, only })[0].generated).toBe(true);
  });
});

describe('generated models (read back with our reader)', () => {
  const meta = (name: string) => readGgufHeader(fixture(name));

  it('moe-llama is a Mixtral-style MoE', () => {
    const h = meta('moe-llama');
    const m = h.metadata;
    expect(m.get('general.architecture')).toBe('llama');
    expect(m.get('llama.expert_count')).toBe(8);
    expect(m.get('llama.expert_used_count')).toBe(2);
    expect(m.get('llama.block_count')).toBe(4);
    expect(m.get('llama.attention.head_count')).toBe(4);
    expect(m.get('llama.attention.head_count_kv')).toBe(2);
    for (let i = 0; i < 4; i++) {
      expect(h.tensors.get(`blk.${i}.ffn_gate_inp.weight`)?.shape).toEqual([64, 8]);
      expect(h.tensors.get(`blk.${i}.ffn_gate_exps.weight`)?.shape).toEqual([64, 128, 8]);
      expect(h.tensors.get(`blk.${i}.ffn_up_exps.weight`)?.shape).toEqual([64, 128, 8]);
      expect(h.tensors.get(`blk.${i}.ffn_down_exps.weight`)?.shape).toEqual([128, 64, 8]);
      expect(h.tensors.get(`blk.${i}.attn_k.weight`)?.shape).toEqual([64, 32]);
      expect(h.tensors.has(`blk.${i}.ffn_gate.weight`)).toBe(false);
    }
    expect(h.tensors.get('output.weight')?.type).toBe(GgmlType.F32);
    for (const t of h.tensors.values()) expect(t.type).toBe(GgmlType.F32);
  });

  it('dense-llama has no experts and a tied output', () => {
    const h = meta('dense-llama');
    expect(h.metadata.get('general.architecture')).toBe('llama');
    expect(h.metadata.has('llama.expert_count')).toBe(false);
    expect(h.metadata.has('llama.expert_used_count')).toBe(false);
    expect([...h.tensors.keys()].some((n) => n.includes('exps') || n.includes('gate_inp'))).toBe(false);
    expect(h.tensors.get('blk.0.ffn_gate.weight')?.shape).toEqual([64, 128]);
    expect(h.tensors.has('output.weight')).toBe(false);
  });

  it('moe-qwen2 is qwen2moe with a shared expert', () => {
    const h = meta('moe-qwen2');
    const m = h.metadata;
    expect(m.get('general.architecture')).toBe('qwen2moe');
    expect(m.get('qwen2moe.expert_count')).toBe(8);
    expect(m.get('qwen2moe.expert_used_count')).toBe(2);
    expect(m.get('qwen2moe.expert_feed_forward_length')).toBe(64);
    expect(m.get('qwen2moe.expert_shared_feed_forward_length')).toBe(128);
    expect(h.tensors.get('blk.0.ffn_gate_exps.weight')?.shape).toEqual([64, 64, 8]);
    expect(h.tensors.get('blk.0.ffn_gate_inp_shexp.weight')?.shape).toEqual([64]);
    expect(h.tensors.get('blk.0.ffn_up_shexp.weight')?.shape).toEqual([64, 128]);
    expect(h.tensors.get('blk.0.attn_q.bias')?.shape).toEqual([64]);
  });

  it('moe-qwen35 is qwen35moe: delta-net and gated attention layers, routed and shared experts', () => {
    const h = meta('moe-qwen35');
    const m = h.metadata;
    expect(m.get('general.architecture')).toBe('qwen35moe');
    expect(m.get('qwen35moe.full_attention_interval')).toBe(2);
    expect(m.get('qwen35moe.rope.dimension_sections')).toEqual([3, 3, 2, 0]);
    expect(m.get('qwen35moe.ssm.inner_size')).toBe(64);
    for (const i of [0, 2]) {
      expect(h.tensors.get(`blk.${i}.attn_qkv.weight`)?.shape).toEqual([64, 128]);
      expect(h.tensors.get(`blk.${i}.ssm_conv1d.weight`)?.shape).toEqual([4, 128]);
      expect(h.tensors.has(`blk.${i}.attn_q.weight`)).toBe(false);
    }
    for (const i of [1, 3]) {
      expect(h.tensors.get(`blk.${i}.attn_q.weight`)?.shape).toEqual([64, 128]); // query and gate
      expect(h.tensors.get(`blk.${i}.attn_q_norm.weight`)?.shape).toEqual([16]);
      expect(h.tensors.has(`blk.${i}.ssm_a`)).toBe(false);
    }
    for (let i = 0; i < 4; i++) {
      expect(h.tensors.get(`blk.${i}.ffn_gate_exps.weight`)?.shape).toEqual([64, 32, 8]);
      expect(h.tensors.get(`blk.${i}.ffn_up_shexp.weight`)?.shape).toEqual([64, 64]);
      expect(h.tensors.get(`blk.${i}.post_attention_norm.weight`)?.shape).toEqual([64]);
    }
  });

  it.each(DEFAULT_MODELS)('%s has the shared SPM tokenizer and a chat template', (name) => {
    const m = meta(name).metadata;
    const v = buildVocab();
    expect(m.get('tokenizer.ggml.model')).toBe('llama');
    expect(m.get('tokenizer.ggml.tokens')).toEqual(v.tokens);
    expect(m.get('tokenizer.ggml.token_type')).toEqual(v.types);
    expect(m.get('tokenizer.ggml.bos_token_id')).toBe(1);
    expect(m.get('tokenizer.ggml.eos_token_id')).toBe(2);
    expect(m.get('tokenizer.ggml.add_bos_token')).toBe(true);
    expect(String(m.get('tokenizer.chat_template'))).toContain('[/INST]');
  });
});
