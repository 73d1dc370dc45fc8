"""The categorical head and its sampling filters, against a head with known logits."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from arvideo.lm.heads.base import SamplingSettings
from arvideo.lm.heads.categorical import CategoricalHead
from arvideo.lm.heads.filters import sample_logits, top_k_filter, top_p_filter


def identity_head(vocab_size: int) -> CategoricalHead:
    """A head whose logits are its input: z_BNV -> logits_BNV."""
    head = CategoricalHead(width=vocab_size, vocab_size=vocab_size)
    with torch.no_grad():
        head.proj.weight.copy_(torch.eye(vocab_size))
        head.proj.bias.zero_()
    return head


def repeated(logits_V: torch.Tensor, count: int) -> torch.Tensor:
    """The same logits at `count` positions: 1×count×V."""
    return logits_V.expand(1, count, -1).clone()


def frequencies(codes: torch.Tensor, vocab_size: int) -> torch.Tensor:
    return torch.bincount(codes.flatten(), minlength=vocab_size).float() / codes.numel()


def test_logits_layout_follows_depth():
    z_BND = torch.randn(2, 5, 16)
    assert CategoricalHead(16, 11).logits(z_BND).shape == (2, 5, 11)
    assert CategoricalHead(16, 11, depth=3).logits(z_BND).shape == (2, 5, 3, 11)
    with pytest.raises(ValueError, match="z_BND"):
        CategoricalHead(16, 11).logits(torch.randn(2, 5, 8))
    with pytest.raises(ValueError, match="vocab_size"):
        CategoricalHead(16, 0)


def test_loss_equals_cross_entropy():
    torch.manual_seed(0)
    head = CategoricalHead(16, 11)
    z_BND, target_BN = torch.randn(3, 7, 16), torch.randint(0, 11, (3, 7))
    logits_BNV = head.logits(z_BND)
    result = head.loss(z_BND, target_BN)
    expected = F.cross_entropy(logits_BNV.flatten(0, 1), target_BN.flatten())
    torch.testing.assert_close(result.loss, expected)
    torch.testing.assert_close(result.metrics["nll"], expected)
    accuracy = (logits_BNV.argmax(-1) == target_BN).float().mean()
    torch.testing.assert_close(result.metrics["accuracy"], accuracy)
    result.loss.backward()
    assert head.proj.weight.grad is not None


def test_weighted_loss_is_mean_over_weighted_positions():
    torch.manual_seed(1)
    head = CategoricalHead(16, 11)
    z_BND, target_BN = torch.randn(2, 6, 16), torch.randint(0, 11, (2, 6))
    weight_BN = torch.zeros(2, 6)
    weight_BN[0, :4] = 1.0
    weight_BN[1, 5] = 1.0
    kept = weight_BN.bool()
    expected = F.cross_entropy(head.logits(z_BND)[kept], target_BN[kept])
    torch.testing.assert_close(head.loss(z_BND, target_BN, weight_BN).loss, expected)
    assert head.loss(z_BND, target_BN, torch.zeros(2, 6)).loss.item() == 0.0
    with pytest.raises(ValueError, match="weight_BN"):
        head.loss(z_BND, target_BN, torch.ones(2, 5))


def test_residual_depth_loss_and_sampling():
    torch.manual_seed(2)
    head = CategoricalHead(16, 11, depth=3)
    z_BND, target_BNL = torch.randn(2, 5, 16), torch.randint(0, 11, (2, 5, 3))
    expected = F.cross_entropy(head.logits(z_BND).flatten(0, 2), target_BNL.flatten())
    torch.testing.assert_close(head.loss(z_BND, target_BNL).loss, expected)
    with pytest.raises(ValueError, match="target"):
        head.loss(z_BND, target_BNL[..., 0])
    codes = head.sample(z_BND, torch.Generator().manual_seed(0), SamplingSettings())
    assert codes.shape == (2, 5, 3) and codes.dtype == torch.int64
    greedy = head.sample(z_BND, None, SamplingSettings(temperature=0))
    assert torch.equal(greedy, head.logits(z_BND).argmax(-1))


def test_top_k_keeps_exactly_the_k_largest():
    logits_V = torch.tensor([0.1, 3.0, -1.0, 2.0, 2.0, 0.5])
    kept = torch.isfinite(top_k_filter(logits_V, 3))
    assert kept.tolist() == [False, True, False, True, True, False]
    tied = torch.isfinite(top_k_filter(torch.zeros(2, 10), 4))
    assert tied.sum(-1).tolist() == [4, 4]  # ties: still exactly k
    assert torch.equal(top_k_filter(logits_V, 100), logits_V)


def test_top_p_keeps_the_smallest_set_reaching_p():
    probs_V = torch.tensor([0.05, 0.5, 0.15, 0.3])
    logits_V = probs_V.log()
    kept = lambda p: torch.isfinite(top_p_filter(logits_V, p)).tolist()  # noqa: E731
    assert kept(0.4) == [False, True, False, False]
    assert kept(0.75) == [False, True, False, True]
    assert kept(0.9) == [False, True, True, True]
    assert kept(1.0) == [True, True, True, True]


def test_top_p_matches_a_reference_on_random_logits():
    generator = torch.Generator().manual_seed(3)
    logits_RV = torch.randn(50, 20, generator=generator) * 2
    kept_RV = torch.isfinite(top_p_filter(logits_RV, 0.7))
    for logits_V, kept_V in zip(logits_RV, kept_RV, strict=True):
        probs_V = logits_V.double().softmax(-1)
        order = probs_V.argsort(descending=True)
        size = int((probs_V[order].cumsum(0) < 0.7).sum()) + 1  # smallest prefix reaching p
        assert set(order[:size].tolist()) == set(kept_V.nonzero().flatten().tolist())


def test_temperature_frequencies_match_softmax():
    head = identity_head(6)
    logits_V = torch.tensor([1.0, 0.0, -1.0, 2.0, 0.5, -0.5])
    z = repeated(logits_V, 20000)
    for temperature in (0.5, 2.0):
        settings = SamplingSettings(temperature=temperature)
        codes = head.sample(z, torch.Generator().manual_seed(4), settings)
        expected = (logits_V / temperature).softmax(-1)
        torch.testing.assert_close(frequencies(codes, 6), expected, atol=0.015, rtol=0)


def test_filters_compose_with_temperature():
    head = identity_head(6)
    logits_V = torch.tensor([1.0, 0.0, -1.0, 2.0, 0.5, -0.5])
    settings = SamplingSettings(temperature=2.0, top_k=3)
    codes = head.sample(repeated(logits_V, 20000), torch.Generator().manual_seed(5), settings)
    expected = torch.zeros(6)
    expected[[0, 3, 4]] = (logits_V[[0, 3, 4]] / 2.0).softmax(-1)
    torch.testing.assert_close(frequencies(codes, 6), expected, atol=0.015, rtol=0)


def test_temperature_zero_is_argmax_and_draws_are_seeded():
    head = identity_head(9)
    z_BNV = torch.randn(4, 30, 9, generator=torch.Generator().manual_seed(6))
    greedy = head.sample(z_BNV, None, SamplingSettings(temperature=0.0))
    assert torch.equal(greedy, z_BNV.argmax(-1))
    draw = lambda seed: head.sample(  # noqa: E731
        z_BNV, torch.Generator().manual_seed(seed), SamplingSettings(top_p=0.95)
    )
    assert torch.equal(draw(7), draw(7))
    assert not torch.equal(draw(7), draw(8))


def test_cfg_scale_one_is_conditional_zero_is_unconditional():
    head = CategoricalHead(16, 11)
    generator = torch.Generator().manual_seed(9)
    cond, uncond = torch.randn(2, 2, 5, 16, generator=generator)
    cond_logits, uncond_logits = head.logits(cond), head.logits(uncond)
    assert torch.equal(head.guided_logits(cond, uncond, 1.0), cond_logits)
    assert torch.equal(head.guided_logits(cond, uncond, torch.ones(2, 5)), cond_logits)
    assert torch.equal(head.guided_logits(cond, uncond, 0.0), uncond_logits)
    formula = uncond_logits + 3.0 * (cond_logits - uncond_logits)
    torch.testing.assert_close(head.guided_logits(cond, uncond, 3.0), formula)
    scale_BN = torch.tensor([[1.0, 2.0, 3.0, 1.0, 0.5], [1.0] * 5])
    mixed = head.guided_logits(cond, uncond, scale_BN)
    assert torch.equal(mixed[scale_BN == 1], cond_logits[scale_BN == 1])
    expected = uncond_logits + scale_BN[..., None] * (cond_logits - uncond_logits)
    torch.testing.assert_close(mixed, expected)
    torch.testing.assert_close(head.guided_logits(cond, uncond, torch.tensor(3.0)), formula)
    with pytest.raises(ValueError, match="cfg_scale"):
        head.guided_logits(cond, uncond, torch.ones(3, 5))


def test_cfg_sampling_uses_guided_logits():
    head = CategoricalHead(16, 11, depth=2)
    generator = torch.Generator().manual_seed(10)
    cond, uncond = torch.randn(2, 2, 5, 16, generator=generator)
    greedy = SamplingSettings(temperature=0)
    assert torch.equal(
        head.sample(cond, None, greedy, uncond, 1.0), head.sample(cond, None, greedy)
    )
    scale_B1 = torch.tensor([[4.0], [1.0]])
    guided = head.logits(uncond) + 4.0 * (head.logits(cond) - head.logits(uncond))
    codes = head.sample(cond, None, greedy, uncond, scale_B1)
    assert torch.equal(codes[0], guided[0].argmax(-1))
    assert torch.equal(codes[1], head.logits(cond)[1].argmax(-1))


def test_bad_settings_raise():
    logits = torch.randn(2, 5)
    for bad, name in (
        (SamplingSettings(temperature=-1.0), "temperature"),
        (SamplingSettings(top_k=0), "top_k"),
        (SamplingSettings(top_p=0.0), "top_p"),
        (SamplingSettings(top_p=1.5), "top_p"),
    ):
        with pytest.raises(ValueError, match=name):
            sample_logits(logits, None, bad)
