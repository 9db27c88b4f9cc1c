"""Writes the demo model's card, models/demo/README.md, from what the pipeline measured: training.json (export.py)
and figures.json (measure.ts, the export check included).

    /usr/bin/python3 scripts/train-demo/card.py --dir models/demo
"""
import argparse
import json
import os


def pct(x):
    return f'{100 * x:.1f} %'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dir', default='models/demo')
    ap.add_argument('--manifest', default='scripts/train-demo/manifest.json')
    a = ap.parse_args()
    t = json.load(open(os.path.join(a.dir, 'training.json')))
    f = json.load(open(os.path.join(a.dir, 'figures.json')))
    check = f.get('exportCheck')
    manifest = json.load(open(a.manifest))
    m, h = t['model'], t['hyper']
    tr, rd = f['trained'], f['random']
    files = manifest['files']
    by_pkg = {}
    for x in files:
        source = 'npm packages in node_modules' if x['file'].startswith('npm/') else x['package']
        d = by_pkg.setdefault((x['kind'], source, x['licence']), [0, 0])
        d[0] += 1
        d[1] += x['bytes']
    src_rows = '\n'.join(f'| {k[0]} | {k[1]} | {k[2]} | {v[0]:,} | {v[1] / 2**20:.1f} MiB |' for k, v in sorted(by_pkg.items(), key=lambda kv: -kv[1][1]))
    chars = manifest['characters']
    layers = '\n'.join(
        f"| {l['layer']} | {' '.join(f'{s * 100:.0f}' for s in l['expertShare'])} | {pct(l['minShare'])} | {l['jsProseVsCode']:.3f} | {r['jsProseVsCode']:.3f} |"
        for l, r in zip(tr['routing']['perLayer'], rd['routing']['perLayer'])
    )
    sp = tr['speed']
    samples = '\n'.join(f"- *{s['prompt']}* {s['text'].strip().replace(chr(10), ' ')[:220]}" for s in tr['text']['samples'][:6])
    check_rows = ''
    if check:
        check_rows = '\n'.join(f"| {i} | {json.dumps(c['prompt'])[:48]} | {c['tokens']} | {'identical' if c['identical'] else 'DIFFERENT'} | {c['maxLogprobDiff']:.2e} |" for i, c in enumerate(check['prompts']))
    card = f"""# MoE Lens demo — an 11 M-parameter Mixture-of-Experts trained on prose and code

`demo-moe.gguf` is the model MoE Lens uses when no other is configured (chat, Summarize Selection, evals,
`npm start`, and `moe-lens … demo`). It is a small **Mixtral-style decoder trained on this project's machines**
(2 CPU cores, no GPU) so that a newcomer sees real routing: experts that specialise, load that is balanced but
not uniform. It **continues text; it is not an assistant**: it has never seen an instruction or a chat, and its
chat template simply joins the turns into one document (the system prompt is left out). Everything here is
rebuilt by `bash scripts/train-demo/run.sh`.

## The model

| | |
|---|---|
| architecture | GGUF arch `llama` with experts (Mixtral's layout): RMSNorm, RoPE, grouped-query attention, an MoE feed-forward in every layer, output tied to the embedding |
| size | {t['parameters'] / 1e6:.2f} M parameters; {m['n_layer']} layers, d_model {m['d']}, {m['n_head']} query / {m['n_head_kv']} key-value heads |
| experts | {m['n_expert']} SwiGLU experts of width {m['ff']} per layer, top-{m['n_expert_used']} softmax routing with the weights renormalised over the chosen two (llama.cpp's `ffn_moe_weights_norm`) |
| vocabulary | {m['vocab']:,} SentencePiece BPE pieces with byte fallback, exported as llama.cpp's SPM vocabulary |
| context | {m['ctx']} tokens (trained length) |
| file | F16 weights, F32 norms and routers, {os.path.getsize(os.path.join(a.dir, 'demo-moe.gguf')) / 1e6:.1f} MB |

## Data

English prose and source code from packages this machine's registries hold, assembled by
`scripts/train-demo/corpus.py`; every file with its package, licence, size and SHA-256 is in
`scripts/train-demo/manifest.json` ({len(files):,} files). The corpus itself is not committed. Files go to a
held-out slice by a hash of their name (2 %, never split). Characters after cleaning: training prose
{chars.get('train/prose', 0) / 1e6:.1f} M, code {chars.get('train/code', 0) / 1e6:.1f} M; held-out prose
{chars.get('heldout/prose', 0) / 1e6:.2f} M, code {chars.get('heldout/code', 0) / 1e6:.2f} M.

| kind | source | licence | files | bytes |
|---|---|---|---|---|
{src_rows}

## Training

`scripts/train-demo/train.py`, PyTorch {t['torch']} (Debian's `python3-torch`, OpenBLAS, 2 threads), fixed seeds,
resumable from checkpoints. Batches of {h['batch']} × {m['ctx']} tokens drawn at random offsets,
{pct(h['prose_share'])} prose; AdamW (lr {h['lr']}, betas {h['betas']}, weight decay {h['weight_decay']}),
{h['warmup']} warm-up steps then cosine decay to {h['min_lr_ratio']} × lr, gradient clip {h['grad_clip']}, Switch
Transformer's load-balancing loss × {h['aux_coef']}. {t['steps']} steps = {t['trainedTokens'] / 1e6:.2f} M tokens
in {t['trainingSeconds'] / 60:.0f} minutes of compute. (The run started with 800 steps and was resumed from its
step-100 checkpoint with 700 to fit a working session; the schedule is otherwise as recorded in `training.json`.)

![loss curve](loss.png)

Final held-out loss (PyTorch): prose {t['heldoutLoss']['prose']:.3f}, code {t['heldoutLoss']['code']:.3f} nats/token.

## Measured

All with the real engine (`npx tsx scripts/train-demo/measure.ts`, `figures.json`), beside the random-weight demo
that was the default before (`fixtures/random-demo.gguf`: 8 layers, 8 experts, top-2, the test vocabulary).

**Export check.** {(('llama.cpp and PyTorch give identical greedy tokens on all ' if check['identical'] else 'llama.cpp and PyTorch do NOT agree on every greedy token of the ') + str(len(check['prompts'])) + ' prompts; the largest difference in log-probability over the tokens that matter (log p > −8) is ' + f"{check['maxLogprobDiff']:.2e}" + ' (F16 weights and F16-rounded activations in ggml against float32 PyTorch). `npm test` checks it (`test/engine/demo-model.test.ts`) against `reference.json`.') if check else 'See `test/engine/demo-model.test.ts`.'}

| prompt | text | tokens | greedy tokens | largest \\|Δ log p\\| |
|---|---|---|---|---|
{check_rows}

**Perplexity** on the held-out slice ({tr['perplexity']['prose']['tokens']:,} prose and {tr['perplexity']['code']['tokens']:,} code tokens, chunks of up to {m['ctx']} evaluated afresh):

| | prose ppl | code ppl | prose bits/byte | code bits/byte |
|---|---|---|---|---|
| trained demo | {tr['perplexity']['prose']['perplexity']:.1f} | {tr['perplexity']['code']['perplexity']:.1f} | {tr['perplexity']['prose']['bitsPerByte']:.3f} | {tr['perplexity']['code']['bitsPerByte']:.3f} |
| unigram of the training tokens (same vocabulary) | {t['unigramPerplexity']['prose']:.1f} | {t['unigramPerplexity']['code']:.1f} | | |
| random demo (its own vocabulary) | {rd['perplexity']['prose']['perplexity']:.3g} | {rd['perplexity']['code']['perplexity']:.3g} | {rd['perplexity']['prose']['bitsPerByte']:.3f} | {rd['perplexity']['code']['bitsPerByte']:.3f} |

**Text.** 20 prose prompts, temperature 0.8 (top-k 40, top-p 0.95, min-p 0.05, repeat penalty 1.1), 60 tokens each:
**{pct(tr['text']['dictionaryWordShare'])}** of the {tr['text']['words']:,} generated words are in Debian's `wamerican`
list (random demo: {pct(rd['text']['dictionaryWordShare'])} of {rd['text']['words']:,}); the eval's repetition detector
flags {pct(tr['text']['repetitionFlagged'])} of the answers (random demo: {pct(rd['text']['repetitionFlagged'])}). Samples:

{samples}

**Routing** on held-out text ({tr['routing']['tokens']:,} tokens, router capture): each expert's share of the top-2
slots per layer (%, experts 0–7), the smallest share, and the Jensen–Shannon divergence (bits) between the
per-layer expert distributions of prose and of code, with the random demo's beside it:

| layer | expert shares % | smallest | JS prose↔code | random demo's JS |
|---|---|---|---|---|
{layers}

{'No expert is dead: the' if tr['routing']['minExpertShare'] >= 0.02 else 'Some experts are nearly unused: the'} smallest share of any expert in any layer is {pct(tr['routing']['minExpertShare'])} (a uniform router gives each 12.5 %). Mean JS
divergence prose↔code: **{tr['routing']['meanJsProseVsCode']:.3f} bits** (random demo: {rd['routing']['meanJsProseVsCode']:.3f}).
Keep rates (the next token keeps this token's experts): top-1 {pct(tr['routing']['keepTop1'])} against a uniform
router's {pct(tr['routing']['baselines']['keepTop1'])}, the same top-2 set {pct(tr['routing']['keepSet'])} against
{pct(tr['routing']['baselines']['keepSet'])} (random demo: {pct(rd['routing']['keepTop1'])} and {pct(rd['routing']['keepSet'])}).

**Speed** (this 2-core VM, {sp['threads']} threads, capture on, greedy, {sp['runs']} runs): decode
**{sp['decodeTokensPerSecond']['median']:.0f} tok/s** (range {sp['decodeTokensPerSecond']['min']:.0f}–{sp['decodeTokensPerSecond']['max']:.0f}),
prompt {sp['promptTokensPerSecond']['median']:.0f} tok/s (range {sp['promptTokensPerSecond']['min']:.0f}–{sp['promptTokensPerSecond']['max']:.0f}).

## Limits

It is tiny and trained on {t['trainedTokens'] / 1e6:.1f} M tokens: it writes English-looking, often ungrammatical text and
code-shaped lines, knows no facts, follows no instructions and summarises nothing. Its value is its router.
"""
    open(os.path.join(a.dir, 'README.md'), 'w').write(card)
    print('wrote', os.path.join(a.dir, 'README.md'))


if __name__ == '__main__':
    main()
