"""Prompt-following shapes: captions in several phrasings, the held-out combinations kept
out of train and val, and the dataset.json that records them."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from arvideo.data.prompt_factors import (
    FACTOR_NAMES,
    PHRASINGS,
    PromptFactors,
    all_combinations,
    caption,
    is_unseen,
    parse_caption,
    seen_combinations,
    unseen_combinations,
)  # fmt: skip
from arvideo.data.prompt_shapes import collect_prompt_shapes
from arvideo.data.reader import ShardDataset, expand_shards


def test_unseen_combinations_leave_every_pair_seen():
    seen, unseen = seen_combinations(), unseen_combinations()
    assert len(all_combinations()) == 48 and len(unseen) == 12 and len(seen) == 36
    assert not set(seen) & set(unseen)
    for first, second in itertools.combinations(FACTOR_NAMES, 2):
        pairs = {(getattr(f, first), getattr(f, second)) for f in all_combinations()}
        seen_pairs = {(getattr(f, first), getattr(f, second)) for f in seen}
        assert seen_pairs == pairs, (first, second)


def test_every_phrasing_parses_back_to_its_factors():
    for factors in all_combinations():
        captions = {caption(factors, p) for p in range(len(PHRASINGS))}
        assert len(captions) == len(PHRASINGS)
        assert all(parse_caption(text) == factors for text in captions)
    assert caption(PromptFactors("red", "square", "left"), 1) == "a leftward-moving red square"
    with pytest.raises(ValueError, match="'a red blue circle moving up'.*color"):
        parse_caption("a red blue circle moving up")
    with pytest.raises(ValueError, match="direction"):
        parse_caption("a red circle")
    with pytest.raises(ValueError, match="phrasing"):
        caption(PromptFactors("red", "square", "left"), len(PHRASINGS))


def read_split(folder, split) -> list[dict]:
    return list(ShardDataset(expand_shards(str(folder / f"{split}-*.tar")), 0, 1))


def test_collect_splits_seen_and_unseen_combinations(tmp_path):
    out = tmp_path / "p"
    summary = collect_prompt_shapes(
        out=str(out), clips=40, unseen_clips=24, size=32, clip_length=6, shard_size=16,
        val_fraction=0.25, seed=3, progress=False,
    )  # fmt: skip
    assert summary.clips == 64 and summary.complete
    manifest = json.loads((out / "dataset.json").read_text())
    clips = {split: record["clips"] for split, record in manifest["splits"].items()}
    assert clips == {"train": 30, "val": 10, "unseen": 24}
    recorded = manifest["prompt_factors"]["unseen"]
    assert recorded == [f.as_list() for f in unseen_combinations()]
    phrasings, unseen_drawn = set(), []
    for split in ("train", "val", "unseen"):
        for sample in read_split(out, split):
            factors = PromptFactors(**sample["meta"]["factors"])
            assert parse_caption(sample["caption"]) == factors
            assert all_combinations()[sample["meta"]["label"]] == factors  # its class id
            assert is_unseen(factors) == (split == "unseen"), (split, factors)
            phrasings.add(sample["meta"]["phrasing"])
            unseen_drawn += [factors] if split == "unseen" else []
            frames = sample["frames"]
            border = [frames[:, 0], frames[:, -1], frames[:, :, 0], frames[:, :, -1]]
            border = np.concatenate(border, 1)
            assert (border == border[0, 0]).all()  # the shape never touches a border
    assert sorted(set(unseen_drawn), key=str) == sorted(unseen_combinations(), key=str)
    assert len(phrasings) >= 4


def test_collect_refuses_a_frame_too_small_for_the_motion(tmp_path):
    with pytest.raises(ValueError, match="size=16 and num_frames=40"):
        collect_prompt_shapes(out=str(tmp_path / "q"), clips=2, size=16, clip_length=40,
                              progress=False)  # fmt: skip


def test_collect_draws_shapes_in_the_radius_and_speed_ranges_asked(tmp_path):
    out = tmp_path / "r"
    collect_prompt_shapes(
        out=str(out), clips=12, unseen_clips=0, size=32, clip_length=8, min_radius=0.2,
        max_radius=0.2, min_speed=2.0, max_speed=2.0, seed=1, progress=False,
    )  # fmt: skip
    motion = json.loads((out / "dataset.json").read_text())["motion"]
    assert motion == {"min_radius": 0.2, "max_radius": 0.2, "min_speed": 2.0, "max_speed": 2.0,
                      "start": "anywhere"}  # fmt: skip
    for sample in read_split(out, "train"):
        shape = sample["meta"]["shape"]
        assert shape["radius"] == pytest.approx(6.4)  # 0.2 of 32 pixels
        assert np.hypot(shape["vy"], shape["vx"]) == pytest.approx(2.0)


def test_start_behind_puts_the_shape_at_the_back_of_its_path_centred_across(tmp_path):
    out = tmp_path / "b"
    collect_prompt_shapes(
        out=str(out), clips=16, unseen_clips=0, size=32, clip_length=8, min_radius=0.2,
        max_radius=0.2, start="behind", seed=2, progress=False,
    )  # fmt: skip
    reach = 0.2 * 32 + 1  # the centre's closest approach to an edge
    for sample in read_split(out, "train"):
        shape, direction = sample["meta"]["shape"], sample["meta"]["factors"]["direction"]
        along, across = ("y", "x") if direction in ("up", "down") else ("x", "y")
        assert shape[across] == 16.0
        end = shape[along] + 7 * shape["v" + along]  # where the path ends
        back = reach if direction in ("down", "right") else 32 - reach
        assert shape[along] == pytest.approx(back)
        assert reach - 1e-6 <= end <= 32 - reach + 1e-6
