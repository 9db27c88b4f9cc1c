"""A Mixtral-style decoder, written to match llama.cpp's `llama` architecture with experts exactly.

RMSNorm, RoPE in llama.cpp's "normal" mode (adjacent pairs (2i, 2i+1) rotate together, so Q/K weights are
exported without the permutation Hugging Face checkpoints need), grouped-query attention (query head h reads
key/value head h // (n_head / n_head_kv), as llama.cpp does), and an MoE feed-forward per layer: a linear
router, softmax over all experts, the top-k, weights renormalised over the chosen ones (llama.cpp's
`ffn_moe_weights_norm`, Mixtral's rule), SwiGLU experts. Output tied to the token embedding (llama.cpp
falls back to `token_embd` when a GGUF has no `output.weight`).

Speed on a 2-core CPU (torch 1.13, no torch.compile) comes from few, large ops: the experts' gate and up
projections are one [E, d, 2ff] weight, tokens are sorted by expert once per layer and each expert runs two
matmuls on its contiguous slice.
"""
from dataclasses import dataclass, asdict
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    vocab: int = 8192
    n_layer: int = 6
    d: int = 192
    n_head: int = 6
    n_head_kv: int = 2
    n_expert: int = 8
    n_expert_used: int = 2
    ff: int = 320
    ctx: int = 512
    rope_base: float = 10000.0
    eps: float = 1e-5

    def to_dict(self):
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(cfg: Config, length: int, device=None):
    hd = cfg.d // cfg.n_head
    inv = cfg.rope_base ** (-torch.arange(0, hd, 2, dtype=torch.float64, device=device) / hd)
    ang = torch.arange(length, dtype=torch.float64, device=device)[:, None] * inv[None, :]
    return ang.cos().float(), ang.sin().float()


def apply_rope(x, cos, sin):
    """x [B, H, T, hd]; rotates the adjacent pairs (x[2i], x[2i+1]) by pos * base^(-2i/hd)."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    r0 = x0 * cos - x1 * sin
    r1 = x0 * sin + x1 * cos
    return torch.stack((r0, r1), dim=-1).flatten(-2)


class Attention(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        hd = cfg.d // cfg.n_head
        self.wq = nn.Linear(cfg.d, cfg.n_head * hd, bias=False)
        self.wk = nn.Linear(cfg.d, cfg.n_head_kv * hd, bias=False)
        self.wv = nn.Linear(cfg.d, cfg.n_head_kv * hd, bias=False)
        self.wo = nn.Linear(cfg.n_head * hd, cfg.d, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        c = self.cfg
        hd = c.d // c.n_head
        q = self.wq(x).view(B, T, c.n_head, hd).transpose(1, 2)
        k = self.wk(x).view(B, T, c.n_head_kv, hd).transpose(1, 2)
        v = self.wv(x).view(B, T, c.n_head_kv, hd).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        rep = c.n_head // c.n_head_kv
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(hd)) + mask
        y = att.softmax(-1) @ v
        return self.wo(y.transpose(1, 2).reshape(B, T, c.n_head * hd))


class MoE(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        E, d, ff = cfg.n_expert, cfg.d, cfg.ff
        self.router = nn.Linear(d, E, bias=False)
        self.w_gate_up = nn.Parameter(torch.randn(E, d, 2 * ff) / math.sqrt(d))
        self.w_down = nn.Parameter(torch.randn(E, ff, d) / math.sqrt(ff))
        self.last_aux = None  # load-balancing loss of the last forward
        self.last_topi = None

    def forward(self, x):
        c = self.cfg
        shape = x.shape
        x = x.reshape(-1, c.d)
        n = x.shape[0]
        logits = self.router(x)
        probs = logits.softmax(-1)
        topw, topi = probs.topk(c.n_expert_used, dim=-1)
        topw = topw / topw.sum(-1, keepdim=True)
        # Switch Transformer's balance loss: E * sum_e (share of routed slots to e) * (mean router prob of e).
        counts = torch.bincount(topi.reshape(-1), minlength=c.n_expert)
        share = counts.float() / (n * c.n_expert_used)
        self.last_aux = c.n_expert * (share * probs.mean(0)).sum()
        self.last_topi = topi.detach()

        flat = topi.reshape(-1)
        order = flat.argsort()
        tok = order // c.n_expert_used
        xs = x.index_select(0, tok)
        ws = topw.reshape(-1).index_select(0, order)
        outs = []
        start = 0
        for e, cnt in enumerate(counts.tolist()):
            if cnt == 0:
                continue
            h = xs[start:start + cnt] @ self.w_gate_up[e]
            g, u = h.split(c.ff, dim=-1)
            outs.append((F.silu(g) * u) @ self.w_down[e])
            start += cnt
        ys = torch.cat(outs) * ws[:, None]
        out = torch.zeros_like(x).index_add_(0, tok, ys)
        return out.view(shape)


class Block(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.attn_norm = RMSNorm(cfg.d, cfg.eps)
        self.attn = Attention(cfg)
        self.ffn_norm = RMSNorm(cfg.d, cfg.eps)
        self.moe = MoE(cfg)

    def forward(self, x, cos, sin, mask):
        x = x + self.attn(self.attn_norm(x), cos, sin, mask)
        return x + self.moe(self.ffn_norm(x))


class MoEDecoder(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab, cfg.d)
        nn.init.normal_(self.embed.weight, std=0.02)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.norm = RMSNorm(cfg.d, cfg.eps)
        for name, p in self.named_parameters():
            if name.endswith(('wq.weight', 'wk.weight', 'wv.weight', 'router.weight')):
                nn.init.normal_(p, std=0.02)
            elif name.endswith('wo.weight'):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * cfg.n_layer))
            elif name.endswith('w_gate_up'):
                nn.init.normal_(p, std=0.02)
            elif name.endswith('w_down'):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * cfg.n_layer))

    def forward(self, ids):
        B, T = ids.shape
        cos, sin = rope_tables(self.cfg, T, ids.device)
        mask = torch.full((T, T), float('-inf'), device=ids.device).triu(1)
        x = self.embed(ids)
        for b in self.blocks:
            x = b(x, cos, sin, mask)
        return self.norm(x) @ self.embed.weight.t()

    def aux_loss(self):
        return sum(b.moe.last_aux for b in self.blocks) / len(self.blocks)

    def routing(self):
        """Top-k expert ids of the last forward, per layer: [n_layer, tokens, k]."""
        return torch.stack([b.moe.last_topi for b in self.blocks])
