"""Exports the trained demo model to GGUF (arch `llama` with experts, SentencePiece vocabulary as llama.cpp's
SPM vocab, F16 weights, F32 norms and routers) and the PyTorch reference the export check compares against.

    /usr/bin/python3 scripts/train-demo/export.py --work .cache/train-demo --out models/demo

Writes OUT/demo-moe.gguf, OUT/reference.json (for 5 prompts: their token ids, PyTorch's 64 greedy tokens and,
at every step, the top-16 log-probabilities) computed with the weights rounded to F16 exactly as exported, and
OUT/loss.png (the training and held-out loss curves from WORK/log.jsonl).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import Config, MoEDecoder  # noqa: E402

NAME = 'MoE Lens demo'
# It continues text; it is not an assistant. Turns are joined as one document: a user's text, the model's
# continuation right after it, a blank line before the next user text. System prompts are left out.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
    "{% if not loop.first %}{{ '\n\n' }}{% endif %}{{ message['content'] }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] }}{% endif %}{% endfor %}"
)
PROMPTS = [
    'The main purpose of the module is',
    'def read_config(path):\n    """Read the configuration file and',
    'To install the package on a Debian system, run',
    'function parseArgs(argv) {\n  const options = {};',
    'In this chapter we describe how the',
]


def gguf_module(llama_src):
    sys.path.insert(0, os.path.join(llama_src, 'gguf-py'))
    import gguf
    return gguf


def load(work):
    ck = torch.load(os.path.join(work, 'final.pt')) if os.path.exists(os.path.join(work, 'final.pt')) else torch.load(os.path.join(work, 'ckpt.pt'))
    cfg = Config(**json.load(open(os.path.join(work, 'run.json')))['model'])
    model = MoEDecoder(cfg)
    model.load_state_dict(ck['model'])
    model.eval()
    return cfg, model


def f16_round_(model):
    """Rounds every weight that is exported as F16 (all 2D/3D except routers) the same way the file stores it."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2 and 'router' not in name:
                p.copy_(p.half().float())


def write_gguf(gguf, cfg, model, sp, path):
    w = gguf.GGUFWriter(path, 'llama')
    w.add_name(NAME)
    w.add_description('A small Mixtral-style MoE trained by scripts/train-demo: it continues English prose and code.')
    w.add_tags(['text-continuation', 'moe', 'demo'])
    w.add_license('MIT (weights); see models/demo/README.md for the training data')
    w.add_context_length(cfg.ctx)
    w.add_embedding_length(cfg.d)
    w.add_block_count(cfg.n_layer)
    w.add_feed_forward_length(cfg.ff)
    w.add_expert_feed_forward_length(cfg.ff)
    w.add_head_count(cfg.n_head)
    w.add_head_count_kv(cfg.n_head_kv)
    w.add_rope_dimension_count(cfg.d // cfg.n_head)
    w.add_rope_freq_base(cfg.rope_base)
    w.add_layer_norm_rms_eps(cfg.eps)
    w.add_expert_count(cfg.n_expert)
    w.add_expert_used_count(cfg.n_expert_used)
    w.add_vocab_size(cfg.vocab)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)

    tokens, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(i).encode('utf-8'))
        scores.append(sp.get_score(i))
        if sp.is_unknown(i):
            t = gguf.TokenType.UNKNOWN
        elif sp.is_control(i):
            t = gguf.TokenType.CONTROL
        elif sp.is_byte(i):
            t = gguf.TokenType.BYTE
        elif sp.is_unused(i):
            t = gguf.TokenType.UNUSED
        else:
            t = gguf.TokenType.NORMAL
        types.append(t)
    w.add_tokenizer_model('llama')
    w.add_tokenizer_pre('default')
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(sp.bos_id())
    w.add_eos_token_id(sp.eos_id())
    w.add_unk_token_id(sp.unk_id())
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(True)
    w.add_chat_template(CHAT_TEMPLATE)

    def f16(t):
        return t.detach().numpy().astype(np.float16)

    def f32(t):
        return t.detach().numpy().astype(np.float32)

    w.add_tensor('token_embd.weight', f16(model.embed.weight))
    w.add_tensor('output_norm.weight', f32(model.norm.weight))
    for i, b in enumerate(model.blocks):
        p = f'blk.{i}.'
        w.add_tensor(p + 'attn_norm.weight', f32(b.attn_norm.weight))
        w.add_tensor(p + 'attn_q.weight', f16(b.attn.wq.weight))
        w.add_tensor(p + 'attn_k.weight', f16(b.attn.wk.weight))
        w.add_tensor(p + 'attn_v.weight', f16(b.attn.wv.weight))
        w.add_tensor(p + 'attn_output.weight', f16(b.attn.wo.weight))
        w.add_tensor(p + 'ffn_norm.weight', f32(b.ffn_norm.weight))
        w.add_tensor(p + 'ffn_gate_inp.weight', f32(b.moe.router.weight))
        gu = b.moe.w_gate_up  # [E, d, 2ff], used as x @ W
        w.add_tensor(p + 'ffn_gate_exps.weight', f16(gu[:, :, :cfg.ff].transpose(1, 2)))  # [E, ff, d]
        w.add_tensor(p + 'ffn_up_exps.weight', f16(gu[:, :, cfg.ff:].transpose(1, 2)))
        w.add_tensor(p + 'ffn_down_exps.weight', f16(b.moe.w_down.transpose(1, 2)))  # [E, d, ff]
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


@torch.no_grad()
def reference(model, sp, n_tokens=64, top=16):
    out = []
    for prompt in PROMPTS:
        ids = [sp.bos_id()] + sp.encode(prompt)
        prompt_ids = list(ids)
        gen, steps = [], []
        for _ in range(n_tokens):
            logits = model(torch.tensor([ids]))[0, -1].double()
            logp = logits.log_softmax(-1)
            v, i = logp.topk(top)
            nxt = int(i[0])
            steps.append({'ids': i.tolist(), 'logprobs': [round(x, 6) for x in v.tolist()]})
            gen.append(nxt)
            if nxt == sp.eos_id():
                break
            ids.append(nxt)
        out.append({'prompt': prompt, 'promptIds': prompt_ids, 'greedy': gen, 'text': sp.decode(gen), 'steps': steps})
    return out


def training_summary(work, cfg, model):
    """Hyperparameters, data, the loss at the end and a unigram baseline (add-one counts of the training tokens)."""
    run = json.load(open(os.path.join(work, 'run.json')))
    rows = [json.loads(l) for l in open(os.path.join(work, 'log.jsonl'))]
    last_eval = [r for r in rows if 'heldout' in r][-1]
    streams = np.load(os.path.join(work, 'tokens.npz'))
    share = run['hyper']['prose_share']
    counts = {k: np.bincount(streams[f'train_{k}'].astype(np.int64), minlength=cfg.vocab) + 1.0 for k in ('prose', 'code')}
    # The unigram the training mixture implies: prose and code counts weighted like the batches were drawn.
    p = share * counts['prose'] / counts['prose'].sum() + (1 - share) * counts['code'] / counts['code'].sum()
    unigram = {k: float(np.exp(-np.log(p[streams[f'heldout_{k}'].astype(np.int64)]).mean())) for k in ('prose', 'code')}
    return {
        'model': cfg.to_dict(),
        'parameters': sum(x.numel() for x in model.parameters()),
        'hyper': run['hyper'],
        'tokens': run['tokens'],
        'torch': run['torch'],
        'steps': rows[-1]['step'],
        'trainedTokens': rows[-1]['step'] * run['hyper']['batch'] * cfg.ctx,
        'finalTrainLoss10': float(np.mean([r['loss'] for r in rows[-10:]])),
        'heldoutLoss': last_eval['heldout'],
        'heldoutPerplexityTorch': {k: float(np.exp(v)) for k, v in last_eval['heldout'].items()},
        'unigramPerplexity': unigram,
        'trainingSeconds': float(sum(run['hyper']['batch'] * cfg.ctx / r['tok_s'] for r in rows)),
    }


def plot_loss(work, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = [json.loads(l) for l in open(os.path.join(work, 'log.jsonl'))]
    steps = [r['step'] for r in rows]
    loss = np.array([r['loss'] for r in rows])
    smooth = np.convolve(loss, np.ones(10) / 10, mode='valid')
    ev = [r for r in rows if 'heldout' in r]
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=110)
    ax.plot(steps, loss, color='#9ab', lw=0.8, label='training loss (per step)')
    ax.plot(steps[9:], smooth, color='#246', lw=1.6, label='training loss (10-step mean)')
    ax.plot([r['step'] for r in ev], [r['heldout']['prose'] for r in ev], 'o-', color='#c60', label='held-out prose')
    ax.plot([r['step'] for r in ev], [r['heldout']['code'] for r in ev], 's-', color='#393', label='held-out code')
    ax.set_xlabel('step (12 × 512 tokens)')
    ax.set_ylabel('cross-entropy (nats/token)')
    ax.set_ylim(bottom=max(0.0, min(loss.min(), min([min(r['heldout'].values()) for r in ev] or [9])) - 0.3), top=min(9.5, loss.max() + 0.2))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--work', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--llama-src', required=True, help='the llama.cpp source bundled in node-llama-cpp (for gguf-py)')
    a = ap.parse_args()
    import sentencepiece as spm
    torch.set_num_threads(2)
    gguf = gguf_module(a.llama_src)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(a.work, 'tokenizer.model'))
    cfg, model = load(a.work)
    f16_round_(model)
    os.makedirs(a.out, exist_ok=True)
    write_gguf(gguf, cfg, model, sp, os.path.join(a.out, 'demo-moe.gguf'))
    with open(os.path.join(a.out, 'reference.json'), 'w') as f:
        json.dump({'note': 'PyTorch greedy decoding of models/demo/demo-moe.gguf (weights as exported); written by scripts/train-demo/export.py',
                   'prompts': reference(model, sp)}, f)
    plot_loss(a.work, os.path.join(a.out, 'loss.png'))
    with open(os.path.join(a.out, 'training.json'), 'w') as f:
        json.dump(training_summary(a.work, cfg, model), f, indent=1)
        f.write('\n')
    print('wrote', os.path.join(a.out, 'demo-moe.gguf'), os.path.getsize(os.path.join(a.out, 'demo-moe.gguf')))


if __name__ == '__main__':
    main()
