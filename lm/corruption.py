"""History corruption: train on a noisy past so that sampling does not trust its own past.

At sampling time a world model conditions on frames it generated itself, with their
mistakes; trained only on clean history it copies those mistakes forward and drifts.
GameNGen (arXiv 2408.14837) and Diffusion Forcing (arXiv 2407.01392) train on corrupted
context instead. For codes: each clip draws a rate r ~ U(0, max_rate), and that share of its
*input* tokens is replaced by uniformly random codes; the targets stay clean, so the model
learns to predict the true next tokens from a noisy past. Knows token values and nothing
about orders, heads or the backbone.
"""

from __future__ import annotations

import torch


def corrupt_codes(
    codes_BN: torch.Tensor,
    vocab_size: int,
    max_rate: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Codes B×N (or B×N×depth) with a random share of each clip's tokens made random.

    Per clip, rate ~ U(0, max_rate); each token (all its depth codes together) is replaced
    with that probability by codes drawn uniformly from [0, vocab_size)."""
    if not 0 <= max_rate <= 1:
        raise ValueError(f"history corruption max_rate={max_rate}: use [0, 1]")
    if max_rate == 0:
        return codes_BN
    device, B, N = codes_BN.device, codes_BN.shape[0], codes_BN.shape[1]
    rate_B1 = torch.rand(B, 1, generator=generator, device=device) * max_rate
    hit_BN = torch.rand(B, N, generator=generator, device=device) < rate_B1
    noise = torch.randint(
        vocab_size, codes_BN.shape, generator=generator, device=device, dtype=codes_BN.dtype
    )
    if codes_BN.ndim == 3:
        hit_BN = hit_BN[..., None]
    return torch.where(hit_BN, noise, codes_BN)
