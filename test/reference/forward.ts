/**
 * Independent TypeScript reference forward pass for the GGUF test models (ground truth for router capture).
 *
 * It reads the GGUF with this repo's own reader (scripts/fixtures/gguf-reader.ts, no llama.cpp code) and
 * recomputes, token by token, what llama.cpp's CPU backend computes for the architectures below.
 *
 * Supported architectures
 *   - `llama`    (dense, or Mixtral-style MoE when `llama.expert_count` > 0): RoPE NORMAL mode (adjacent
 *                pairs), router softmax → top-k → weights renormalised to sum 1 (`ffn_moe_weights_norm`).
 *   - `qwen2moe` : RoPE NEOX mode (pairs i, i+n_rot/2), Q/K/V biases, router softmax → top-k, weights NOT
 *                renormalised (final node `ffn_moe_weights`), plus a shared expert FFN scaled by
 *                sigmoid(ffn_gate_inp_shexp · x) (computed as silu(x)/x like llama.cpp).
 *   - `qwen3moe` : RoPE NEOX, per-head Q and K RMS norms with weights, router softmax → top-k → renormalised, no
 *                shared expert (`expert_feed_forward_length` wide experts).
 *   - `olmoe`    : RoPE NEOX, Q and K RMS norms over the whole projections (before the split into heads), router
 *                softmax → top-k, weights NOT renormalised.
 *   - `gpt-oss` (llama.cpp's openai-moe): RoPE NEOX, Q/K/V and output biases, a learned sink logit per head
 *                in the attention softmax's denominator, sliding-window attention (`<arch>.attention.sliding_window`)
 *                on layers 0, 2, 4, ... (period 2), `post_attention_norm` before the FFN, router bias, top-k on the
 *                router logits then softmax over the k chosen logits (`ffn_moe_weights_softmax`), expert biases,
 *                and the clamped SwiGLU x·σ(1.702x)·(y+1) with x = min(gate, 7), y = clamp(up, ±7). No RoPE
 *                scaling (the real models use YaRN; the fixture does not).
 *   - `deepseek2` (DeepSeek-V2/V3): MLA attention as llama.cpp runs it (absorbed: per head q_nope through
 *                attn_k_b into the rank-kv_lora_rank space, one shared key [normalised kv_cmpr, RoPE'd k_pe] per
 *                position, the value its kv_cmpr part, per head attn_v_b after attention; RoPE NORMAL on the
 *                RoPE parts; scale 1/sqrt(key_length_mla)), leading dense layers, router sigmoid + selection bias
 *                (`exp_probs_b`), expert groups (a group's score: the sum of its top 2; the best
 *                `expert_group_used_count` groups searched), weights (unbiased sigmoids) renormalised and scaled
 *                by `expert_weights_scale` (`ffn_moe_weights_scaled`), ungated shared experts.
 *   - `gemma4` (Gemma 4's MoE layers): embeddings × sqrt(n_embd), RoPE NEOX; sliding-window layers
 *                (`attention.sliding_window_pattern`) with their own head size and RoPE base, full layers with
 *                proportional RoPE (`rope_freqs` divides each pair's angle); Q and K RMS norms with weights, V
 *                RMS-normalised without; attention scale 1; `post_attention_norm`; in every layer a GELU MLP
 *                (`ffn_norm` … `post_ffw_norm_1`) beside the experts (`pre_ffw_norm_2` … `post_ffw_norm_2`) whose
 *                router reads rms_norm(residual) / sqrt(n_embd) × `ffn_gate_inp.scale`; softmax, top-k,
 *                renormalised; `post_ffw_norm` on their sum; logits soft-capped, cap·tanh(z/cap) (cap 30 unless
 *                `final_logit_softcapping` says otherwise). GELU as ggml's CPU table: f16(gelu(f16(x))).
 *   Routing is reported ordered by final weight, descending (ties in top-k order), as the engine reports it.
 *   All: RMSNorm (eps from `<arch>.attention.layer_norm_rms_epsilon`) × weight, grouped-query causal
 *   attention with scale 1/sqrt(head_dim) (q head h uses kv head floor(h / (n_head/n_head_kv))), SwiGLU
 *   FFNs (silu(gate) · up → down), output norm, lm head (`output.weight`, or tied `token_embd.weight`).
 *
 * Numerics (llama.cpp CPU backend, checked against libllama from node-llama-cpp 3.21.1 with a cb_eval dump):
 *   - attention 'standard' (flash attention off) with kvCache 'f32': exact up to f32 summation order.
 *     On the F32 test models: expert ids identical, routing weights within ~4e-7, logits within ~1e-5.
 *     → For router-capture tests create the context with flash_attn_type = DISABLED and
 *       type_k = type_v = GGML_TYPE_F32, and load the reference with {attention: 'standard', kvCache: 'f32'}.
 *   - kvCache 'f16' (llama.cpp default): K and V are rounded to binary16; with flash attention off Q and
 *     the softmax probabilities are rounded too (ggml's mul_mat converts src1 to the f16 vec_dot type).
 *   - attention 'flash' / 'flash-tiled': see AttentionMode. llama.cpp's default (AUTO) enables flash
 *     attention on CPU, and node-llama-cpp passes "auto" by default.
 *   - Matmuls with F16 weights round their input vector to f16 first, like ggml.
 *   Every f16 rounding is emulated bit-exactly, but f32 inputs that differ in the last bit occasionally
 *   round to neighbouring f16 values; such a flip (1 f16 ulp ≈ 5e-4 relative) then propagates. Expect
 *   ~1e-3 logit differences and rare ~1e-4..1e-3 weight differences with f16 caches or F16 weights.
 *
 * API
 *   loadReferenceModel(path, opts?) → ReferenceModel
 *       opts.attention?: 'standard' | 'flash' | 'flash-tiled' (default 'standard')
 *       opts.kvCache?: 'f16' | 'f32' (default 'f16'; flash modes always use f16 K/V)
 *   referenceForward(model, tokenIds) → ForwardResult
 *       routing.experts[token][moeLayer][rank]  expert ids, ordered by gate probability, descending
 *                                               (the order of llama.cpp's `ffn_moe_topk-N` row)
 *       routing.weights[token][moeLayer][rank]  final gate weights of those experts: for `llama` the
 *                                               renormalised `ffn_moe_weights_norm-N`, for `qwen2moe` the
 *                                               raw softmax probabilities `ffn_moe_weights-N`
 *       routing.probs[token][moeLayer]          full router softmax over all experts (`ffn_moe_probs-N`)
 *       routing.selectionMargin[token][moeLayer] probs[k-th best] − probs[(k+1)-th best]: below ~1e-4 a
 *                                               top-k choice is a near-tie and may legitimately flip
 *       routing.moeLayers                       layer index of each MoE layer (dense models: [])
 *       logits[token]                           Float32Array(n_vocab), final logits for that position
 *     Tokens are evaluated at positions 0..n-1 (pass the BOS yourself; nothing is added).
 *   referenceGreedy(model, promptTokens, nNew, {stopAtEos?}) → {tokens, margins, forward}
 *       greedy continuation; margins[i] = top-1 minus top-2 logit at step i; forward covers
 *       prompt + generated tokens except the last generated one (whose routing needs one more decode).
 *   new ReferenceSession(model) — incremental: session.eval(token) → TokenResult (same fields, one token),
 *     keeps the KV cache, so a decode loop can be mirrored step by step; session.onTensor taps
 *     intermediate values named like llama.cpp graph nodes (for debugging against a cb_eval dump).
 *   Interventions (expert ablation / forcing): pass `masked`, a map from layer index to the experts whose router
 *     logits are −∞ (ablate: those experts; force: every other expert), to referenceForward(model, tokens, masked),
 *     referenceGreedy(…, {masked}) or new ReferenceSession(model, masked). The softmax then runs over the experts
 *     left; ties among masked experts (probability exactly 0, when fewer than k are forced) are ranked by index,
 *     like ggml's argsort (libstdc++'s insertion sort below 16 elements keeps the initial index order).
 *   compareRouting(ref, captured, {nearTie = 1e-4, tokenOffset = 0}) → {compared, idMismatches,
 *     nearTieFlips, maxWeightDiff}: captured = {experts, weights} shaped [token][moeLayer][rank].
 */
import { GgufModelFile } from '../../scripts/fixtures/gguf-reader';
import { roundF16 } from '../../scripts/fixtures/f16';

export type KvCacheType = 'f16' | 'f32';

/**
 * Attention numerics to mirror (llama.cpp CPU backend):
 *  - 'standard': flash attention off (kq = K·Q, softmax, V·kq). Exact for any batching. Recommended for
 *    comparisons: create the llama.cpp context with flash_attn_type = DISABLED.
 *  - 'flash': flash attention on, the decode / small-batch kernel (one_chunk: Q→f16, f16 V accumulator).
 *    Used for ubatches of < 64 tokens while n_kv < 512 (llama.cpp's default AUTO enables flash on CPU).
 *  - 'flash-tiled': flash attention on, the tiled kernel for ubatches of >= 64 tokens (f32 Q, f32
 *    accumulation over f16 K/V).
 */
export type AttentionMode = 'standard' | 'flash' | 'flash-tiled';

export interface ReferenceOptions {
  /** K/V cache type of the mirrored context (default 'f16', llama.cpp's default). Ignored by flash modes. */
  kvCache?: KvCacheType;
  /** Default 'standard'. */
  attention?: AttentionMode;
}

export interface ReferenceHparams {
  arch: 'llama' | 'qwen2moe' | 'qwen3moe' | 'olmoe' | 'gpt-oss' | 'deepseek2' | 'gemma4';
  nVocab: number;
  nLayer: number;
  nEmbd: number;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  nRot: number;
  ropeNeox: boolean;
  ropeFreqBase: number;
  rmsEps: number;
  attnScale: number;
  nExpert: number;
  nExpertUsed: number;
  /** RMS norms of Q and K: per head (qwen3moe, gemma4), over the whole projection (olmoe), or none. */
  qkNorm: 'none' | 'head' | 'full';
  /** Renormalise the top-k weights to sum 1 (Mixtral). */
  normTopkWeights: boolean;
  /** `<arch>.expert_weights_scale` (0 / 1 = none). */
  expertWeightsScale: number;
  hasSharedExpert: boolean;
  /** Sliding window of the layers in `swaLayers` (0: none): position p attends to p - window + 1 .. p. */
  slidingWindow: number;
  swaLayers: boolean[];
  /** 'softmax': softmax over all experts, then top-k; 'softmax-weight': top-k on logits, softmax over those. */
  gating: 'softmax' | 'softmax-weight' | 'sigmoid';
  /** Expert groups (deepseek2): n groups, of which `groupsUsed` are searched (1 = no groups). */
  groups: number;
  groupsUsed: number;
  /** gemma4: per layer head size and RoPE base (sliding layers differ), the embedding scale. */
  gemma?: { headDim: number[]; ropeBase: number[]; embdScale: number; logitSoftcap: number };
  /** deepseek2's MLA dimensions. */
  mla?: { qLoraRank: number; kvLoraRank: number; qkNope: number; qkRope: number; vHead: number };
  /** 'swiglu-oai': gpt-oss's clamped SwiGLU. */
  expertAct: 'swiglu' | 'swiglu-oai' | 'geglu';
  bos: number;
  eos: number;
}

interface Weight {
  data: Float32Array;
  /** true when stored as F16 in the file (its matmuls round the input to f16). */
  f16: boolean;
  rows: number;
  cols: number;
}

interface ExpertWeight {
  data: Float32Array;
  f16: boolean;
  /** Per expert: rows × cols (rows = output dim). */
  rows: number;
  cols: number;
}

interface LayerWeights {
  attnNorm: Float32Array;
  wq?: Weight; wk?: Weight; wv?: Weight; wo: Weight;
  /** deepseek2 MLA: q through the LoRA bottleneck, the compressed KV, per head k_b [kvLora × qkNope], v_b [vHead × kvLora]. */
  wqA?: Weight; qANorm?: Float32Array; wqB?: Weight; wkvA?: Weight; kvANorm?: Float32Array; wkB?: ExpertWeight; wvB?: ExpertWeight;
  expProbsB?: Float32Array;
  /** Q/K norm weights (qwen3moe, olmoe, gemma4); the rest gemma4's */
  qNorm?: Float32Array; kNorm?: Float32Array; postAttnNorm?: Float32Array; postFfwNorm?: Float32Array;
  routerScale?: Float32Array; preFfwNorm2?: Float32Array; postFfwNorm1?: Float32Array; postFfwNorm2?: Float32Array;
  ropeFreqs?: Float32Array;
  bq?: Float32Array; bk?: Float32Array; bv?: Float32Array; bo?: Float32Array;
  /** gpt-oss: one sink logit per head. */
  sinks?: Float32Array;
  routerBias?: Float32Array;
  /** Per expert biases, [expert][rows]. */
  gateExpsB?: Float32Array; upExpsB?: Float32Array; downExpsB?: Float32Array;
  ffnNorm: Float32Array;
  // dense
  ffnGate?: Weight; ffnUp?: Weight; ffnDown?: Weight;
  // MoE
  router?: Weight;
  gateExps?: ExpertWeight; upExps?: ExpertWeight; downExps?: ExpertWeight;
  // shared expert (qwen2moe)
  shexpGateInp?: Float32Array;
  shGate?: Weight; shUp?: Weight; shDown?: Weight;
}

export interface ReferenceModel {
  path: string;
  hparams: ReferenceHparams;
  kvCache: KvCacheType;
  attention: AttentionMode;
  tokEmbd: Weight;
  outputNorm: Float32Array;
  output: Weight;
  layers: LayerWeights[];
}

export interface TokenRouting {
  /** [moeLayer][rank] */
  experts: number[][];
  /** [moeLayer][rank] */
  weights: number[][];
  /** [moeLayer] full softmax over experts */
  probs: Float32Array[];
  /** [moeLayer] */
  selectionMargin: number[];
}

export interface TokenResult {
  token: number;
  pos: number;
  routing: TokenRouting;
  logits: Float32Array;
}

export interface ForwardResult {
  tokens: number[];
  routing: {
    moeLayers: number[];
    experts: number[][][];
    weights: number[][][];
    probs: Float32Array[][];
    selectionMargin: number[][];
  };
  logits: Float32Array[];
}

// ---------------------------------------------------------------------------------------------

const fround = Math.fround;

function num(meta: Map<string, unknown>, key: string, fallback?: number): number {
  const v = meta.get(key);
  if (v === undefined) {
    if (fallback === undefined) throw new Error(`missing metadata ${key}`);
    return fallback;
  }
  return Number(v);
}

export function loadReferenceModel(path: string, opts: ReferenceOptions = {}): ReferenceModel {
  const f = new GgufModelFile(path);
  try {
    const meta = f.metadata;
    const arch = String(meta.get('general.architecture')) as ReferenceHparams['arch'];
    if (!['llama', 'qwen2moe', 'qwen3moe', 'olmoe', 'gpt-oss', 'deepseek2', 'gemma4'].includes(arch)) throw new Error(`reference: unsupported architecture ${arch}`);
    const gptOss = arch === 'gpt-oss';
    const deepseek = arch === 'deepseek2';
    const gemma = arch === 'gemma4';
    // qwen3moe: per-head Q/K norms (as gemma4's); olmoe: Q/K norms over the whole projections
    const qkNorm = gemma || arch === 'qwen3moe' ? 'head' : arch === 'olmoe' ? 'full' : 'none';
    const scaling = meta.get(`${arch}.rope.scaling.type`);
    if (scaling !== undefined && scaling !== 'none' && scaling !== 'linear') throw new Error(`reference: rope scaling ${String(scaling)} unsupported`);
    if (num(meta, `${arch}.rope.scaling.factor`, 0) > 1) throw new Error('reference: rope scaling unsupported');
    const tokens = meta.get('tokenizer.ggml.tokens') as unknown[];
    const nEmbd = num(meta, `${arch}.embedding_length`);
    const nHead = num(meta, `${arch}.attention.head_count`);
    const headDim = deepseek ? num(meta, `${arch}.attention.key_length_mla`) : num(meta, `${arch}.attention.key_length`, nEmbd / nHead);
    const nExpert = num(meta, `${arch}.expert_count`, 0);
    const hp: ReferenceHparams = {
      arch,
      nVocab: tokens.length,
      nLayer: num(meta, `${arch}.block_count`),
      nEmbd,
      nHead,
      nHeadKv: num(meta, `${arch}.attention.head_count_kv`, nHead),
      headDim,
      nRot: num(meta, `${arch}.rope.dimension_count`, headDim),
      ropeNeox: arch === 'qwen2moe' || arch === 'qwen3moe' || arch === 'olmoe' || gptOss || gemma,
      qkNorm,
      ropeFreqBase: num(meta, `${arch}.rope.freq_base`, 10000),
      rmsEps: num(meta, `${arch}.attention.layer_norm_rms_epsilon`),
      attnScale: arch === 'llama' && num(meta, `${arch}.attention.scale`, 0) !== 0
        ? num(meta, `${arch}.attention.scale`) : gemma ? 1 : fround(1 / Math.sqrt(gptOss ? num(meta, `${arch}.rope.dimension_count`) : headDim)),
      nExpert,
      nExpertUsed: num(meta, `${arch}.expert_used_count`, 0),
      normTopkWeights: arch === 'llama' || arch === 'qwen3moe' || gemma || (deepseek && Boolean(meta.get(`${arch}.expert_weights_norm`))),
      expertWeightsScale: num(meta, `${arch}.expert_weights_scale`, 0),
      hasSharedExpert: arch === 'qwen2moe' || deepseek,
      slidingWindow: gptOss || gemma ? num(meta, `${arch}.attention.sliding_window`) : 0,
      // gpt-oss: llama.cpp's set_swa_pattern(2), layer il slides when il % 2 < 1; gemma4: the per-layer pattern
      swaLayers: gemma
        ? (meta.get(`${arch}.attention.sliding_window_pattern`) as boolean[]).map(Boolean)
        : Array.from({ length: num(meta, `${arch}.block_count`) }, (_, il) => gptOss && il % 2 < 1),
      gemma: gemma
        ? (() => {
            const swa = (meta.get(`${arch}.attention.sliding_window_pattern`) as boolean[]).map(Boolean);
            return {
              headDim: swa.map((w) => (w ? num(meta, `${arch}.attention.key_length_swa`) : headDim)),
              ropeBase: swa.map((w) => (w ? num(meta, `${arch}.rope.freq_base_swa`) : num(meta, `${arch}.rope.freq_base`))),
              embdScale: fround(Math.sqrt(nEmbd)),
              // llama.cpp's default when the key is absent: 30
              logitSoftcap: num(meta, `${arch}.final_logit_softcapping`, 30),
            };
          })()
        : undefined,
      gating: gptOss ? 'softmax-weight' : deepseek && num(meta, `${arch}.expert_gating_func`, 1) === 2 ? 'sigmoid' : 'softmax',
      groups: num(meta, `${arch}.expert_group_count`, 1),
      groupsUsed: num(meta, `${arch}.expert_group_used_count`, 1),
      mla: deepseek
        ? {
            qLoraRank: num(meta, `${arch}.attention.q_lora_rank`),
            kvLoraRank: num(meta, `${arch}.attention.kv_lora_rank`),
            qkNope: num(meta, `${arch}.attention.key_length_mla`) - num(meta, `${arch}.rope.dimension_count`),
            qkRope: num(meta, `${arch}.rope.dimension_count`),
            vHead: num(meta, `${arch}.attention.value_length_mla`),
          }
        : undefined,
      expertAct: gptOss ? 'swiglu-oai' : gemma ? 'geglu' : 'swiglu',
      bos: num(meta, 'tokenizer.ggml.bos_token_id', 1),
      eos: num(meta, 'tokenizer.ggml.eos_token_id', 2),
    };
    if (hp.nRot !== hp.headDim && !hp.mla && !hp.gemma) throw new Error('reference: partial RoPE unsupported');
    if (hp.mla && (hp.mla.qLoraRank === 0 || num(meta, `${arch}.rope.scaling.yarn_log_multiplier`, 0) !== 0)) throw new Error('reference: deepseek2 without q LoRA, or with YaRN, unsupported');
    if (hp.nExpertUsed > hp.nExpert) throw new Error('reference: expert_used_count > expert_count');

    const weight = (name: string): Weight => {
      const info = f.info(name);
      if (info.shape.length > 2) throw new Error(`${name}: expected a matrix`);
      return { data: f.tensor(name), f16: info.type === 1, cols: info.shape[0], rows: info.shape[1] ?? 1 };
    };
    const experts = (name: string): ExpertWeight => {
      const info = f.info(name);
      if (info.shape.length !== 3 || info.shape[2] !== hp.nExpert) throw new Error(`${name}: bad expert tensor shape`);
      return { data: f.tensor(name), f16: info.type === 1, cols: info.shape[0], rows: info.shape[1] };
    };
    const perHead = (name: string): ExpertWeight => {
      const info = f.info(name);
      if (info.shape.length !== 3 || info.shape[2] !== hp.nHead) throw new Error(`${name}: bad per-head tensor shape`);
      return { data: f.tensor(name), f16: info.type === 1, cols: info.shape[0], rows: info.shape[1] };
    };
    const vec = (name: string): Float32Array => f.tensor(name);
    const opt = (name: string): Float32Array | undefined => (f.has(name) ? f.tensor(name) : undefined);

    const tokEmbd = weight('token_embd.weight');
    const output = f.has('output.weight') ? weight('output.weight') : tokEmbd;
    const layers: LayerWeights[] = [];
    for (let i = 0; i < hp.nLayer; i++) {
      const b = `blk.${i}.`;
      const L: LayerWeights = {
        attnNorm: vec(`${b}attn_norm.weight`),
        ...(deepseek
          ? {
              wqA: weight(`${b}attn_q_a.weight`), qANorm: vec(`${b}attn_q_a_norm.weight`), wqB: weight(`${b}attn_q_b.weight`),
              wkvA: weight(`${b}attn_kv_a_mqa.weight`), kvANorm: vec(`${b}attn_kv_a_norm.weight`),
              wkB: perHead(`${b}attn_k_b.weight`), wvB: perHead(`${b}attn_v_b.weight`),
            }
          : { wq: weight(`${b}attn_q.weight`), wk: weight(`${b}attn_k.weight`), wv: weight(`${b}attn_v.weight`) }),
        wo: weight(`${b}attn_output.weight`),
        bq: opt(`${b}attn_q.bias`), bk: opt(`${b}attn_k.bias`), bv: opt(`${b}attn_v.bias`), bo: opt(`${b}attn_output.bias`),
        sinks: opt(`${b}attn_sinks.weight`),
        ffnNorm: vec(gptOss ? `${b}post_attention_norm.weight` : `${b}ffn_norm.weight`),
        ...(hp.qkNorm !== 'none' ? { qNorm: vec(`${b}attn_q_norm.weight`), kNorm: vec(`${b}attn_k_norm.weight`) } : {}),
        ...(gemma
          ? {
              postAttnNorm: vec(`${b}post_attention_norm.weight`), postFfwNorm: vec(`${b}post_ffw_norm.weight`),
              routerScale: vec(`${b}ffn_gate_inp.scale`), preFfwNorm2: vec(`${b}pre_ffw_norm_2.weight`),
              postFfwNorm1: vec(`${b}post_ffw_norm_1.weight`), postFfwNorm2: vec(`${b}post_ffw_norm_2.weight`),
              ffnGate: weight(`${b}ffn_gate.weight`), ffnUp: weight(`${b}ffn_up.weight`), ffnDown: weight(`${b}ffn_down.weight`),
              ropeFreqs: hp.swaLayers[i] ? undefined : vec('rope_freqs.weight'),
            }
          : {}),
      };
      if (f.has(`${b}ffn_gate_inp.weight`)) {
        L.router = weight(`${b}ffn_gate_inp.weight`);
        L.gateExps = experts(`${b}ffn_gate_exps.weight`);
        L.upExps = experts(`${b}ffn_up_exps.weight`);
        L.downExps = experts(`${b}ffn_down_exps.weight`);
        L.routerBias = opt(`${b}ffn_gate_inp.bias`);
        L.expProbsB = opt(`${b}exp_probs_b.bias`);
        L.gateExpsB = opt(`${b}ffn_gate_exps.bias`);
        L.upExpsB = opt(`${b}ffn_up_exps.bias`);
        L.downExpsB = opt(`${b}ffn_down_exps.bias`);
        if (hp.hasSharedExpert) {
          L.shexpGateInp = opt(`${b}ffn_gate_inp_shexp.weight`); // deepseek2's shared experts have no gate
          L.shGate = weight(`${b}ffn_gate_shexp.weight`);
          L.shUp = weight(`${b}ffn_up_shexp.weight`);
          L.shDown = weight(`${b}ffn_down_shexp.weight`);
        }
      } else {
        L.ffnGate = weight(`${b}ffn_gate.weight`);
        L.ffnUp = weight(`${b}ffn_up.weight`);
        L.ffnDown = weight(`${b}ffn_down.weight`);
      }
      layers.push(L);
    }
    return { path, hparams: hp, kvCache: opts.kvCache ?? 'f16', attention: opts.attention ?? 'standard', tokEmbd, outputNorm: vec('output_norm.weight'), output, layers };
  } finally {
    f.close();
  }
}

// ---------------------------------------------------------------------------------------------
// kernels

function roundVecF16(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = roundF16(x[i]);
  return out;
}

/** out[r] = sum_c W[r, c] * x[c] for rows [r0, r0 + rows) of a row-major block starting at `base`. */
function matvecRaw(data: Float32Array, base: number, rows: number, cols: number, x: Float32Array, f16: boolean): Float32Array {
  if (x.length !== cols) throw new Error(`matvec: ${x.length} != ${cols}`);
  const xin = f16 ? roundVecF16(x) : x;
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const o = base + r * cols;
    for (let c = 0; c < cols; c++) s += data[o + c] * xin[c];
    out[r] = s;
  }
  return out;
}

function matvec(w: Weight, x: Float32Array): Float32Array {
  return matvecRaw(w.data, 0, w.rows, w.cols, x, w.f16);
}

function expertMatvec(w: ExpertWeight, e: number, x: Float32Array): Float32Array {
  return matvecRaw(w.data, e * w.rows * w.cols, w.rows, w.cols, x, w.f16);
}

function rmsNorm(x: Float32Array, weight: Float32Array, eps: number): Float32Array {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += fround(x[i] * x[i]);
  const mean = sum / x.length;
  const scale = fround(1 / Math.sqrt(fround(mean + eps)));
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = fround(x[i] * scale) * weight[i];
  return out;
}

function addInPlace(a: Float32Array, b: Float32Array | undefined): void {
  if (!b) return;
  for (let i = 0; i < a.length; i++) a[i] = a[i] + b[i];
}

/** ggml silu: x / (1 + e^-x) */
const silu = (x: number): number => fround(x / fround(1 + fround(Math.exp(-x))));

/** ggml's soft_max; with a sink logit (ggml_soft_max_add_sinks), it joins the maximum and the denominator only. */
function softmax(x: Float32Array | number[], sink?: number): Float32Array {
  let max = sink ?? -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > max) max = x[i];
  const out = new Float32Array(x.length);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const e = x[i] === -Infinity ? 0 : fround(Math.exp(x[i] - max));
    out[i] = e;
    sum += e;
  }
  if (sink !== undefined) sum += fround(Math.exp(sink - max));
  const inv = fround(1 / sum);
  for (let i = 0; i < x.length; i++) out[i] = out[i] * inv;
  return out;
}

const SQRT_2_OVER_PI = fround(Math.sqrt(2 / Math.PI)); // ggml: 0.79788456080286535587989211986876f
const GELU_COEF_A = fround(0.044715);

/** ggml's GELU on the CPU (GGML_GELU_FP16): a table of f16(gelu_tanh(x)) indexed by f16(x); identity above 10. */
function gelu(x: number): number {
  if (x <= -10) return 0;
  if (x >= 10) return x;
  const h = roundF16(x);
  const inner = fround(fround(SQRT_2_OVER_PI * h) * fround(1 + fround(fround(GELU_COEF_A * h) * h)));
  return roundF16(fround(fround(0.5 * h) * fround(1 + fround(Math.tanh(inner)))));
}

/** ggml_geglu: gelu(gate) · up. */
function geglu(gate: Float32Array, up: Float32Array): Float32Array {
  const out = new Float32Array(gate.length);
  for (let i = 0; i < gate.length; i++) out[i] = fround(gelu(gate[i]) * up[i]);
  return out;
}

/** RMS norm of each `size`-long head of x, times `weight` if given (ggml_rms_norm then ggml_mul). */
function headNorm(x: Float32Array, size: number, weight: Float32Array | undefined, eps: number): Float32Array {
  const out = new Float32Array(x.length);
  const ones = weight ?? new Float32Array(size).fill(1);
  for (let o = 0; o < x.length; o += size) out.set(rmsNorm(x.subarray(o, o + size), ones, eps), o);
  return out;
}

const sigmoid = (x: number): number => fround(1 / fround(1 + fround(Math.exp(-x))));

/**
 * deepseek2's expert groups: a group's score is the sum of its two best entries; all but the best `used`
 * groups are set to -Infinity (ties: the lower index, like ggml's argsort).
 */
function maskGroups(selection: Float32Array, groups: number, used: number): void {
  const size = selection.length / groups;
  const score = Array.from({ length: groups }, (_, g) => {
    const part = Array.from(selection.subarray(g * size, (g + 1) * size)).sort((a, b) => b - a);
    return fround(part[0] + (part[1] ?? 0));
  });
  const keep = new Set(Array.from(score.keys()).sort((a, b) => score[b] - score[a] || a - b).slice(0, used));
  for (let g = 0; g < groups; g++) if (!keep.has(g)) selection.fill(-Infinity, g * size, (g + 1) * size);
}

/** ggml_swiglu_oai (alpha 1.702, limit 7, as llama.cpp's LLM_FFN_SWIGLU_OAI_MOE). */
function swigluOai(gate: Float32Array, up: Float32Array): Float32Array {
  const out = new Float32Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const x = Math.min(gate[i], 7);
    const y = Math.min(Math.max(up[i], -7), 7);
    const glu = fround(x / fround(1 + fround(Math.exp(fround(1.702 * -x)))));
    out[i] = fround(glu * fround(y + 1));
  }
  return out;
}

/** Adds row `e` of a per-expert bias [expert][n] to v. */
function addExpertBias(v: Float32Array, bias: Float32Array | undefined, e: number): void {
  if (bias) addInPlace(v, bias.subarray(e * v.length, (e + 1) * v.length));
}

/** RoPE as ggml's CPU kernel: theta_i = pos * theta_scale^i by repeated f32 multiplication. */
function rope(x: Float32Array, nHeads: number, headDim: number, nRot: number, pos: number, base: number, neox: boolean, freqFactors?: Float32Array): void {
  const thetaScale = fround(Math.pow(base, -2 / nRot));
  const cos = new Float32Array(nRot / 2);
  const sin = new Float32Array(nRot / 2);
  let theta = fround(pos);
  for (let i = 0; i < nRot / 2; i++) {
    const angle = freqFactors ? fround(theta / freqFactors[i]) : theta; // ggml: theta / freq_factors[i0/2]
    cos[i] = Math.cos(angle);
    sin[i] = Math.sin(angle);
    theta = fround(theta * thetaScale);
  }
  for (let h = 0; h < nHeads; h++) {
    const o = h * headDim;
    for (let i = 0; i < nRot / 2; i++) {
      const i0 = neox ? o + i : o + 2 * i;
      const i1 = neox ? o + i + nRot / 2 : o + 2 * i + 1;
      const x0 = x[i0];
      const x1 = x[i1];
      x[i0] = fround(x0 * cos[i]) - fround(x1 * sin[i]);
      x[i1] = fround(x0 * sin[i]) + fround(x1 * cos[i]);
    }
  }
}

function swiglu(gate: Float32Array, up: Float32Array): Float32Array {
  const out = new Float32Array(gate.length);
  for (let i = 0; i < gate.length; i++) out[i] = silu(gate[i]) * up[i];
  return out;
}

// ---------------------------------------------------------------------------------------------

/** Incremental evaluation with a KV cache (one token per call, positions 0, 1, 2, ...). */
export class ReferenceSession {
  private readonly kCache: Float32Array[][] = [];
  private readonly vCache: Float32Array[][] = [];
  private pos = 0;

  /**
   * Optional tap on intermediate values, named like llama.cpp's graph nodes (`attn_norm`, `Qcur` (after
   * RoPE), `Kcur`, `Vcur`, `kqv_out`, `attn_out`, `ffn_inp`, `ffn_norm`, `ffn_moe_logits`, `ffn_moe_probs`,
   * `ffn_moe_out`, `ffn_shexp_out`, `ffn_out`, `l_out`, with layer index; `result_norm`, `result_output`
   * with layer -1), for debugging against a `cb_eval` dump.
   */
  onTensor?: (name: string, layer: number, values: Float32Array) => void;

  constructor(
    readonly model: ReferenceModel,
    /** layer → experts whose router logits are −∞ (an intervention). */
    readonly masked: ReadonlyMap<number, readonly number[]> = new Map(),
  ) {
    for (let l = 0; l < model.hparams.nLayer; l++) {
      this.kCache.push([]);
      this.vCache.push([]);
    }
  }

  get nPast(): number {
    return this.pos;
  }

  /** deepseek2's MLA attention for one token (absorbed form, as llama.cpp's graph computes it). */
  private mlaAttention(l: number, h: Float32Array, pos: number, f16kv: boolean): Float32Array {
    const m = this.model;
    const hp = m.hparams;
    const L = m.layers[l];
    const { kvLoraRank: rank, qkNope, qkRope, vHead } = hp.mla!;
    if (m.attention !== 'standard') throw new Error('reference: MLA only in the standard attention mode');
    const qkDim = qkNope + qkRope;
    const q = matvec(L.wqB!, rmsNorm(matvec(L.wqA!, h), L.qANorm!, hp.rmsEps));
    const kvPe = matvec(L.wkvA!, h);
    const kPe = kvPe.slice(rank);
    rope(kPe, 1, qkRope, qkRope, pos, hp.ropeFreqBase, hp.ropeNeox);
    const kvCmpr = rmsNorm(kvPe.subarray(0, rank), L.kvANorm!, hp.rmsEps);
    const key = new Float32Array(rank + qkRope);
    key.set(kvCmpr);
    key.set(kPe, rank);
    this.kCache[l].push(f16kv ? roundVecF16(key) : key);
    const keys = this.kCache[l];
    const out = new Float32Array(hp.nHead * vHead);
    for (let hq = 0; hq < hp.nHead; hq++) {
      const qPe = q.slice(hq * qkDim + qkNope, (hq + 1) * qkDim);
      rope(qPe, 1, qkRope, qkRope, pos, hp.ropeFreqBase, hp.ropeNeox);
      const qFull = new Float32Array(rank + qkRope);
      qFull.set(expertMatvec(L.wkB!, hq, q.slice(hq * qkDim, hq * qkDim + qkNope)));
      qFull.set(qPe, rank);
      const qIn = f16kv ? roundVecF16(qFull) : qFull;
      const scores = new Float32Array(keys.length);
      for (let j = 0; j < keys.length; j++) {
        let s = 0;
        for (let d = 0; d < rank + qkRope; d++) s += qIn[d] * keys[j][d];
        scores[j] = fround(fround(s) * hp.attnScale);
      }
      let p = softmax(scores);
      if (f16kv) p = roundVecF16(p);
      const ctx = new Float32Array(rank);
      for (let d = 0; d < rank; d++) {
        let s = 0;
        for (let j = 0; j < keys.length; j++) s += p[j] * keys[j][d];
        ctx[d] = s;
      }
      out.set(expertMatvec(L.wvB!, hq, ctx), hq * vHead);
    }
    return matvec(L.wo, out);
  }

  eval(token: number): TokenResult {
    const m = this.model;
    const hp = m.hparams;
    if (!Number.isInteger(token) || token < 0 || token >= hp.nVocab) throw new Error(`token ${token} out of range`);
    const pos = this.pos++;
    // flash attention casts an F32 cache to F16 before the kernel, so K/V are f16 there in any case
    const f16kv = m.kvCache === 'f16' || m.attention !== 'standard';
    const nE = hp.nEmbd;
    const x = m.tokEmbd.data.slice(token * nE, (token + 1) * nE);
    if (hp.gemma) for (let i = 0; i < nE; i++) x[i] = fround(x[i] * hp.gemma.embdScale);
    const routing: TokenRouting = { experts: [], weights: [], probs: [], selectionMargin: [] };
    const tap = (name: string, layer: number, v: Float32Array): void => this.onTensor?.(name, layer, Float32Array.from(v));

    for (let l = 0; l < hp.nLayer; l++) {
      const L = m.layers[l];
      // --- attention
      const h = rmsNorm(x, L.attnNorm, hp.rmsEps);
      tap('attn_norm', l, h);
      let ao: Float32Array;
      if (L.wkB) ao = this.mlaAttention(l, h, pos, f16kv);
      else {
      const hd = hp.gemma ? hp.gemma.headDim[l] : hp.headDim;
      const nRot = hp.gemma ? hd : hp.nRot;
      const ropeBase = hp.gemma ? hp.gemma.ropeBase[l] : hp.ropeFreqBase;
      let q = matvec(L.wq!, h);
      addInPlace(q, L.bq);
      let k = matvec(L.wk!, h);
      addInPlace(k, L.bk);
      let v = matvec(L.wv!, h);
      addInPlace(v, L.bv);
      if (hp.qkNorm === 'full') {
        q = rmsNorm(q, L.qNorm!, hp.rmsEps);
        k = rmsNorm(k, L.kNorm!, hp.rmsEps);
      } else if (hp.qkNorm === 'head') {
        q = headNorm(q, hd, L.qNorm, hp.rmsEps);
        k = headNorm(k, hd, L.kNorm, hp.rmsEps);
        // gemma4 also normalises V (without a weight)
        if (hp.gemma) v = headNorm(v, hd, undefined, hp.rmsEps);
      }
      rope(q, hp.nHead, hd, nRot, pos, ropeBase, hp.ropeNeox, L.ropeFreqs);
      rope(k, hp.nHeadKv, hd, nRot, pos, ropeBase, hp.ropeNeox, L.ropeFreqs);
      tap('Qcur', l, q);
      tap('Kcur', l, k);
      tap('Vcur', l, v);
      this.kCache[l].push(f16kv ? roundVecF16(k) : k);
      this.vCache[l].push(f16kv ? roundVecF16(v) : v);
      const nKv = this.kCache[l].length;
      const attn = new Float32Array(hp.nHead * hd);
      const group = hp.nHead / hp.nHeadKv;
      const mode = m.attention;
      // Q is converted to the f16 vec_dot type of an f16 K (standard path with f16 cache, flash decode path).
      const qIn = (mode === 'standard' && f16kv) || mode === 'flash' ? roundVecF16(q) : q;
      for (let hq = 0; hq < hp.nHead; hq++) {
        const hk = Math.floor(hq / group);
        const scores = new Float32Array(nKv);
        for (let j = 0; j < nKv; j++) {
          const kj = this.kCache[l][j];
          let s = 0;
          for (let d = 0; d < hd; d++) s += qIn[hq * hd + d] * kj[hk * hd + d];
          scores[j] = fround(fround(s) * hp.attnScale);
          if (hp.swaLayers[l] && pos - j >= hp.slidingWindow) scores[j] = -Infinity; // outside the window
        }
        const out = attn.subarray(hq * hd, (hq + 1) * hd);
        if (mode !== 'standard' && L.sinks) throw new Error('reference: attention sinks only in the standard attention mode');
        if (mode === 'flash') {
          // ggml_compute_forward_flash_attn_ext_f16_one_chunk with an F16 V: online softmax, f16 accumulator
          let S = 0;
          let M = -Infinity;
          const acc = new Float32Array(hd);
          for (let j = 0; j < nKv; j++) {
            const sj = scores[j];
            if (sj === -Infinity) continue; // masked (sliding window): the kernel skips it
            const vj = this.vCache[l][j];
            let ms = 1;
            let vs = 1;
            if (sj > M) {
              const Mold = M;
              M = sj;
              ms = fround(Math.exp(Mold - M));
              for (let d = 0; d < hd; d++) acc[d] = roundF16(fround(acc[d] * ms));
            } else {
              vs = fround(Math.exp(sj - M));
            }
            // ggml_vec_mad_f16: fp16(fma(v, vs, acc))
            for (let d = 0; d < hd; d++) acc[d] = roundF16(fround(acc[d] + vj[hk * hd + d] * vs));
            S = fround(fround(S * ms) + vs);
          }
          const inv = S === 0 ? 0 : fround(1 / S);
          for (let d = 0; d < hd; d++) out[d] = fround(acc[d] * inv);
        } else {
          let p = softmax(scores, L.sinks?.[hq]);
          if (mode === 'standard' && f16kv) p = roundVecF16(p);
          for (let d = 0; d < hd; d++) {
            let s = 0;
            for (let j = 0; j < nKv; j++) s += p[j] * this.vCache[l][j][hk * hd + d];
            out[d] = s;
          }
        }
      }
      tap('kqv_out', l, attn);
      ao = matvec(L.wo, attn);
      addInPlace(ao, L.bo);
      if (L.postAttnNorm) ao = rmsNorm(ao, L.postAttnNorm, hp.rmsEps);
      }
      tap('attn_out', l, ao);
      for (let i = 0; i < nE; i++) x[i] = x[i] + ao[i];
      tap('ffn_inp', l, x);

      // --- feed-forward
      // gemma4: the experts read pre_ffw_norm_2(x) (its MLP reads ffn_norm(x), below)
      const h2 = rmsNorm(x, L.preFfwNorm2 ?? L.ffnNorm, hp.rmsEps);
      tap('ffn_norm', l, h2);
      let ffnOut: Float32Array;
      if (L.router) {
        let routerIn = h2;
        if (L.routerScale) {
          // rms_norm(x) / sqrt(n_embd) × ffn_gate_inp.scale
          const ones = new Float32Array(nE).fill(1);
          const inv = fround(1 / Math.sqrt(nE));
          routerIn = rmsNorm(x, ones, hp.rmsEps).map((v, i) => fround(fround(v * inv) * L.routerScale![i]));
        }
        const logits = matvec(L.router, routerIn);
        addInPlace(logits, L.routerBias);
        // An intervention: the masked experts' router logits are −∞ (the engine writes them into ffn_moe_logits).
        const masked = this.masked.get(l) ?? [];
        for (const e of masked) logits[e] = -Infinity;
        tap('ffn_moe_logits', l, logits);
        // What top-k ranks: the softmax, the sigmoids (plus the selection bias), or (softmax-weight) the logits.
        const probs = hp.gating === 'softmax' ? softmax(logits) : hp.gating === 'sigmoid' ? logits.map(sigmoid) : logits;
        tap('ffn_moe_probs', l, probs);
        const selection = Float32Array.from(probs);
        addInPlace(selection, L.expProbsB);
        // …and out of the selection whatever the gating (the engine's −∞ in ffn_moe_probs / ffn_moe_probs_biased).
        for (const e of masked) selection[e] = -Infinity;
        if (hp.groups > 1) maskGroups(selection, hp.groups, hp.groupsUsed);
        const order = Array.from(selection.keys()).sort((a, b) => selection[b] - selection[a] || a - b);
        let sel = order.slice(0, hp.nExpertUsed);
        let w = sel.map((e) => probs[e]);
        if (hp.gating === 'softmax-weight') w = Array.from(softmax(w));
        if (hp.normTopkWeights) {
          let sum = 0;
          for (const wi of w) sum = fround(sum + wi);
          sum = Math.max(sum, 6.103515625e-5);
          w = w.map((wi) => fround(wi / sum));
        }
        if (hp.expertWeightsScale !== 0 && hp.expertWeightsScale !== 1) w = w.map((wi) => fround(wi * hp.expertWeightsScale));
        // Reported (and summed) as the engine reports them: by weight, descending, ties in top-k order. The sum
        // runs in top-k order, as llama.cpp adds the experts.
        const topk = sel;
        const ranked = topk.map((e, r) => ({ e, w: w[r], r })).sort((a, b) => b.w - a.w || a.r - b.r);
        routing.experts.push(ranked.map((x) => x.e));
        routing.weights.push(ranked.map((x) => x.w));
        routing.probs.push(probs);
        routing.selectionMargin.push(
          hp.nExpertUsed < hp.nExpert ? selection[order[hp.nExpertUsed - 1]] - selection[order[hp.nExpertUsed]] : Infinity,
        );
        sel = topk;
        ffnOut = new Float32Array(nE);
        sel.forEach((e, r) => {
          const up = expertMatvec(L.upExps!, e, h2);
          addExpertBias(up, L.upExpsB, e);
          const gate = expertMatvec(L.gateExps!, e, h2);
          addExpertBias(gate, L.gateExpsB, e);
          const act = hp.expertAct === 'swiglu-oai' ? swigluOai(gate, up) : hp.expertAct === 'geglu' ? geglu(gate, up) : swiglu(gate, up);
          const down = expertMatvec(L.downExps!, e, act);
          addExpertBias(down, L.downExpsB, e);
          for (let i = 0; i < nE; i++) ffnOut[i] = ffnOut[i] + fround(down[i] * w[r]);
        });
        tap('ffn_moe_out', l, ffnOut);
        if (L.postFfwNorm2) {
          // gemma4: post_ffw_norm_2(experts) + post_ffw_norm_1(GELU MLP of ffn_norm(x)), then post_ffw_norm
          const moe = rmsNorm(ffnOut, L.postFfwNorm2, hp.rmsEps);
          const mlpIn = rmsNorm(x, L.ffnNorm, hp.rmsEps);
          const mlp = rmsNorm(matvec(L.ffnDown!, geglu(matvec(L.ffnGate!, mlpIn), matvec(L.ffnUp!, mlpIn))), L.postFfwNorm1!, hp.rmsEps);
          const sum = new Float32Array(nE);
          for (let i = 0; i < nE; i++) sum[i] = mlp[i] + moe[i];
          ffnOut = rmsNorm(sum, L.postFfwNorm!, hp.rmsEps);
        }
        if (L.shDown) {
          let gate = 1;
          if (L.shexpGateInp) {
            let g = 0;
            for (let i = 0; i < nE; i++) g += L.shexpGateInp[i] * h2[i];
            g = fround(g);
            gate = fround(silu(g) / g);
          }
          const sh = matvec(L.shDown, swiglu(matvec(L.shGate!, h2), matvec(L.shUp!, h2)));
          for (let i = 0; i < nE; i++) ffnOut[i] = ffnOut[i] + (L.shexpGateInp ? fround(sh[i] * gate) : sh[i]);
        }
      } else {
        ffnOut = matvec(L.ffnDown!, swiglu(matvec(L.ffnGate!, h2), matvec(L.ffnUp!, h2)));
      }
      tap('ffn_out', l, ffnOut);
      for (let i = 0; i < nE; i++) x[i] = x[i] + ffnOut[i];
      tap('l_out', l, x);
    }
    const hOut = rmsNorm(x, m.outputNorm, hp.rmsEps);
    tap('result_norm', -1, hOut);
    let logits = matvec(m.output, hOut);
    const cap = hp.gemma?.logitSoftcap ?? 0;
    if (cap) logits = logits.map((z) => fround(fround(Math.tanh(fround(z * fround(1 / cap)))) * cap)); // tanh softcap
    tap('result_output', -1, logits);
    return { token, pos, routing, logits };
  }
}

export function moeLayerIndices(model: ReferenceModel): number[] {
  return model.layers.flatMap((L, i) => (L.router ? [i] : []));
}

/** Evaluate `tokens` at positions 0..n-1 and return per-token routing and logits. */
export function referenceForward(model: ReferenceModel, tokens: number[], masked?: ReadonlyMap<number, readonly number[]>): ForwardResult {
  const s = new ReferenceSession(model, masked);
  const res: ForwardResult = {
    tokens: [...tokens],
    routing: { moeLayers: moeLayerIndices(model), experts: [], weights: [], probs: [], selectionMargin: [] },
    logits: [],
  };
  for (const t of tokens) pushResult(res, s.eval(t));
  return res;
}

function pushResult(res: ForwardResult, r: TokenResult): void {
  res.routing.experts.push(r.routing.experts);
  res.routing.weights.push(r.routing.weights);
  res.routing.probs.push(r.routing.probs);
  res.routing.selectionMargin.push(r.routing.selectionMargin);
  res.logits.push(r.logits);
}

/** Index of the largest logit (lowest index on exact ties, like llama.cpp's greedy sampler) and its margin. */
export function argmaxWithMargin(logits: Float32Array): { token: number; margin: number } {
  let best = 0;
  let second = -Infinity;
  for (let i = 1; i < logits.length; i++) {
    if (logits[i] > logits[best]) {
      second = logits[best];
      best = i;
    } else if (logits[i] > second) second = logits[i];
  }
  return { token: best, margin: logits[best] - second };
}

export interface GreedyResult {
  /** Generated tokens (not including the prompt). */
  tokens: number[];
  /** Top-1 minus top-2 logit at each generation step. */
  margins: number[];
  /** Forward results for prompt + generated tokens except the last generated one. */
  forward: ForwardResult;
}

/** Greedy continuation of `prompt` (which should start with BOS) for `nNew` tokens. */
export function referenceGreedy(
  model: ReferenceModel,
  prompt: number[],
  nNew: number,
  opts: { stopAtEos?: boolean; masked?: ReadonlyMap<number, readonly number[]> } = {},
): GreedyResult {
  const s = new ReferenceSession(model, opts.masked);
  const forward: ForwardResult = {
    tokens: [],
    routing: { moeLayers: moeLayerIndices(model), experts: [], weights: [], probs: [], selectionMargin: [] },
    logits: [],
  };
  let last: TokenResult | undefined;
  for (const t of prompt) {
    last = s.eval(t);
    forward.tokens.push(t);
    pushResult(forward, last);
  }
  if (!last) throw new Error('empty prompt');
  const tokens: number[] = [];
  const margins: number[] = [];
  for (let i = 0; i < nNew; i++) {
    const { token, margin } = argmaxWithMargin(last.logits);
    tokens.push(token);
    margins.push(margin);
    if (opts.stopAtEos && token === model.hparams.eos) break;
    if (i === nNew - 1) break;
    last = s.eval(token);
    forward.tokens.push(token);
    pushResult(forward, last);
  }
  return { tokens, margins, forward };
}

export interface RoutingMismatch {
  token: number;
  layer: number;
  expected: number[];
  actual: number[];
  /** Reference selection margin at that token/layer. */
  margin: number;
}

export interface RoutingComparison {
  /** token × MoE-layer rows compared (near-ties included). */
  compared: number;
  /** Rows whose expert ids differ although the reference margin is above `nearTie`. */
  idMismatches: RoutingMismatch[];
  /** Rows whose ids differ at a near-tie (reference margin ≤ nearTie): tolerated. */
  nearTieFlips: RoutingMismatch[];
  /** Largest |weight difference| over rows with identical ids; NaN if a weight is NaN or a row's length differs. */
  maxWeightDiff: number;
}

/**
 * Compare captured routing ([token][moeLayer][rank], same order as the reference) with a reference result.
 * `tokenOffset`: index in `ref` of the first captured token (e.g. when capture starts after the prompt).
 */
export function compareRouting(
  ref: ForwardResult,
  captured: { experts: ArrayLike<number>[][]; weights: ArrayLike<number>[][] },
  opts: { nearTie?: number; tokenOffset?: number } = {},
): RoutingComparison {
  const nearTie = opts.nearTie ?? 1e-4;
  const off = opts.tokenOffset ?? 0;
  const out: RoutingComparison = { compared: 0, idMismatches: [], nearTieFlips: [], maxWeightDiff: 0 };
  captured.experts.forEach((layers, t) => {
    const rt = t + off;
    if (rt >= ref.routing.experts.length) throw new Error(`captured token ${t} beyond the reference (${ref.routing.experts.length})`);
    layers.forEach((ids, l) => {
      out.compared++;
      const expected = ref.routing.experts[rt][l];
      const actual = Array.from(ids);
      if (expected.length !== actual.length || expected.some((e, i) => e !== actual[i])) {
        const margin = ref.routing.selectionMargin[rt][l];
        (margin <= nearTie ? out.nearTieFlips : out.idMismatches).push({ token: rt, layer: l, expected, actual, margin });
        return;
      }
      const w = captured.weights[t][l];
      const rw = ref.routing.weights[rt][l];
      // Over the longer row: a missing or extra weight gives NaN, which sticks (and fails any `< tol`).
      for (let i = 0; i < Math.max(rw.length, w.length); i++) out.maxWeightDiff = Math.max(out.maxWeightDiff, Math.abs(rw[i] - w[i]));
    });
  });
  return out;
}
