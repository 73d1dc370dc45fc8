"""The shared contract every registered head (lm/heads HEADS) must meet, beside the order
contract: built from a config, a finite and differentiable loss that weights positions,
samples of the declared kind and shape, draws taken only from the given torch.Generator,
exact no-op guidance at scale 1, a confidence score per position, and `evaluations` equal
to the calls of the declared `output_layer`.

A new head that needs something of the tiny config (an option, a size) says so in TINY.
"""

from __future__ import annotations

import pytest
import torch

from arvideo.lm.heads import HEADS, head_class
from arvideo.lm.heads.base import Head, SamplingSettings
from arvideo.lm.model import VideoLMConfig

B, N, D, V, C = 2, 24, 16, 7, 3
TINY = {  # by registered name; a denoiser head needs a denoising order in its config
    "diffusion": dict(head_options=dict(hidden=16, blocks=1)),
    "velocity": dict(order="diffusion_forcing"),
}
SETTINGS = SamplingSettings(steps=2)


@pytest.fixture(params=sorted(HEADS))
def head(request) -> Head:
    config = VideoLMConfig(
        width=D, head=request.param, vocab_size=V, latent_dim=C, **TINY.get(request.param, {})
    )
    torch.manual_seed(0)  # construction only; every draw below uses a Generator
    head = head_class(request.param).from_config(config)
    with torch.no_grad():  # un-zero zero-initialised layers, so outputs depend on inputs
        g = torch.Generator().manual_seed(1)
        for parameter in head.parameters():
            parameter.add_(0.2 * torch.randn(parameter.shape, generator=g))
    return head.eval()


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def z(seed: int = 0) -> torch.Tensor:
    return torch.randn(B, N, D, generator=seeded(100 + seed))


def targets(head: Head) -> torch.Tensor:
    if head.values == "codes":
        return torch.randint(0, V, (B, N), generator=seeded(3))
    return torch.randn(B, N, C, generator=seeded(3))


def test_declares_its_capabilities(head):
    assert head.values in ("codes", "latents")
    assert isinstance(head.get_submodule(head.output_layer), torch.nn.Module)
    assert head.evaluations(SETTINGS) >= 1


def test_finite_loss_gradients_and_weights(head):
    z_BND = z().requires_grad_(True)
    out = head.loss(z_BND, targets(head), generator=seeded())
    assert out.loss.dim() == 0 and torch.isfinite(out.loss)
    assert all(not v.requires_grad for v in out.metrics.values())
    out.loss.backward()
    assert torch.isfinite(z_BND.grad).all() and z_BND.grad.abs().sum() > 0
    weight = torch.zeros(B, N)
    weight[:, :4] = 1.0
    weighted = head.loss(z(), targets(head), weight, seeded()).loss
    changed = z()
    changed[:, 4:] += 1.0  # positions of weight 0 do not count
    torch.testing.assert_close(head.loss(changed, targets(head), weight, seeded()).loss, weighted)


def test_loss_is_deterministic_under_a_seeded_generator(head):
    first = head.loss(z(), targets(head), generator=seeded(5)).loss
    torch.testing.assert_close(head.loss(z(), targets(head), generator=seeded(5)).loss, first)


def test_sample_kind_shape_and_determinism(head):
    sample = head.sample(z(), seeded(1), SETTINGS)
    if head.values == "codes":
        assert sample.shape == (B, N) and sample.dtype == torch.int64
        assert sample.min() >= 0 and sample.max() < V
    else:
        assert sample.shape == (B, N, C) and sample.is_floating_point()
        assert torch.isfinite(sample).all()
    assert torch.equal(head.sample(z(), seeded(1), SETTINGS), sample)
    # a read-out head (the velocity of a denoising backbone) draws nothing
    assert torch.equal(head.sample(z(), seeded(2), SETTINGS), sample) != head.stochastic


def test_guidance_at_scale_one_is_the_conditional_sample(head):
    plain = head.sample(z(), seeded(1), SETTINGS)
    guided = head.sample(z(), seeded(1), SETTINGS, z_uncond_BND=z(seed=1), cfg_scale=1.0)
    assert torch.equal(guided, plain)
    strong = head.sample(z(), seeded(1), SETTINGS, z_uncond_BND=z(seed=1), cfg_scale=4.0)
    assert strong.shape == plain.shape and not torch.equal(strong, plain)


def test_confidence_scores_every_position(head):
    sample = head.sample(z(), seeded(1), SETTINGS)
    score = head.confidence(z(), sample, seeded(4))
    assert score.shape == (B, N) and torch.isfinite(score).all()
    torch.testing.assert_close(head.confidence(z(), sample, seeded(4)), score)


def test_evaluations_count_calls_of_the_output_layer(head):
    calls = []
    layer = head.get_submodule(head.output_layer)
    handle = layer.register_forward_hook(lambda *args: calls.append(1))
    try:
        head.sample(z(), seeded(1), SETTINGS)
    finally:
        handle.remove()
    assert len(calls) == head.evaluations(SETTINGS)
