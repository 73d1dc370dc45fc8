"""Sampling filters on logits: temperature, top-k, top-p (nucleus), and the seeded draw.

Pure functions on `logits_*V` (any leading shape, vocabulary last). They know nothing about
heads, guidance or token order; the categorical head calls `sample_logits` after mixing the
conditional and unconditional logits. Filtered-out entries are set to -inf, so a softmax of
the result renormalises over the kept set.

The draw uses the Gumbel-max trick with the caller's `torch.Generator`: argmax(logits + G),
G = -log(-log(U)), U uniform. It is exact sampling from softmax(logits), vectorised over any
leading shape, and works on CPU and CUDA alike (the generator may live on either device).
"""

from __future__ import annotations

import torch

from .base import SamplingSettings


def check_settings(settings: SamplingSettings) -> None:
    """Raise a ValueError naming the bad field of `settings`."""
    if settings.temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 = argmax), got {settings.temperature}")
    if settings.top_k is not None and settings.top_k < 1:
        raise ValueError(f"top_k must be >= 1 or None, got {settings.top_k}")
    if settings.top_p is not None and not 0.0 < settings.top_p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1] or None, got {settings.top_p}")


def apply_temperature(logits_V: torch.Tensor, temperature: float) -> torch.Tensor:
    """logits / temperature (temperature > 0; temperature 0 is argmax, see `sample_logits`)."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0 here, got {temperature}")
    if temperature == 1.0:
        return logits_V
    return logits_V / temperature


def top_k_filter(logits_V: torch.Tensor, k: int) -> torch.Tensor:
    """Keep exactly the k largest logits per row (ties broken by index), -inf elsewhere.

    k larger than the vocabulary keeps everything.
    """
    if k < 1:
        raise ValueError(f"top_k must be >= 1, got {k}")
    if k >= logits_V.shape[-1]:
        return logits_V
    top_values, top_index = logits_V.topk(k, dim=-1)
    filtered_V = torch.full_like(logits_V, float("-inf"))
    return filtered_V.scatter(-1, top_index, top_values)


def top_p_filter(logits_V: torch.Tensor, p: float) -> torch.Tensor:
    """Keep the smallest set of most likely tokens whose probability reaches p (nucleus).

    A token is kept when the mass of the tokens ranked above it is still below p, so the most
    likely token is always kept and p = 1 keeps everything with nonzero probability.
    """
    if not 0.0 < p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {p}")
    if p == 1.0:
        return logits_V
    sorted_V, order_V = logits_V.sort(dim=-1, descending=True)
    probs_V = sorted_V.float().softmax(dim=-1)
    mass_before_V = probs_V.cumsum(dim=-1) - probs_V
    keep_sorted_V = mass_before_V < p
    keep_sorted_V[..., 0] = True
    keep_V = torch.zeros_like(keep_sorted_V).scatter(-1, order_V, keep_sorted_V)
    return logits_V.masked_fill(~keep_V, float("-inf"))


def filter_logits(logits_V: torch.Tensor, settings: SamplingSettings) -> torch.Tensor:
    """Temperature, then top-k, then top-p (the order of the common samplers)."""
    check_settings(settings)
    logits_V = apply_temperature(logits_V, settings.temperature)
    if settings.top_k is not None:
        logits_V = top_k_filter(logits_V, settings.top_k)
    if settings.top_p is not None:
        logits_V = top_p_filter(logits_V, settings.top_p)
    return logits_V


def gumbel_noise(
    shape: torch.Size, generator: torch.Generator | None, device: torch.device
) -> torch.Tensor:
    """Standard Gumbel noise on `device`, drawn from `generator` on the generator's own device
    (so a CPU generator also drives CUDA sampling); the global RNG only when None."""
    draw_device = generator.device if generator is not None else device
    uniform = torch.rand(shape, generator=generator, device=draw_device, dtype=torch.float32)
    tiny = torch.finfo(torch.float32).tiny
    return -torch.log(-torch.log(uniform.clamp(min=tiny, max=1.0 - 1e-7))).to(device)


def sample_logits(
    logits_V: torch.Tensor, generator: torch.Generator | None, settings: SamplingSettings
) -> torch.Tensor:
    """Draw one index per row of `logits_*V` -> int64 of shape `*` (the leading shape).

    temperature 0 returns the argmax (deterministic, filters are irrelevant then).
    """
    check_settings(settings)
    logits_V = logits_V.float()
    if settings.temperature == 0:
        return logits_V.argmax(dim=-1)
    filtered_V = filter_logits(logits_V, settings)
    noise_V = gumbel_noise(filtered_V.shape, generator, filtered_V.device)
    return (filtered_V + noise_V).argmax(dim=-1)
