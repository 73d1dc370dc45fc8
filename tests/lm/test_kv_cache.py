"""KV cache: bookkeeping, incremental decoding equal to one full forward, look-ahead
rollback, and the sliding window over whole frames (constant size, prefix kept)."""

from __future__ import annotations

import pytest
import torch

from arvideo.lm.kv_cache import KVCache
from arvideo.lm.orders.base import block_causal_mask
from arvideo.lm.transformer import Transformer, TransformerConfig


@pytest.fixture
def backbone(generator):
    model = Transformer(TransformerConfig(width=32, depth=2, heads=2))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=generator) * 0.2)
    return model


def sequence(generator, frames=4, per_frame=3, B=2):
    N = frames * per_frame
    frame = torch.arange(N) // per_frame
    positions = torch.stack([frame, torch.arange(N) % per_frame, frame * 0, frame * 0], 1)
    x = torch.randn(B, N, 32, generator=generator)
    cond = torch.randn(B, N, 32, generator=generator)
    return x, positions.float(), cond, frame


def run_incremental(backbone, x, positions, cond, frame, chunks, window=None):
    cache, outputs, start = KVCache(len(backbone.blocks)), [], 0
    for size in chunks:
        sl = slice(start, start + size)
        if window is not None:
            cache.drop_frames_before(int(frame[sl].min()) - window)
        group = torch.arange(x.shape[1])[sl]  # causal: one group per token
        cache.add_tokens(group, frame[sl], torch.ones(x.shape[0], size, dtype=torch.bool))
        mask = block_causal_mask(
            group, frame[sl], cache.group_N, cache.frame_N, window,
            query_offset=cache.length - size,
        )  # fmt: skip
        outputs.append(backbone(x[:, sl], positions[sl], mask, cond[:, sl], cache))
        start += size
    return torch.cat(outputs, 1), cache


@pytest.mark.parametrize("chunks", [[1] * 12, [3, 3, 3, 3], [6, 1, 2, 3]])
def test_incremental_equals_full_forward(backbone, generator, chunks):
    x, positions, cond, frame = sequence(generator)
    group = torch.arange(12)
    mask = block_causal_mask(group, frame, group, frame)
    full = backbone(x, positions, mask, cond)
    incremental, cache = run_incremental(backbone, x, positions, cond, frame, chunks)
    torch.testing.assert_close(incremental, full, atol=1e-5, rtol=1e-5)
    assert cache.length == 12 and cache.keys[1].shape[2] == 12


def test_truncate_rolls_back_a_look_ahead(backbone, generator):
    x, positions, cond, frame = sequence(generator)
    _, cache = run_incremental(backbone, x[:, :6], positions[:6], cond[:, :6], frame[:6], [6])
    keys = [k.clone() for k in cache.keys]
    cache.add_tokens(frame[6:9], frame[6:9], torch.ones(2, 3, dtype=torch.bool))
    backbone(x[:, 6:9] * 3, positions[6:9], torch.ones(3, 9, dtype=torch.bool), cond[:, 6:9], cache)
    cache.truncate(6)
    assert cache.length == 6 and all(torch.equal(a, b) for a, b in zip(keys, cache.keys))
    with pytest.raises(ValueError, match="length"):
        cache.truncate(7)


def test_window_keeps_size_constant_and_matches_fresh_forward(generator):
    """Depth 1: keys do not depend on earlier frames, so decoding with a window of W frames
    equals a fresh forward over just the last W+1 frames, at any absolute time."""
    backbone = Transformer(TransformerConfig(width=32, depth=1, heads=2))
    with torch.no_grad():
        for p in backbone.parameters():
            p.add_(torch.randn(p.shape, generator=generator) * 0.2)
    x, positions, cond, frame = sequence(generator, frames=10)
    positions[:, 0] += 1000  # far past any trained length: RoPE is relative
    out, cache = run_incremental(backbone, x, positions, cond, frame, [3] * 10, window=2)
    assert cache.length == 9  # frames 7, 8, 9 only
    sl = slice(21, 30)
    group = torch.arange(30)[sl]
    fresh_mask = block_causal_mask(group, frame[sl], group, frame[sl])
    fresh = backbone(x[:, sl], positions[sl], fresh_mask, cond[:, sl])
    torch.testing.assert_close(out[:, 27:], fresh[:, 6:], atol=1e-4, rtol=1e-4)


def test_drop_frames_keeps_prefix_tokens():
    cache = KVCache(1)
    frame = torch.tensor([-1, -1, 0, 0, 1, 1, 2, 2])
    cache.add_tokens(frame, frame, torch.ones(1, 8, dtype=torch.bool))
    cache.update(0, torch.arange(8.0).view(1, 1, 8, 1), torch.arange(8.0).view(1, 1, 8, 1))
    assert cache.drop_frames_before(2) == 4
    assert cache.frame_N.tolist() == [-1, -1, 2, 2]
    assert cache.keys[0].flatten().tolist() == [0.0, 1.0, 6.0, 7.0]
    assert cache.drop_frames_before(2) == 0


def test_cache_rejects_mismatched_metadata():
    with pytest.raises(ValueError, match="group_n"):
        KVCache(1).add_tokens(torch.zeros(3), torch.zeros(2), torch.ones(1, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="num_layers"):
        KVCache(0)


def test_steps_write_in_place_into_a_doubling_buffer(generator):
    """Appends reuse one buffer (no copy per token) until it doubles; what is read back is
    exactly what was written, through truncation and the window's compaction."""
    cache, written = KVCache(1), []
    pointers = set()
    for step in range(40):
        k = torch.randn(2, 2, 1, 4, generator=generator)
        cache.add_tokens(torch.tensor([step]), torch.tensor([step // 4]), torch.ones(2, 1).bool())
        keys, values = cache.update(0, k, -k)
        written.append(k)
        pointers.add(keys.untyped_storage().data_ptr())
        torch.testing.assert_close(keys, torch.cat(written, 2), rtol=0, atol=0)
        torch.testing.assert_close(values, -keys, rtol=0, atol=0)
    assert len(pointers) == 3  # capacity 16 -> 32 -> 64 for 40 tokens
    cache.truncate(30)
    cache.add_tokens(torch.tensor([30]), torch.tensor([7]), torch.ones(2, 1).bool())
    k = torch.randn(2, 2, 1, 4, generator=generator)
    keys, _ = cache.update(0, k, k)
    torch.testing.assert_close(keys, torch.cat(written[:30] + [k], 2), rtol=0, atol=0)
    cache.drop_frames_before(5)  # frames 5..7 kept: tokens 20..29 and the new one
    assert cache.keys[0].untyped_storage().data_ptr() in pointers
    torch.testing.assert_close(cache.keys[0], torch.cat(written[20:30] + [k], 2), rtol=0, atol=0)


def test_with_autograd_the_cache_never_writes_in_place(generator):
    cache = KVCache(1)
    first = torch.randn(1, 1, 2, 4, generator=generator, requires_grad=True)
    cache.add_tokens(torch.arange(2), torch.zeros(2).long(), torch.ones(1, 2).bool())
    cache.update(0, first, first)
    second = torch.randn(1, 1, 1, 4, generator=generator, requires_grad=True)
    cache.add_tokens(torch.tensor([2]), torch.tensor([0]), torch.ones(1, 1).bool())
    keys, values = cache.update(0, second, second)
    (keys * values).sum().backward()  # an in-place write would fail here
    assert first.grad is not None and second.grad is not None


def test_the_window_moves_the_view_and_copies_only_at_the_buffer_end(generator):
    """Dropping the oldest frame moves the view's start (no copy of the kept tokens); the
    kept tokens go back to the front only when the buffer's end is reached, a few times in
    many steps, and what is read back is always the last frames written."""
    cache, written, moves = KVCache(1), [], 0
    for step in range(60):  # 2 tokens a frame, a window of 3 frames + the new one
        cache.drop_frames_before(step - 3)
        k = torch.randn(1, 1, 2, 4, generator=generator)
        cache.add_tokens(torch.full((2,), step), torch.full((2,), step), torch.ones(1, 2).bool())
        offset_before = cache._starts[0]
        keys, _ = cache.update(0, k, k)
        moves += cache._starts[0] < offset_before
        written.append(k)
        torch.testing.assert_close(keys, torch.cat(written[-4:], 2), rtol=0, atol=0)
    assert cache.length == 8 and 0 < moves <= 60 // 4
