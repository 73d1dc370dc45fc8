"""PrefixRuns: block-causal masks found and attended as unmasked pieces, equal to the mask."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from arvideo.lm.orders.base import block_causal_mask
from arvideo.lm.prefix_runs import PrefixRuns


def _groups(sizes: list[int], first: int = 0) -> torch.Tensor:
    return torch.cat([torch.full((n,), first + i) for i, n in enumerate(sizes)])


def _qkv(n: int, m: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    shapes = [(2, 3, n, 8), (2, 3, m, 8), (2, 3, m, 8)]
    return [torch.randn(*s, generator=g, requires_grad=True) for s in shapes]


def test_block_causal_with_a_prefix_attends_as_the_mask() -> None:
    groups = _groups([3, 5, 5, 5], first=-1)  # a 3-token prefix (group -1), three frames
    frames = groups.clamp(min=0)
    mask = block_causal_mask(groups, frames, groups, frames)
    runs = PrefixRuns.of(mask)
    assert runs == PrefixRuns(starts=(0, 3, 8, 13, 18), key_ends=(3, 8, 13, 18), keys=18)
    q, k, v = _qkv(18, 18)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    got = runs.attend(q, k, v)
    torch.testing.assert_close(got, expected)
    grads = torch.autograd.grad(expected.square().sum(), (q, k, v))
    for a, b in zip(torch.autograd.grad(got.square().sum(), (q, k, v)), grads):
        torch.testing.assert_close(a, b)


def test_queries_after_cached_keys_and_unseen_trailing_keys() -> None:
    # 4 queries over 10 keys: the first two see 6, the last two see 8; keys 8-9 unseen
    mask = torch.arange(10)[None, :] < torch.tensor([6, 6, 8, 8])[:, None]
    runs = PrefixRuns.of(mask)
    assert runs.shape == (4, 10) and runs.key_ends == (6, 8)
    q, k, v = _qkv(4, 10)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(runs.attend(q, k, v), expected)


def test_a_full_mask_is_one_unmasked_run() -> None:
    runs = PrefixRuns.of(torch.ones(5, 7, dtype=torch.bool))
    assert runs == PrefixRuns(starts=(0, 5), key_ends=(7,), keys=7)


def test_masks_of_other_shapes_keep_the_masked_kernel() -> None:
    groups = _groups([4, 4, 4])
    window = block_causal_mask(groups, groups, groups, groups, window_frames=1)
    assert PrefixRuns.of(window) is None  # frame 2 does not see frame 0: not a prefix
    causal = torch.ones(100, 100, dtype=torch.bool).tril()
    assert PrefixRuns.of(causal) is None  # 100 runs, over MAX_RUNS
    assert PrefixRuns.of(causal, max_runs=100) is not None
    empty_row = torch.ones(3, 3, dtype=torch.bool)
    empty_row[0] = False
    assert PrefixRuns.of(empty_row) is None  # the masked kernel's NaN row, kept as it was
    assert PrefixRuns.of(torch.ones(2, 3, 3, dtype=torch.bool)) is None  # per-batch masks
    assert PrefixRuns.of(None) is None
