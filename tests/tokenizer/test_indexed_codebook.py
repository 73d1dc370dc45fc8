"""IndexedCodebook gives the library codebook's codes, vectors and EMA state, without the
one-hot matrices."""

from __future__ import annotations

import pytest
import torch
from vector_quantize_pytorch import ResidualVQ, VectorQuantize
from vector_quantize_pytorch.vector_quantize_pytorch import Codebook

from arvideo.tokenizer.indexed_codebook import IndexedCodebook, first_argmax, use_indexed_codebooks


def _pair(**kwargs) -> tuple[VectorQuantize, VectorQuantize]:
    torch.manual_seed(0)
    library = VectorQuantize(**kwargs)
    indexed = VectorQuantize(**kwargs)
    indexed.load_state_dict(library.state_dict())
    assert use_indexed_codebooks(indexed) == 1
    return library, indexed


def _batches(count: int, dim: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    # clustered data, as a tokenizer's latents are: few centres, small spread
    centres = torch.randn(12, dim, generator=generator) * 3
    picks = torch.randint(12, (count, 4, 96), generator=generator)
    return [centres[p] + 0.1 * torch.randn(4, 96, dim, generator=generator) for p in picks]


@pytest.mark.parametrize("cosine", [False, True])
def test_training_steps_match_the_library(cosine: bool) -> None:
    kwargs = dict(dim=6, codebook_size=32, kmeans_init=True, decay=0.8)
    library, indexed = _pair(use_cosine_sim=cosine, threshold_ema_dead_code=2, **kwargs)
    restarts, replace = [], indexed._codebook.replace
    indexed._codebook.replace = lambda *a, **k: restarts.append(1) or replace(*a, **k)
    for x in _batches(6, 6):
        x_lib, x_idx = x.clone().requires_grad_(), x.clone().requires_grad_()
        torch.manual_seed(2)  # k-means init and dead-code restarts draw from the global RNG
        q_lib, codes_lib, loss_lib = library(x_lib)
        torch.manual_seed(2)
        q_idx, codes_idx, loss_idx = indexed(x_idx)
        assert torch.equal(codes_lib, codes_idx)
        torch.testing.assert_close(q_idx, q_lib)
        torch.testing.assert_close(loss_idx, loss_lib)
        (q_lib.square().sum() + loss_lib).backward()  # straight-through + commitment
        (q_idx.square().sum() + loss_idx).backward()
        torch.testing.assert_close(x_idx.grad, x_lib.grad)
    assert restarts  # dead codes were restarted along the way, the same ones on both sides
    for name, buffer in library._codebook.named_buffers():
        torch.testing.assert_close(dict(indexed._codebook.named_buffers())[name], buffer)


def test_eval_codes_match_the_library() -> None:
    library, indexed = _pair(dim=5, codebook_size=16, kmeans_init=True)
    for vq in (library, indexed):  # k-means init (and restarts) on the same batch and seed
        torch.manual_seed(2)
        vq(_batches(1, 5)[0])
    library.eval(), indexed.eval()
    x = torch.randn(2, 50, 5, generator=torch.Generator().manual_seed(3))
    q_lib, codes_lib, _ = library(x)
    q_idx, codes_idx, _ = indexed(x)
    assert torch.equal(codes_lib, codes_idx) and q_idx.shape == (2, 50, 5)
    torch.testing.assert_close(q_idx, q_lib)


def test_residual_vq_switches_every_layer_and_keeps_state_keys() -> None:
    rvq = ResidualVQ(dim=4, num_quantizers=3, codebook_size=8)
    keys = set(rvq.state_dict())
    assert use_indexed_codebooks(rvq) == 3
    assert all(type(layer._codebook) is IndexedCodebook for layer in rvq.layers)
    assert set(rvq.state_dict()) == keys
    quantized, codes, _ = rvq(torch.randn(2, 10, 4))
    assert quantized.shape == (2, 10, 4) and codes.shape == (2, 10, 3)


def test_codebooks_that_read_distances_stay_the_library_s() -> None:
    vq = VectorQuantize(dim=4, codebook_size=8, codebook_diversity_loss_weight=0.1)
    assert use_indexed_codebooks(vq) == 0
    assert type(vq._codebook) is Codebook


def test_stochastic_sampling_falls_back_to_the_library() -> None:
    vq = VectorQuantize(dim=4, codebook_size=8, stochastic_sample_codes=True)
    use_indexed_codebooks(vq)
    assert not vq._codebook._samples_by_argmax(1.0)
    _, codes, _ = vq(torch.randn(1, 20, 4))
    assert codes.shape == (1, 20)


def test_first_argmax_is_argmax_with_ties_and_odd_widths() -> None:
    generator = torch.Generator().manual_seed(4)
    ties = torch.randint(3, (2, 50, 128), generator=generator).float()  # many equal maxima
    assert torch.equal(first_argmax(ties), ties.argmax(-1))
    odd = torch.randn(7, 100, generator=generator)  # 100 columns: no whole groups
    assert torch.equal(first_argmax(odd), odd.argmax(-1))
