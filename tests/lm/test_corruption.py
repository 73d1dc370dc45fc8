"""History corruption: random input codes at a per-clip rate, clean targets, train only."""

from __future__ import annotations

import pytest
import torch

from arvideo.lm.corruption import corrupt_codes
from arvideo.lm.model import VideoLMConfig

from .conftest import TINY, random_batch, tiny_model


def test_rate_zero_is_the_identity_and_rates_are_bounded():
    codes = torch.randint(0, 50, (64, 200), generator=torch.Generator().manual_seed(0))
    assert corrupt_codes(codes, 50, 0.0) is codes
    noisy = corrupt_codes(codes, 50, 0.5, torch.Generator().manual_seed(1))
    changed_B = (noisy != codes).float().mean(1)
    assert changed_B.max() < 0.6  # per-clip rates ~ U(0, 0.5), binomial noise over 200 tokens
    assert changed_B.mean() == pytest.approx(0.25 * 49 / 50, abs=0.05)
    assert ((noisy >= 0) & (noisy < 50)).all()
    with pytest.raises(ValueError, match="max_rate"):
        corrupt_codes(codes, 50, 1.5)


def test_depth_codes_of_a_token_are_replaced_together():
    codes = torch.zeros(4, 100, 3, dtype=torch.long)
    noisy = corrupt_codes(codes, 1000, 1.0, torch.Generator().manual_seed(0))
    hit = noisy != 0
    assert hit.any() and (hit.any(-1) == hit.all(-1)).float().mean() > 0.99


def test_corruption_changes_the_training_loss_only_in_training_mode():
    clean = tiny_model(order="next_block")
    noisy = tiny_model(order="next_block", history_corruption=0.9)
    batch = random_batch(clean, batch=4)
    with torch.no_grad():
        eval_clean = clean.loss(batch, torch.Generator().manual_seed(0)).loss
        eval_noisy = noisy.loss(batch, torch.Generator().manual_seed(0)).loss
        assert torch.equal(eval_clean, eval_noisy)  # eval: the same weights, no corruption
        clean.train(), noisy.train()
        clean.config.cond_dropout = noisy.config.cond_dropout = 0.0
        train_clean = clean.loss(batch, torch.Generator().manual_seed(0)).loss
        train_noisy = noisy.loss(batch, torch.Generator().manual_seed(0)).loss
    assert not torch.equal(train_clean, train_noisy)


def test_latent_heads_refuse_code_corruption():
    with pytest.raises(ValueError, match="history_corruption"):
        VideoLMConfig(**{**TINY, "head": "diffusion", "latent_dim": 4, "history_corruption": 0.1})
