// Server dialects as data: detection from `/v1/models` entries, the capabilities each dialect gives at load, the
// sampling fields and routing request each sends, and its end-of-answer routing decoder.
import { describe, expect, it } from 'vitest';
import { DIALECTS, detectDialect, dialectCapabilities, type ServerDialect } from '../../extension/engine/dialects';
import { encodeSglangRouting } from '../../extension/engine/server-routing';
import { npy } from './stub-server';

const dialect = (kind: string): ServerDialect => DIALECTS.find((d) => d.kind === kind)!;

describe('dialects', () => {
  it('each kind once, the generic one last', () => {
    const kinds = DIALECTS.map((d) => d.kind);
    expect(new Set(kinds).size).toBe(kinds.length);
    expect(kinds.at(-1)).toBe('openai-compatible');
  });

  it('detects each server from its /v1/models entry', () => {
    const cases: [Parameters<typeof detectDialect>[0], string][] = [
      [{ id: 'm', owned_by: 'moe-lens' }, 'moe-lens'],
      [{ id: 'm', owned_by: 'llamacpp', moe_lens: { context_size: 1, layers: 1, moe_layers: [0], experts: 2, experts_per_token: 1, architecture: 'x', is_moe: true } }, 'moe-lens'],
      [{ id: 'm', owned_by: 'llamacpp' }, 'llama.cpp'],
      [{ id: 'm', meta: { n_ctx_train: 4096 } }, 'llama.cpp'],
      [{ id: 'm', owned_by: 'vLLM' }, 'vllm'],
      [{ id: 'm', owned_by: 'sglang' }, 'sglang'],
      [{ id: 'm', owned_by: 'library' }, 'ollama'],
      [{ id: 'm', owned_by: 'ollama' }, 'ollama'],
      [{ id: 'm', owned_by: 'organization_owner' }, 'lm-studio'],
      [{ id: 'm', owned_by: 'lmstudio' }, 'lm-studio'],
      [{ id: 'm', owned_by: 'openai' }, 'openai-compatible'],
      [{ id: 'm' }, 'openai-compatible'],
      [undefined, 'openai-compatible'],
    ];
    expect(cases.map(([entry]) => detectDialect(entry).kind)).toEqual(cases.map(([, kind]) => kind));
  });

  it('capabilities at load: routing, why not, token ids and counting', () => {
    const caps = (kind: string, context: Parameters<typeof dialectCapabilities>[1]) => dialectCapabilities(dialect(kind), context);
    const moe = { context_size: 1, layers: 2, moe_layers: [0, 1], experts: 8, experts_per_token: 2, architecture: 'x', is_moe: true };
    expect(caps('moe-lens', { shapeKnown: true, stream: true, meta: moe })).toMatchObject({ routingIds: true, gateWeights: true, tokenIds: true, tokenCounting: 'exact' });
    expect(caps('moe-lens', { shapeKnown: false, stream: true, meta: { ...moe, is_moe: false } })).toMatchObject({ routingIds: false, gateWeights: false, routingAbsent: 'dense-model' });
    expect(caps('llama.cpp', { shapeKnown: true, stream: true })).toMatchObject({ routingIds: false, tokenIds: false, tokenCounting: 'exact', routingAbsent: 'server-does-not-report' });
    expect(caps('vllm', { shapeKnown: false, stream: true })).toMatchObject({ routingIds: false, routingAbsent: 'vllm-streaming', tokenCounting: 'exact' });
    expect(caps('vllm', { shapeKnown: false, stream: false })).toMatchObject({ routingIds: true, gateWeights: false });
    expect(caps('sglang', { shapeKnown: false, stream: true })).toMatchObject({ routingIds: false, routingAbsent: 'shape-unknown', tokenCounting: 'estimate' });
    expect(caps('sglang', { shapeKnown: true, stream: true }).routingIds).toBe(true);
    for (const kind of ['ollama', 'lm-studio', 'openai-compatible'])
      expect(caps(kind, { shapeKnown: true, stream: false })).toMatchObject({ routingIds: false, routingAbsent: 'server-does-not-report', tokenCounting: 'estimate', interventions: false });
  });

  it('sampling fields beyond OpenAI, by dialect', () => {
    const s = { topK: 20, minP: 0.05, repeatPenalty: 1.1, repeatLastN: 64 };
    const llama = { top_k: 20, min_p: 0.05, repeat_penalty: 1.1, repeat_last_n: 64 };
    expect(dialect('llama.cpp').samplingExtras?.(s)).toEqual(llama);
    expect(dialect('moe-lens').samplingExtras?.(s)).toEqual(llama);
    expect(dialect('vllm').samplingExtras?.(s)).toEqual({ top_k: 20, min_p: 0.05, repetition_penalty: 1.1 });
    expect(dialect('sglang').samplingExtras?.({ topK: 5 })).toEqual({ top_k: 5 });
    for (const kind of ['ollama', 'lm-studio', 'openai-compatible']) expect(dialect(kind).samplingExtras).toBeUndefined();
  });

  it('routing requests and end-of-answer decoders', () => {
    expect(dialect('sglang').routing?.request(true)).toEqual({ return_routed_experts: true, logprobs: true });
    expect(dialect('vllm').routing?.request(false)).toEqual({ logprobs: 0 });
    expect(dialect('moe-lens').routing?.request(true)).toEqual({ return_routed_experts: true });
    expect(dialect('moe-lens').routing?.endOfAnswer).toBeUndefined();

    // SGLang: the payload spread over chunks, [prompt + generated tokens, layers, k]; the prompt's rows dropped.
    const sglang = dialect('sglang').routing!.endOfAnswer!;
    const ids = [1, 2, 3, 0, 4, 5, 6, 7, 0, 1, 2, 3]; // 3 tokens × 2 layers × 2
    const b64 = encodeSglangRouting(ids);
    const payloads = [b64.slice(0, 8), b64.slice(8)].map((p) => sglang.payload({ sgl_ext: { routed_experts: p } }));
    const routing = sglang.decode(payloads, { layers: 2, k: 2 }, 1)!;
    expect({ tokens: routing.tokens, layers: routing.layers, k: routing.k }).toEqual({ tokens: 2, layers: 2, k: 2 });
    expect(Array.from(routing.experts)).toEqual(ids.slice(4));
    expect(sglang.payload({ sgl_ext: { routed_experts: '' } })).toBeUndefined();
    expect(sglang.decode([], { layers: 2, k: 2 }, 0)).toBeUndefined();
    expect(sglang.decode([b64], undefined, 0)).toBeUndefined();

    // vLLM: the last payload, an .npy of the generated tokens.
    const vllm = dialect('vllm').routing!.endOfAnswer!;
    const decoded = vllm.decode([vllm.payload({ routed_experts: npy('<i4', [1, 2, 2], [3, 1, 0, 2]).toString('base64') })], undefined, 5)!;
    expect(decoded.tokens).toBe(1);
    expect(Array.from(decoded.experts)).toEqual([3, 1, 0, 2]);
    expect(vllm.payload({})).toBeUndefined();
    expect(vllm.decode([], undefined, 0)).toBeUndefined();
  });
});
