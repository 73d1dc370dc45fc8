"""The slot KV cache of the compiled decoding step: slot bookkeeping (lowest free first,
freed by rollback and by the window, reused), the mask scattered onto slots, growth, and
`Transformer.slot_step` equal to the plain cached forward; one generation compiled for real.
The order contract (test_order_contract.py) runs every order through it, eagerly."""

from __future__ import annotations

import shutil

import pytest
import torch

from arvideo.lm.conditioning import Conditions
from arvideo.lm.orders.base import block_causal_mask
from arvideo.lm.slot_cache import SlotKVCache, capacity_for

from .conftest import tiny_model
from .test_kv_cache import backbone, run_incremental, sequence  # noqa: F401

ONES = torch.ones(1, 3, dtype=torch.bool)


def add_frame(cache: SlotKVCache, frame: int, per_frame: int = 3) -> None:
    group = torch.arange(per_frame) + frame * per_frame
    cache.add_tokens(group, torch.full((per_frame,), frame), ONES[:, :per_frame])


def test_capacity_is_a_power_of_two_of_at_least_64():
    assert [capacity_for(n) for n in (1, 64, 65, 320, 513)] == [64, 64, 128, 512, 1024]


def test_slots_are_handed_out_lowest_first_and_freed_by_rollback_and_window():
    cache = SlotKVCache(num_layers=1, capacity=8)
    add_frame(cache, 0)
    add_frame(cache, 1)
    assert cache.slot_N.tolist() == [0, 1, 2, 3, 4, 5] and cache.slots_in_use == 6
    cache.truncate(4)  # a look-ahead rolled back: slots 4 and 5 are free again
    assert cache.slot_N.tolist() == [0, 1, 2, 3]
    add_frame(cache, 2)  # ...and reused
    assert cache.new_slots.tolist() == [4, 5, 6]
    assert cache.drop_frames_before(1) == 3  # frame 0 leaves slots 0-2 free
    add_frame(cache, 3)
    assert cache.new_slots.tolist() == [0, 1, 2] and cache.capacity == 8
    assert cache.frame_N.tolist() == [1, 2, 2, 2, 3, 3, 3]  # metadata stays in token order


def test_slot_mask_puts_each_token_column_on_its_slot_and_hides_free_slots():
    cache = SlotKVCache(num_layers=1, capacity=8)
    for frame in range(3):
        add_frame(cache, frame)
    cache.drop_frames_before(1)
    add_frame(cache, 3)  # tokens in order sit in slots 3-8... of which 0-2 reused
    mask_NM = torch.rand(2, len(cache.slot_N)) > 0.5
    slotted = cache.slot_mask(mask_NM)
    assert slotted.shape == (2, cache.capacity)
    torch.testing.assert_close(slotted[:, cache.slot_N], mask_NM)
    free = torch.ones(cache.capacity, dtype=torch.bool)
    free[cache.slot_N] = False
    assert not slotted[:, free].any()


def test_growing_keeps_the_cached_keys_in_their_slots():
    cache = SlotKVCache(num_layers=2, capacity=4)
    keys, _ = cache.buffers_for(1, 2, 3, torch.zeros(1))
    add_frame(cache, 0)
    keys[0][:, :, :3] = 7.0
    add_frame(cache, 1)  # 6 tokens > 4 slots: the buffers double
    assert cache.capacity == 64 and cache.key_buffers[0].shape == (1, 2, 64, 3)
    assert (cache.key_buffers[0][:, :, :3] == 7.0).all()
    assert cache.new_slots.tolist() == [3, 4, 5]


def run_slotted(backbone, x, positions, cond, frame, chunks, window=None, capacity=64):  # noqa: F811
    cache, outputs, start = SlotKVCache(len(backbone.blocks), capacity), [], 0
    for size in chunks:
        sl = slice(start, start + size)
        if window is not None:
            cache.drop_frames_before(int(frame[sl].min()) - window)
        group = torch.arange(x.shape[1])[sl]
        cache.add_tokens(group, frame[sl], torch.ones(x.shape[0], size, dtype=torch.bool))
        mask = block_causal_mask(
            group, frame[sl], cache.group_N, cache.frame_N, window,
            query_offset=cache.length - size,
        )  # fmt: skip
        mask = cache.slot_mask(mask)
        outputs.append(backbone.slot_step(x[:, sl], positions[sl], mask, cond[:, sl], cache, False))
        start += size
    return torch.cat(outputs, 1), cache


@pytest.mark.parametrize("window", [None, 1])
@pytest.mark.parametrize("chunks", [[1] * 12, [3, 3, 3, 3], [6, 1, 2, 3]])
def test_slot_step_equals_the_cached_forward(backbone, generator, chunks, window):  # noqa: F811
    """Eagerly, the slot step computes what the plain KV cache computes, also when the
    window frees slots and later frames reuse them out of token order."""
    x, positions, cond, frame = sequence(generator)
    plain, _ = run_incremental(backbone, x, positions, cond, frame, chunks, window)
    slotted, cache = run_slotted(backbone, x, positions, cond, frame, chunks, window, 8)
    torch.testing.assert_close(slotted, plain, atol=1e-5, rtol=1e-5)
    if window is not None:
        assert cache.capacity == 8  # 2 frames of 3 visible + a chunk: the ring never grew


def test_compile_without_a_cache_is_refused():
    model = tiny_model(order="next_token")
    with pytest.raises(ValueError, match="use_cache=False"):
        model.generate(None, None, 2, batch_size=1, compile=True, use_cache=False)


@pytest.mark.skipif(shutil.which("c++") is None, reason="torch.compile on CPU needs a C++ compiler")
def test_compiled_generation_samples_what_eager_generation_samples():
    """The real compiled graph (cpp wrapper, dynamic read length): the same tokens as the
    eager path for the same seed, over a prompt step and many one-token steps."""
    model = tiny_model(order="next_token", num_actions=3)
    context = torch.randint(model.config.vocab_size, (2, 1, *model.config.grid[1:]))
    actions = Conditions(actions_BT=torch.randint(3, (2, model.config.grid[0])))
    runs = [
        model.generate(
            context, actions, model.config.grid[0], generator=torch.Generator().manual_seed(3),
            compile=compiled,
        )
        for compiled in (False, True)
    ]  # fmt: skip
    torch.testing.assert_close(runs[1].z_BND, runs[0].z_BND, atol=1e-4, rtol=1e-4)
    assert torch.equal(runs[1].values, runs[0].values)
