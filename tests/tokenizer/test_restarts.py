"""Error-weighted dead-code restarts: rare content gets a code of its own."""

from __future__ import annotations

import torch

from arvideo.tokenizer import BottleneckConfig
from arvideo.tokenizer.quantizers import LibraryQuantizer
from arvideo.tokenizer.restarts import ErrorWeightedSampler


class FixedCodebook(torch.nn.Module):
    def __init__(self, embed_1KD: torch.Tensor) -> None:
        super().__init__()
        self.embed = embed_1KD


def common_and_rare(common: int = 500, rare: int = 4, dim: int = 4) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    background = 0.01 * torch.randn(common, dim, generator=generator)
    ball = 5.0 + 0.01 * torch.randn(rare, dim, generator=generator)
    return torch.cat([background, ball])


def test_sampler_draws_what_the_codebook_misses_first():
    samples = common_and_rare()
    sampler = ErrorWeightedSampler(FixedCodebook(torch.zeros(1, 3, 4)), seed=0)
    drawn = sampler(samples[None], 2)[0]
    assert drawn.shape == (2, 4)
    assert (drawn[0] > 4).all()  # the far, rare vectors carry nearly all the error


def test_sampler_is_seeded():
    samples = common_and_rare()
    codebook = FixedCodebook(torch.zeros(1, 3, 4))
    first = ErrorWeightedSampler(codebook, seed=3)(samples[None], 5)
    again = ErrorWeightedSampler(codebook, seed=3)(samples[None], 5)
    assert torch.equal(first, again)


def test_vq_with_error_restarts_gives_rare_content_its_own_code():
    config = BottleneckConfig(
        kind="vq", codebook_size=8, distance="l2", kmeans_init=False,
        dead_code_threshold=1.0, dead_code_sampling="error",
    )  # fmt: skip
    torch.manual_seed(0)
    quantizer = LibraryQuantizer(config, latent_dim=4).train()
    vectors = common_and_rare()
    z_BCTHW = vectors.T.reshape(1, 4, 1, 1, -1)
    for _ in range(5):
        quantizer(z_BCTHW)
    out = quantizer.eval()(z_BCTHW)
    latents = out.latents.reshape(4, -1).T
    assert (latents[-4:] - vectors[-4:]).norm(dim=1).max() < 1.0  # the rare vectors are coded
    assert out.codes.reshape(-1)[-1] != out.codes.reshape(-1)[0]
