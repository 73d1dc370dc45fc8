"""The `transformers` contenders of `arvideo bench peers`: Llama at our next-token LM's size.

`llama_like(lm)` builds a randomly initialised `LlamaForCausalLM` from a `LlamaConfig` (no
download) with the width, depth, heads, SwiGLU hidden size and vocabulary of a VideoLM: what
a user who picks a stock decoder-only LM over our sampler would run. It is timed two ways:
`generate(...)`, the call most users write, and `kv_loop`, a hand-written cached loop that
skips generate's bookkeeping (logits processors, stopping criteria), the fastest plain use.
Both keep transformers' default cache (DynamicCache). This module knows the VideoLM config and
transformers' public API; nothing about timing or reports.
"""

from __future__ import annotations

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from arvideo.lm.model import VideoLM


def swiglu_hidden(lm: VideoLM) -> int:
    """Hidden size of one SwiGLU branch of `lm`'s MLP (transformer.py: 2/3 of ratio × width)."""
    if lm.config.mlp != "swiglu":
        raise ValueError(f"Llama's MLP is SwiGLU; lm.config.mlp={lm.config.mlp!r}")
    return lm.backbone.blocks[0].mlp.down.in_features


def llama_config(lm: VideoLM, max_tokens: int) -> LlamaConfig:
    """A Llama of `lm`'s width, depth, heads (no grouped KV), MLP and vocabulary."""
    config = lm.config
    return LlamaConfig(
        vocab_size=config.vocab_size,
        hidden_size=config.width,
        intermediate_size=swiglu_hidden(lm),
        num_hidden_layers=config.depth,
        num_attention_heads=config.heads,
        num_key_value_heads=config.heads,
        max_position_embeddings=max_tokens,
        tie_word_embeddings=False,  # ours has separate input embedding and output head
        # no end-of-sequence token: every generation runs to max_new_tokens
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=0,
    )


def llama_like(lm: VideoLM, max_tokens: int, seed: int = 0) -> LlamaForCausalLM:
    """Random weights from `seed`, without touching the caller's global random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(llama_config(lm, max_tokens))
    return model.eval()


def generate(
    model: LlamaForCausalLM, prompt_BN: torch.Tensor, new_tokens: int, generator: torch.Generator
) -> torch.Tensor:
    """`model.generate` sampling at temperature 1 without filters. generate draws from the
    global generator, so it runs inside a fork seeded from `generator` (state restored)."""
    seed = int(torch.randint(2**31, (1,), generator=generator))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return model.generate(
            prompt_BN,
            attention_mask=torch.ones_like(prompt_BN),
            do_sample=True,
            top_k=0,
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
        )


@torch.no_grad()
def kv_loop(
    model: LlamaForCausalLM, prompt_BN: torch.Tensor, new_tokens: int, generator: torch.Generator
) -> torch.Tensor:
    """Prefill the prompt, then one cached call per token, drawn with torch.multinomial."""
    out = model(prompt_BN, use_cache=True, logits_to_keep=1)
    tokens = [prompt_BN]
    for step in range(new_tokens):
        token_B1 = torch.multinomial(out.logits[:, -1].float().softmax(-1), 1, generator=generator)
        tokens.append(token_B1)
        if step + 1 < new_tokens:  # the last token is never fed back
            out = model(token_B1, cache=out.cache, use_cache=True)
    return torch.cat(tokens, 1)
