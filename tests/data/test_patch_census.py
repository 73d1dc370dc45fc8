"""Counting distinct cell patches (arvideo/data/patch_census.py) and choosing the tokenizer's
cell size from the count (arvideo/tokenizer_capacity.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from arvideo.data import patch_census
from arvideo.data.patch_census import (
    CENSUS_FILE,
    PatchCensus,
    dataset_census,
    frame_patches,
    measure_census,
)
from arvideo.tokenizer.config import TokenizerConfig
from arvideo.tokenizer_capacity import (
    PATCHES_PER_CODE_LIMIT,
    cell_overrides,
    choose_capacity,
    generator_overrides,
)

DEMO_TOKENIZER = Path(__file__).resolve().parents[2] / "configs" / "demo" / "tokenizer.yaml"


def as_video(frames_THWC: np.ndarray) -> torch.Tensor:
    """uint8 T×H×W×C -> 1×C×T×H×W in [-1, 1], as the clip reader yields it."""
    return torch.from_numpy(frames_THWC).float().div(127.5).sub(1).permute(3, 0, 1, 2)[None]


def test_patches_are_the_exact_pixels_of_each_cell():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (2, 8, 12, 3), dtype=np.uint8)
    rows = frame_patches(as_video(frames), cell=4)
    assert rows.shape == (2 * 2 * 3, 4 * 4 * 3) and rows.dtype == np.uint8
    # row order: frame, cell row, cell column; inside a row: pixel row, column, channel
    np.testing.assert_array_equal(rows[4], frames[0, 4:8, 4:8].reshape(-1))
    np.testing.assert_array_equal(rows[6], frames[1, 0:4, 0:4].reshape(-1))


def test_identical_patches_count_once():
    frames = np.zeros((3, 8, 8, 3), dtype=np.uint8)
    frames[1, 0:4, 0:4] = 255  # one white cell in frame 1
    frames[2, 4:8, 4:8] = 255  # the same white patch elsewhere in frame 2
    rows = frame_patches(as_video(frames), cell=4)
    assert len(patch_census.distinct_rows(rows)) == 2  # black, white


def test_frames_must_split_into_cells():
    with pytest.raises(ValueError, match="10x8 pixels do not split into 4x4"):
        frame_patches(torch.zeros(1, 3, 1, 10, 8), cell=4)


def test_census_counts_a_real_split_and_caps_clips(pong_dir):
    whole = measure_census(pong_dir, cell=8)
    assert whole.cells == whole.frames * 64 and 1 < whole.distinct_patches < whole.cells
    capped = measure_census(pong_dir, cell=8, max_clips=2)
    assert capped.frames == 2 * 8 and capped.distinct_patches <= whole.distinct_patches
    finer = measure_census(pong_dir, cell=4)  # smaller cells: fewer pixels to differ in
    assert finer.cells == 4 * whole.cells


def test_census_is_stored_beside_the_data_set_and_reloaded(pong_dir, tmp_path, monkeypatch):
    data = tmp_path / "pong"
    shutil.copytree(pong_dir, data)
    first = dataset_census(data, cell=8)
    assert (data / CENSUS_FILE).is_file()

    def no_recount(*args, **kwargs):
        raise AssertionError("the stored census should have been reloaded")

    monkeypatch.setattr(patch_census, "measure_census", no_recount)
    assert dataset_census(data, cell=8) == first
    monkeypatch.undo()
    dataset_census(data, cell=4)  # a second cell size is added beside the first
    assert [entry["cell"] for entry in yaml.safe_load((data / CENSUS_FILE).read_text())] == [8, 4]


def census(distinct: int) -> PatchCensus:
    return PatchCensus(cell=8, split="train", frames=1000, cells=64_000, distinct_patches=distinct)


def test_a_crowded_census_halves_the_cell():
    limit = PATCHES_PER_CODE_LIMIT
    assert choose_capacity(census(int(limit * 1024)), 1024).cell == 8  # at the limit: kept
    crowded = choose_capacity(census(int(limit * 1024) + 1), 1024)
    assert crowded.cell == 4 and not crowded.forced
    assert "4x4" in crowded.report() and "above the limit" in crowded.report()
    # the four measured games fall where their reconstructions put them
    assert [choose_capacity(census(n), 1024).cell for n in (2729, 3405, 38376, 59766)] == [
        8, 8, 4, 4,
    ]  # fmt: skip


def test_capacity_can_be_forced_and_bad_values_are_named():
    forced = choose_capacity(census(100), 1024, capacity="4")
    assert forced.cell == 4 and forced.forced and "forced" in forced.report()
    with pytest.raises(ValueError, match="capacity='16' must be one of auto, 8, 4"):
        choose_capacity(census(100), 1024, capacity="16")
    with pytest.raises(ValueError, match="codebook_size=0"):
        choose_capacity(census(100), 0)


def demo_tokenizer() -> dict:
    return yaml.safe_load(DEMO_TOKENIZER.read_text())["model"]["init_args"]["tokenizer"]


def test_cell_overrides_build_a_valid_4x4_tokenizer():
    base = demo_tokenizer()
    assert base["spatial_compression"] == 8 and cell_overrides(base, 8) == []
    overrides = cell_overrides(base, 4)
    values = dict(zip(overrides[::2], overrides[1::2], strict=True))
    prefix = "--model.init_args.tokenizer."
    config = {
        **{k: v for k, v in base.items() if k != "bottleneck"},
        "spatial_compression": int(values[prefix + "spatial_compression"]),
        "widths": yaml.safe_load(values[prefix + "widths"]),
    }
    assert config["widths"] == [64]
    TokenizerConfig(**config)  # validates widths against compression and patch size
    with pytest.raises(ValueError, match="a 2x2 cell needs"):
        cell_overrides(base, 2)


def test_the_generator_on_4x4_cells_sees_as_many_tokens_in_shorter_clips():
    assert generator_overrides(8) == []
    overrides = dict(zip(*[iter(generator_overrides(4))] * 2, strict=True))
    frames, steps = (
        int(overrides["--data.init_args.num_frames"]),
        int(overrides["--trainer.max_steps"]),
    )
    assert frames * 256 <= 1024  # a clip's tokens (attention cost) stay bounded
    assert steps * frames * 256 == 2400 * 8 * 64  # tokens seen: the 8x8 recipe's
