"""The paradigm bench's frame-order classifier: its examples (runs, one neighbour swap, both
orders for a chance of 1/2) and that its task is learnable on the tiny real Pong fixture."""

from __future__ import annotations

import pytest
import torch

from arvideo.bench.paradigms.episodes import load_episodes, training_windows
from arvideo.bench.paradigms.frame_order import (
    ClassifierConfig,
    both_orders,
    gather_runs,
    run_index,
    swap_neighbours,
    train_classifier,
)


def numbered_video(windows: int, frames: int) -> torch.Tensor:
    """B×3×T×2×2 video whose frame t of window b holds the value 10·b + t everywhere."""
    values = 10 * torch.arange(windows)[:, None] + torch.arange(frames)[None]
    return values[:, None, :, None, None].expand(-1, 3, -1, 2, 2).float()


def frame_values(runs_BFCHW: torch.Tensor) -> list[list[int]]:
    return runs_BFCHW[:, :, 0, 0, 0].long().tolist()


def test_runs_cover_every_start_of_every_window():
    video = numbered_video(2, 4) / 100  # within [-1, 1]
    index = run_index(video, 3)
    runs = gather_runs(video, index, torch.arange(len(index)))
    assert runs.shape == (4, 3, 3, 2, 2)
    assert frame_values(runs * 100 + 0.5) == [[0, 1, 2], [1, 2, 3], [10, 11, 12], [11, 12, 13]]
    with pytest.raises(ValueError, match="T >= 5"):
        run_index(video, 5)
    with pytest.raises(ValueError, match="frames must be >= 2"):
        ClassifierConfig(frames=1)


def test_swap_neighbours_swaps_exactly_one_neighbouring_pair():
    runs = numbered_video(64, 4).transpose(1, 2)  # B×F×C×H×W
    swapped = frame_values(swap_neighbours(runs, torch.Generator().manual_seed(0)))
    firsts = set()
    for original, new in zip(frame_values(runs), swapped):
        moved = [i for i in range(4) if original[i] != new[i]]
        assert len(moved) == 2 and moved[1] == moved[0] + 1, (original, new)
        assert sorted(new) == original
        firsts.add(moved[0])
    assert firsts == {0, 1, 2}  # every neighbouring pair gets swapped


def test_both_orders_is_balanced():
    runs = numbered_video(5, 3).transpose(1, 2)
    examples = both_orders(runs, torch.Generator().manual_seed(0))
    assert examples.in_order_B.tolist() == [1] * 5 + [0] * 5
    assert torch.equal(examples.runs_BFCHW[:5], runs)


@pytest.mark.slow
def test_frame_order_is_learnable_on_tiny_pong(pong_dir):
    # train on the fixture's train episodes, score on its held-out val episode
    train = training_windows(load_episodes(pong_dir, "train"), 8, 4).video_BCTHW
    held_out = training_windows(load_episodes(pong_dir, "val"), 8, 8).video_BCTHW
    config = ClassifierConfig(width=8, features=8, steps=100, batch_size=16)
    trained = train_classifier(train, held_out, config, torch.Generator().manual_seed(0))
    assert trained.chance == 0.5 and trained.held_out_examples >= 200
    # measured 0.95 (seeds 1-3: 0.95-0.97); an untrained net answers one class: 0.50
    assert trained.held_out_accuracy > 0.75, trained
