"""Trains the demo MoE: tokenizer, data, training loop with checkpoints (resumable), loss log.

    /usr/bin/python3 scripts/train-demo/train.py --work .cache/train-demo     # resumes where it stopped

Everything random is seeded: the tokenizer trains on a fixed sample, batch b is drawn by a generator seeded
with (seed, b), so a run resumed from a checkpoint draws the same batches as one that never stopped.
Writes under WORK: tokenizer.model, tokens.npz, ckpt.pt (every --ckpt-every steps), log.jsonl (loss, aux
loss, lr, tokens/s per step; held-out loss every --eval-every steps) and run.json (every hyperparameter).
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Config, MoEDecoder  # noqa: E402

HYPER = dict(
    seed=1234, steps=700, batch=12, warmup=30, lr=2e-3, min_lr_ratio=0.1, weight_decay=0.1,
    betas=(0.9, 0.95), grad_clip=1.0, aux_coef=0.01, prose_share=0.6,
    eval_every=100, eval_seqs=48, ckpt_every=20, threads=2,
    tokenizer=dict(model_type='bpe', vocab_size=8192, byte_fallback=True, split_digits=True,
                   normalization_rule_name='identity', remove_extra_whitespaces=False,
                   allow_whitespace_only_pieces=True, add_dummy_prefix=True, character_coverage=0.9995,
                   max_sentence_length=8192, input_sentence_size=400000, shuffle_input_sentence=True,
                   unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=2, seed_sentencepiece_size=1000000),
)
MODEL = Config(vocab=8192, n_layer=6, d=256, n_head=8, n_head_kv=2, n_expert=8, n_expert_used=2, ff=224, ctx=512)


def read_docs(path):
    with open(path) as f:
        for line in f:
            yield json.loads(line)


def train_tokenizer(work, h):
    import sentencepiece as spm
    out = os.path.join(work, 'tokenizer')
    if os.path.exists(out + '.model'):
        return
    sample = os.path.join(work, 'tokenizer-input.txt')
    rnd = random.Random(h['seed'])
    with open(sample, 'w') as f:
        for d in read_docs(os.path.join(work, 'corpus', 'train.jsonl')):
            # An even share of prose and code lines (the corpus has more code than prose).
            if d['kind'] == 'code' and rnd.random() > 0.35:
                continue
            for line in d['text'].split('\n'):
                if line.strip():
                    f.write(line + '\n')
    spm.SentencePieceTrainer.train(input=sample, model_prefix=out, **h['tokenizer'])


def tokenize(work):
    import sentencepiece as spm
    path = os.path.join(work, 'tokens.npz')
    if os.path.exists(path):
        return dict(np.load(path))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(work, 'tokenizer.model'))
    streams = {}
    for split in ('train', 'heldout'):
        for kind in ('prose', 'code'):
            streams[f'{split}_{kind}'] = []
        for d in read_docs(os.path.join(work, 'corpus', f'{split}.jsonl')):
            streams[f"{split}_{d['kind']}"].append([sp.bos_id()] + sp.encode(d['text']) + [sp.eos_id()])
    arrays = {k: np.array([t for doc in v for t in doc], dtype=np.int16 if MODEL.vocab < 32768 else np.int32) for k, v in streams.items()}
    np.savez(path, **arrays)
    return arrays


def batch_at(streams, step, h, n_seq, split='train', seed_extra=0):
    """Sequences of ctx+1 tokens at random offsets; the generator depends only on (seed, step)."""
    rng = np.random.default_rng([h['seed'], step, seed_extra])
    T = MODEL.ctx + 1
    rows = []
    for _ in range(n_seq):
        kind = 'prose' if rng.random() < h['prose_share'] else 'code'
        s = streams[f'{split}_{kind}']
        i = int(rng.integers(0, len(s) - T))
        rows.append(s[i:i + T].astype(np.int64))
    return torch.from_numpy(np.stack(rows))


def lr_at(step, h):
    if step < h['warmup']:
        return h['lr'] * (step + 1) / h['warmup']
    p = (step - h['warmup']) / max(1, h['steps'] - h['warmup'])
    return h['lr'] * (h['min_lr_ratio'] + (1 - h['min_lr_ratio']) * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))


@torch.no_grad()
def heldout_loss(model, streams, h):
    model.eval()
    out = {}
    for kind in ('prose', 'code'):
        total, n = 0.0, 0
        hh = dict(h, prose_share=1.0 if kind == 'prose' else 0.0)
        for j in range(0, h['eval_seqs'], 8):
            ids = batch_at(streams, j, hh, 8, 'heldout', seed_extra=7)
            logits = model(ids[:, :-1])
            total += F.cross_entropy(logits.reshape(-1, MODEL.vocab), ids[:, 1:].reshape(-1), reduction='sum').item()
            n += ids[:, 1:].numel()
        out[kind] = total / n
    model.train()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--work', required=True)
    ap.add_argument('--steps', type=int, help='override the step count (recorded in run.json)')
    a = ap.parse_args()
    h = dict(HYPER)
    if a.steps:
        h['steps'] = a.steps
    torch.set_num_threads(h['threads'])
    torch.manual_seed(h['seed'])
    np.random.seed(h['seed'])
    train_tokenizer(a.work, h)
    streams = tokenize(a.work)
    with open(os.path.join(a.work, 'run.json'), 'w') as f:
        json.dump({'hyper': h, 'model': MODEL.to_dict(), 'tokens': {k: int(v.size) for k, v in streams.items()},
                   'torch': torch.__version__}, f, indent=2)

    model = MoEDecoder(MODEL)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': h['weight_decay']}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=h['lr'], betas=h['betas'])
    ckpt_path = os.path.join(a.work, 'ckpt.pt')
    log_path = os.path.join(a.work, 'log.jsonl')
    step = 0
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck['model'])
        opt.load_state_dict(ck['opt'])
        step = ck['step']
        torch.set_rng_state(ck['torch_rng'])
        # Drop log lines of steps after the checkpoint (they will be written again).
        if os.path.exists(log_path):
            lines = [l for l in open(log_path) if json.loads(l)['step'] <= step]
            open(log_path, 'w').writelines(lines)
        print(f'resumed at step {step}', flush=True)
    print(f'{sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters', flush=True)

    log = open(log_path, 'a')
    while step < h['steps']:
        t0 = time.time()
        lr = lr_at(step, h)
        for g in opt.param_groups:
            g['lr'] = lr
        ids = batch_at(streams, step, h, h['batch'])
        logits = model(ids[:, :-1])
        ce = F.cross_entropy(logits.reshape(-1, MODEL.vocab), ids[:, 1:].reshape(-1))
        aux = model.aux_loss()
        loss = ce + h['aux_coef'] * aux
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), h['grad_clip'])
        opt.step()
        step += 1
        rec = {'step': step, 'loss': round(ce.item(), 4), 'aux': round(aux.item(), 4), 'lr': lr,
               'tok_s': round(ids[:, 1:].numel() / (time.time() - t0), 1)}
        if step % h['eval_every'] == 0 or step == h['steps']:
            rec['heldout'] = heldout_loss(model, streams, h)
        log.write(json.dumps(rec) + '\n')
        log.flush()
        if step % 10 == 0 or 'heldout' in rec:
            print(json.dumps(rec), flush=True)
        if step % h['ckpt_every'] == 0 or step == h['steps']:
            tmp = ckpt_path + '.tmp'
            torch.save({'model': model.state_dict(), 'opt': opt.state_dict(), 'step': step,
                        'torch_rng': torch.get_rng_state()}, tmp)
            os.replace(tmp, ckpt_path)
    torch.save({'model': model.state_dict(), 'config': MODEL.to_dict()}, os.path.join(a.work, 'final.pt'))
    print('done', flush=True)


if __name__ == '__main__':
    main()
