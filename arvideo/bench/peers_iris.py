"""An IRIS-style world-model baseline for `arvideo bench peers`: a plain GPT, one token a call.

IRIS (Micheli, Alonso, Fleuret, "Transformers are Sample-Efficient World Models", ICLR 2023,
arXiv 2209.00588) imagines Atari with a GPT over discrete frame tokens: each frame is 16
tokens of a 512-code VQ tokenizer, each action one more token after its frame, learned
absolute positions, 10 layers of width 256 and 4 heads. Imagining a step feeds the action
token, then samples the frame's 16 tokens one per transformer call, each fed back through a
KV cache; a 17th call commits the last token, so every frame costs 17 single-token calls.

Written here from that description, not from IRIS's code, and with today's attention kernel
(`F.scaled_dot_product_attention`), so the baseline should be no slower than the original
(not timed against it). Its KV cache is allocated once for the longest sequence, as IRIS's.
The heads for reward and episode end are left out (our models have none either); the
tokenizer is out of the timing. This module knows nothing about arvideo's models; peers.py
times it beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class IrisConfig:
    width: int = 256
    depth: int = 10
    heads: int = 4
    vocab_size: int = 512  # frame-token codebook
    num_actions: int = 6  # action tokens get ids vocab_size .. vocab_size + num_actions - 1
    tokens_per_frame: int = 16  # a 4×4 grid of codes per 64×64 frame
    max_frames: int = 20  # learned positions cover this many (frame + action) blocks

    @property
    def max_tokens(self) -> int:
        return self.max_frames * (self.tokens_per_frame + 1)


class IrisCache:
    """Keys and values of every layer in buffers sized for `max_tokens`, filled in place."""

    def __init__(self, config: IrisConfig, batch_size: int, like: torch.Tensor):
        head_dim = config.width // config.heads
        shape = (config.depth, batch_size, config.heads, config.max_tokens, head_dim)
        self.keys_LBAMd = like.new_empty(shape)
        self.values_LBAMd = like.new_empty(shape)
        self.length = 0  # tokens committed by earlier calls

    def write(self, layer: int, k_BAnd: torch.Tensor, v_BAnd: torch.Tensor):
        """Store a call's new keys/values after the committed ones; return all of them."""
        end = self.length + k_BAnd.shape[2]
        self.keys_LBAMd[layer, :, :, self.length : end] = k_BAnd
        self.values_LBAMd[layer, :, :, self.length : end] = v_BAnd
        return self.keys_LBAMd[layer, :, :, :end], self.values_LBAMd[layer, :, :, :end]


class SelfAttention(nn.Module):
    def __init__(self, config: IrisConfig):
        super().__init__()
        self.heads = config.heads
        self.qkv = nn.Linear(config.width, 3 * config.width)
        self.out = nn.Linear(config.width, config.width)

    def forward(self, x_BnD, cache: IrisCache | None, layer: int) -> torch.Tensor:
        B, n, D = x_BnD.shape
        q, k, v = self.qkv(x_BnD).view(B, n, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        if cache is not None:
            k, v = cache.write(layer, k, v)
        # one new token sees every key: no mask; several see the keys up to their own
        mask = None
        if n > 1:
            offset = k.shape[2] - n
            mask = torch.ones(n, k.shape[2], dtype=torch.bool, device=x_BnD.device).tril(offset)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out(y.transpose(1, 2).reshape(B, n, D))


class GPTBlock(nn.Module):
    """Pre-LayerNorm GPT block with a 4× GELU MLP."""

    def __init__(self, config: IrisConfig):
        super().__init__()
        D = config.width
        self.norm1, self.norm2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.attn = SelfAttention(config)
        self.mlp = nn.Sequential(nn.Linear(D, 4 * D), nn.GELU(), nn.Linear(4 * D, D))

    def forward(self, x_BnD, cache: IrisCache | None, layer: int) -> torch.Tensor:
        x_BnD = x_BnD + self.attn(self.norm1(x_BnD), cache, layer)
        return x_BnD + self.mlp(self.norm2(x_BnD))


class IrisWorldModel(nn.Module):
    """tokens B×n (frame codes, or vocab_size + action) -> next frame-token logits B×n×V."""

    def __init__(self, config: IrisConfig):
        super().__init__()
        self.config = config
        D = config.width
        self.embed = nn.Embedding(config.vocab_size + config.num_actions, D)
        self.position = nn.Embedding(config.max_tokens, D)
        self.blocks = nn.ModuleList(GPTBlock(config) for _ in range(config.depth))
        self.final_norm = nn.LayerNorm(D)
        self.head = nn.Sequential(nn.Linear(D, D), nn.ReLU(), nn.Linear(D, config.vocab_size))

    def forward(self, tokens_Bn: torch.Tensor, cache: IrisCache | None = None) -> torch.Tensor:
        """Without a cache: the whole sequence from position 0. With one: the next tokens,
        committed to the cache."""
        start = 0 if cache is None else cache.length
        end = start + tokens_Bn.shape[1]
        if end > self.config.max_tokens:
            raise ValueError(f"{end} tokens exceed max_tokens={self.config.max_tokens}")
        positions = torch.arange(start, end, device=tokens_Bn.device)
        x = self.embed(tokens_Bn) + self.position(positions)
        for layer, block in enumerate(self.blocks):
            x = block(x, cache, layer)
        if cache is not None:
            cache.length += tokens_Bn.shape[1]
        return self.head(self.final_norm(x))


def draw(logits_BV: torch.Tensor, generator: torch.Generator | None, greedy: bool):
    """B×1 codes: argmax, or a draw from softmax(logits) (temperature 1, no filter)."""
    if greedy:
        return logits_BV.argmax(-1, keepdim=True)
    return torch.multinomial(logits_BV.float().softmax(-1), 1, generator=generator)


@torch.no_grad()
def iris_rollout(
    model: IrisWorldModel,
    context_BK: torch.Tensor,
    actions_BT: torch.Tensor,
    generator: torch.Generator | None = None,
    greedy: bool = False,
) -> torch.Tensor:
    """Codes B×(1+T)×K: the context frame, then one frame per action (the action taken after
    the frame before). The context is one call; each frame is 1 + K single-token calls."""
    config = model.config
    B, K = context_BK.shape
    cache = IrisCache(config, B, model.position.weight)
    model(context_BK, cache)
    frames = [context_BK]
    for action_B in actions_BT.unbind(1):
        token_B1 = (action_B + config.vocab_size)[:, None]
        frame = []
        for _ in range(K):
            token_B1 = draw(model(token_B1, cache)[:, -1], generator, greedy)
            frame.append(token_B1)
        model(token_B1, cache)  # commit the last token, as every frame's 17th call does
        frames.append(torch.cat(frame, 1))
    return torch.stack(frames, 1)
