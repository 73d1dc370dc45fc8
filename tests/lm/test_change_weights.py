"""Changed-code loss weights: w where a code differs from the frame before's, 1 elsewhere."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from arvideo.lm.change_weights import changed_code_weights
from arvideo.lm.model import VideoLMConfig

from .conftest import TINY, random_batch, tiny_model


def test_weights_mark_changed_positions_and_leave_the_first_frame_at_one():
    codes = torch.zeros(1, 3, 2, 2, dtype=torch.long)
    codes[0, 1, 0, 1] = 5  # changes at frame 1, changes back at frame 2
    codes[0, 0, 1, 1] = 7  # frame 0 differs from nothing before it
    weights = changed_code_weights(codes, 4.0)
    expected = torch.ones(1, 3, 2, 2)
    expected[0, 1, 0, 1] = expected[0, 2, 0, 1] = 4.0
    expected[0, 1, 1, 1] = 4.0  # 7 -> 0
    assert torch.equal(weights, expected)
    assert torch.equal(changed_code_weights(codes, 1.0), torch.ones(1, 3, 2, 2))


def test_a_residual_position_changes_when_any_depth_does():
    codes = torch.zeros(1, 2, 1, 2, 3, dtype=torch.long)
    codes[0, 1, 0, 1, 2] = 1  # only the finest code of one position
    weights = changed_code_weights(codes, 3.0, code_depth=3)
    assert weights.shape == (1, 2, 1, 2)
    assert weights[0, 1].tolist() == [[1.0, 3.0]]


def test_bad_weights_and_latent_heads_are_refused():
    with pytest.raises(ValueError, match="change_weight must be > 0"):
        changed_code_weights(torch.zeros(1, 2, 3, dtype=torch.long), 0.0)
    with pytest.raises(ValueError, match="change_weight"):
        VideoLMConfig(**{**TINY, "change_weight": -1.0})
    with pytest.raises(ValueError, match="change_weight"):
        VideoLMConfig(**{**TINY, "head": "diffusion", "latent_dim": 4, "change_weight": 3.0})


def test_loss_is_the_weighted_mean_of_per_position_cross_entropy():
    model = tiny_model(order="next_block")
    batch = random_batch(model, batch=3)
    codes = batch.codes.clone()
    codes[:, 1] = codes[:, 0]  # frame 1 keeps frame 0's codes except one position
    codes[:, 1, 0, 0] = (codes[:, 0, 0, 0] + 1) % model.config.vocab_size
    batch = replace(batch, codes=codes)
    with torch.no_grad():
        z, values, _ = model.head_inputs(batch)
        ce_BN = F.cross_entropy(model.head.logits(z).transpose(1, 2), values, reduction="none")
        model.config.change_weight = 5.0
        weighted = model.loss(batch).loss
        model.config.change_weight = 1.0
        plain = model.loss(batch).loss
    w_BN = model.order.flatten(changed_code_weights(codes, 5.0))
    assert (w_BN == 5.0).any() and (w_BN == 1.0).any()
    torch.testing.assert_close(weighted, (ce_BN * w_BN).sum() / w_BN.sum())
    torch.testing.assert_close(plain, ce_BN.mean())


@pytest.mark.parametrize("order", ["next_token", "next_block", "next_scale"])
def test_every_code_order_trains_with_changed_code_weights(order):
    extra = dict(grid=(3, 4, 4), order_options=dict(scales=(1, 2, 4), code_dim=4))
    model = tiny_model(order=order, change_weight=4.0, **(extra if order == "next_scale" else {}))
    model.train()
    batch = random_batch(model, batch=2)
    if order == "next_scale":  # its codes are per scale: B×T×L
        shape = (2, 3, model.order.tokens_per_frame)
        draw = torch.Generator().manual_seed(0)
        codes = torch.randint(0, model.config.vocab_size, shape, generator=draw)
        batch = replace(batch, codes=codes)
    loss = model.loss(batch, torch.Generator().manual_seed(0)).loss
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in model.head.parameters())
