"""MaskRuns: masks of a few runs of equal rows, attended as unmasked pieces, equal to the mask."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from arvideo.lm.mask_runs import MaskRuns
from arvideo.lm.orders.base import block_causal_mask, complete_forcing_mask


def _groups(sizes: list[int], first: int = 0) -> torch.Tensor:
    return torch.cat([torch.full((n,), first + i) for i, n in enumerate(sizes)])


def _attends_as_the_mask(mask: torch.Tensor) -> MaskRuns:
    runs = MaskRuns.of(mask)
    assert runs is not None and runs.shape == tuple(mask.shape)
    g = torch.Generator().manual_seed(0)
    n, m = mask.shape
    q, k, v = [torch.randn(2, 3, s, 8, generator=g, requires_grad=True) for s in (n, m, m)]
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    got = runs.attend(q, k, v)
    torch.testing.assert_close(got, expected)
    grads = torch.autograd.grad(expected.square().sum(), (q, k, v))
    for a, b in zip(torch.autograd.grad(got.square().sum(), (q, k, v)), grads):
        torch.testing.assert_close(a, b)
    return runs


def test_block_causal_with_a_prefix_is_key_prefixes() -> None:
    groups = _groups([3, 5, 5, 5], first=-1)  # a 3-token prefix (group -1), three frames
    frames = groups.clamp(min=0)
    runs = _attends_as_the_mask(block_causal_mask(groups, frames, groups, frames))
    assert runs == MaskRuns(
        starts=(0, 3, 8, 13, 18), spans=(((0, 3),), ((0, 8),), ((0, 13),), ((0, 18),)), keys=18
    )


def test_complete_teacher_forcing_gathers_clean_history_and_own_noisy_frame() -> None:
    groups = _groups([4, 4, 4])
    mask = complete_forcing_mask((groups, groups), (groups, groups))  # [clean 12; noisy 12]
    runs = _attends_as_the_mask(mask)
    assert len(runs.spans) == 6
    assert runs.spans[3:] == (((12, 16),), ((0, 4), (16, 20)), ((0, 8), (20, 24)))


def test_sliding_window_and_queries_after_cached_keys() -> None:
    groups = _groups([4, 4, 4, 4])
    window = block_causal_mask(groups, groups, groups, groups, window_frames=1)
    assert _attends_as_the_mask(window).spans[3] == ((8, 16),)
    # 4 queries over 10 cached + new keys; keys 8-9 seen by none
    cached = torch.arange(10)[None, :] < torch.tensor([6, 6, 8, 8])[:, None]
    assert _attends_as_the_mask(cached).spans == (((0, 6),), ((0, 8),))


def test_a_full_mask_is_one_unmasked_run() -> None:
    runs = MaskRuns.of(torch.ones(5, 7, dtype=torch.bool))
    assert runs == MaskRuns(starts=(0, 5), spans=(((0, 7),),), keys=7)


@pytest.mark.parametrize(
    "mask",
    [
        torch.ones(100, 100, dtype=torch.bool).tril(),  # causal: 100 runs, over MAX_RUNS
        torch.tensor([[True, False] * 5] * 3),  # 5 spans, over MAX_SPANS
        torch.tensor([[False, False], [True, True]]),  # a row that sees nothing
        torch.ones(2, 3, 3, dtype=torch.bool),  # per-batch masks
        None,
    ],
)
def test_other_masks_keep_the_masked_kernel(mask: torch.Tensor | None) -> None:
    assert MaskRuns.of(mask) is None
