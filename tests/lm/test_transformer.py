"""Backbone unit tests: rotary positions are relative, adaLN-zero starts as identity, the
mask is obeyed, and config errors name the bad argument."""

from __future__ import annotations

import shutil

import pytest
import torch

from arvideo.lm.attention import RMSNorm
from arvideo.lm.cond_runs import CondRuns
from arvideo.lm.orders.base import block_causal_mask
from arvideo.lm.rope import Rotary, split_pairs
from arvideo.lm.transformer import Block, Transformer, TransformerConfig


def scores(rotary, q, k, positions):
    angles = rotary.angles(positions)
    return Rotary.rotate(q, angles) @ Rotary.rotate(k, angles).transpose(-1, -2)


def test_rope_scores_depend_only_on_relative_positions(generator):
    rotary = Rotary(head_dim=16)
    q = torch.randn(2, 3, 10, 16, generator=generator)
    k = torch.randn(2, 3, 10, 16, generator=generator)
    positions = torch.randint(0, 8, (10, 4), generator=generator).float()
    shifted = positions + torch.tensor([37.0, 5.0, -3.0, 2.0])
    torch.testing.assert_close(
        scores(rotary, q, k, shifted), scores(rotary, q, k, positions), atol=1e-4, rtol=1e-4
    )
    moved = positions.clone()
    moved[0, 1] += 1  # one token's height changes: its relative offsets change
    assert not torch.allclose(scores(rotary, q, k, moved), scores(rotary, q, k, positions))


def test_rope_every_axis_rotates_and_batched_positions_match(generator):
    rotary = Rotary(head_dim=16)
    q = torch.randn(1, 1, 2, 16, generator=generator)
    base = torch.zeros(2, 4)
    for axis in range(4):
        moved = base.clone()
        moved[1, axis] = 1.0
        assert not torch.allclose(scores(rotary, q, q, moved), scores(rotary, q, q, base))
    batched = base.expand(3, 2, 4)
    torch.testing.assert_close(
        scores(rotary, q.expand(3, 1, 2, 16), q.expand(3, 1, 2, 16), batched),
        scores(rotary, q, q, base).expand(3, 1, 2, 2),
    )


def test_split_pairs_covers_head_dim_and_rejects_bad_sizes():
    assert sum(split_pairs(20)) == 10 and split_pairs(20)[0] == 4
    with pytest.raises(ValueError, match="head_dim"):
        split_pairs(6)


def test_adaln_zero_block_is_identity_at_init(generator):
    config = TransformerConfig(width=32, depth=2, heads=4)
    block = Transformer(config).blocks[0]
    assert isinstance(block, Block)
    x = torch.randn(2, 5, 32, generator=generator)
    cond = torch.randn(2, 5, 32, generator=generator)
    angles = Rotary(8).angles(torch.zeros(5, 4))
    mask = torch.ones(5, 5, dtype=torch.bool)
    mod = CondRuns.of(cond).project(block.modulation, torch.nn.functional.silu)
    torch.testing.assert_close(block(x, angles, mask, mod, None, 0), x)


def test_fresh_transformer_is_normalised_identity(generator):
    model = Transformer(TransformerConfig(width=32, depth=3, heads=2))
    x = torch.randn(2, 6, 32, generator=generator)
    cond = torch.randn(2, 6, 32, generator=generator)
    mask = torch.tril(torch.ones(6, 6, dtype=torch.bool))
    out = model(x, torch.zeros(6, 4), mask, cond)
    torch.testing.assert_close(out, RMSNorm(32, affine=False)(x))


@pytest.fixture
def backbone(generator):
    model = Transformer(TransformerConfig(width=32, depth=2, heads=2, mlp="gelu"))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=generator) * 0.2)
    return model


def test_masked_keys_cannot_influence_queries(backbone, generator):
    group = torch.tensor([0, 0, 1, 1, 2, 2])
    mask = block_causal_mask(group, group, group, group)
    x = torch.randn(1, 6, 32, generator=generator)
    cond = torch.randn(1, 6, 32, generator=generator)
    positions = torch.randn(6, 4, generator=generator)
    out = backbone(x, positions, mask, cond)
    x2 = x.clone()
    x2[:, 4] += 1.0  # a group-2 token
    out2 = backbone(x2, positions, mask, cond)
    torch.testing.assert_close(out2[:, :4], out[:, :4])
    assert not torch.allclose(out2[:, 5], out[:, 5])  # same group sees it


def test_per_batch_mask_and_positions(backbone, generator):
    x = torch.randn(2, 4, 32, generator=generator)
    cond = torch.randn(2, 4, 32, generator=generator)
    positions = torch.randn(2, 4, 4, generator=generator)
    mask = torch.stack([torch.ones(4, 4), torch.eye(4)]).bool()
    out = backbone(x, positions, mask, cond)
    alone = [backbone(x[i : i + 1], positions[i], mask[i], cond[i : i + 1]) for i in range(2)]
    torch.testing.assert_close(out, torch.cat(alone), atol=1e-5, rtol=1e-5)


def test_errors_name_the_bad_argument(backbone):
    with pytest.raises(ValueError, match="heads"):
        TransformerConfig(width=30, heads=4)
    with pytest.raises(ValueError, match="mlp"):
        TransformerConfig(mlp="relu")
    x = torch.zeros(1, 3, 32)
    with pytest.raises(ValueError, match="cond_BND"):
        backbone(x, torch.zeros(3, 4), torch.ones(3, 3, dtype=torch.bool), torch.zeros(1, 2, 32))
    with pytest.raises(ValueError, match="mask"):
        backbone(x, torch.zeros(3, 4), torch.ones(3, 2, dtype=torch.bool), x)
    with pytest.raises(ValueError, match="positions"):
        backbone(x, torch.zeros(3, 3), torch.ones(3, 3, dtype=torch.bool), x)


@pytest.mark.skipif(
    not any(shutil.which(c) for c in ("g++", "c++", "clang++")),
    reason="torch.compile's CPU backend needs a C++ compiler",
)
def test_compiled_blocks_match_eager_and_leave_cached_decoding_eager(generator):
    """`compile_blocks` changes speed, not numbers: the same outputs and gradients as the
    eager blocks; a forward with a KV cache never calls the compiled body."""
    from arvideo.lm.kv_cache import KVCache

    model = Transformer(TransformerConfig(width=32, depth=2, heads=2))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=generator) * 0.2)
    frame = torch.arange(8) // 4
    positions = torch.stack([frame, torch.arange(8) % 4, frame * 0, frame * 0], 1).float()
    mask = block_causal_mask(frame, frame, frame, frame)
    x = torch.randn(2, 8, 32, generator=generator)
    cond = torch.randn(2, 2, 32, generator=generator).repeat_interleave(4, 1)

    def run():
        model.zero_grad()
        out = model(x, positions, mask, cond)
        out.square().sum().backward()
        return out.detach(), [p.grad.clone() for p in model.parameters()]

    eager_out, eager_grads = run()
    model.compile_blocks()
    compiled_out, compiled_grads = run()
    torch.testing.assert_close(compiled_out, eager_out, atol=1e-5, rtol=1e-5)
    for compiled, eager in zip(compiled_grads, eager_grads):
        torch.testing.assert_close(compiled, eager, atol=1e-4, rtol=1e-4)
    calls = []
    for block in model.blocks:
        inner = block.compiled_body
        block.compiled_body = lambda *args, inner=inner: calls.append(1) or inner(*args)
    cache = KVCache(2)
    cache.add_tokens(frame, frame, torch.ones(2, 8, dtype=torch.bool))
    with torch.no_grad():
        cached = model(x, positions, mask, cond, cache)
    assert calls == []
    torch.testing.assert_close(cached, eager_out, atol=1e-5, rtol=1e-5)
    model.compile_blocks(False)
    assert all(block.compiled_body is None for block in model.blocks)
