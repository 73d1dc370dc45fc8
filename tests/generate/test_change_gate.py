"""The change gate (lm/change_gate.py): a generated cell keeps the frame before's code unless
the model gives its new code at least `change_threshold`; refused where it cannot apply."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from arvideo.lm.change_gate import gate_changes
from arvideo.model_folder import save_model_folder

ACTIONS = np.array([0, 1, 2, 3, 1, 0, 2], dtype=np.int64)


def _context(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (2, 2, 16, 16, 3), dtype=np.uint8)  # B×T×H×W×3


def _codes(gen, **options) -> torch.Tensor:
    out = gen(_context(), num_frames=4, actions=ACTIONS, progress=False, seed=3, **options)
    return torch.as_tensor(out.codes)  # B×T×h×w, context included


def test_only_unsure_changes_go_back_to_the_frame_before():
    before = torch.tensor([[1, 2, 3, 4]])
    values = torch.tensor([[1, 5, 6, 7]])  # slot 0 unchanged, slots 1-3 changed
    log_p = torch.tensor([[0.9, 0.2, 0.6, 0.5]]).log()
    assert gate_changes(values, before, log_p, 0.55).tolist() == [[1, 2, 6, 4]]
    assert gate_changes(values, before, log_p, 0.0).tolist() == values.tolist()
    assert gate_changes(values, before, log_p, 1.0).tolist() == [[1, 2, 3, 4]]
    deep_before = torch.tensor([[[1, 1], [2, 2]]])  # B×n×depth: one depth changed is a change
    deep = torch.tensor([[[1, 9], [3, 3]]])
    kept = gate_changes(deep, deep_before, torch.tensor([[0.3, 0.9]]).log(), 0.5)
    assert kept.tolist() == [[[1, 1], [3, 3]]]


def test_a_threshold_of_one_copies_the_last_context_frame_and_zero_changes_nothing(gen):
    plain = _codes(gen, top_k=1)
    assert torch.equal(_codes(gen, top_k=1, change_threshold=0.0), plain)
    copied = _codes(gen, top_k=1, change_threshold=1.0)
    last = plain[:, 1:2]
    assert torch.equal(copied[:, :2], plain[:, :2])  # the context is untouched
    assert torch.equal(copied[:, 2:], last.expand_as(copied[:, 2:]))
    assert not torch.equal(plain[:, 2:], last.expand_as(plain[:, 2:]))  # the model moves


def test_a_middle_threshold_changes_fewer_cells_and_the_stream_agrees(gen):
    plain, gated = _codes(gen, top_k=1), _codes(gen, top_k=1, change_threshold=0.5)

    def changes(codes: torch.Tensor) -> int:
        return int((codes[:, 2:] != codes[:, 1:-1]).sum())

    assert 0 < changes(gated) < changes(plain)
    frames = gen.stream(
        _context(), num_frames=4, actions=ACTIONS, seed=3, top_k=1, change_threshold=0.5
    )
    streamed = np.stack(list(frames), axis=1)
    batch = gen(_context(), num_frames=4, actions=ACTIONS, progress=False, seed=3, top_k=1,
                change_threshold=0.5)  # fmt: skip
    np.testing.assert_array_equal(streamed, batch.video[:, 2:])


def test_a_model_default_threshold_applies_and_a_caller_overrides_it(tmp_path, builders):
    from arvideo.generate import VideoGenerator

    tokenizer, lm, info = builders
    path = tmp_path / "gated"
    save_model_folder(path, tokenizer(), lm(sampling={"change_threshold": 1.0}), info())
    gen = VideoGenerator.from_pretrained(path)
    codes = _codes(gen, top_k=1)
    assert torch.equal(codes[:, 2:], codes[:, 1:2].expand_as(codes[:, 2:]))
    assert not torch.equal(_codes(gen, top_k=1, change_threshold=0.0)[:, 2:], codes[:, 2:])


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"order": "next_token"}, "not next_block"),
        ({"block_rows": 2}, "not single frames"),
    ],
)
@pytest.mark.parametrize("gate", ["change_threshold", "keep_threshold"])
def test_models_it_cannot_apply_to_refuse_it_by_name(tmp_path, builders, overrides, reason, gate):
    """Both gates (the keep gate: tests/generate/test_keep_gate.py) refuse by name."""
    from arvideo.generate import VideoGenerator

    tokenizer, lm, info = builders
    save_model_folder(tmp_path / "m", tokenizer(), lm(**overrides), info())
    gen = VideoGenerator.from_pretrained(tmp_path / "m")
    with pytest.raises(ValueError, match=f"{gate} does not apply.*{reason}"):
        _codes(gen, **{gate: 0.5})
    with pytest.raises(ValueError, match=gate):
        lm(sampling={gate: 0.5}, **overrides)


def test_out_of_range_thresholds_are_refused(gen, builders):
    with pytest.raises(ValueError, match="change_threshold must be a finite number in"):
        _codes(gen, change_threshold=1.5)
    with pytest.raises(ValueError, match="change_threshold must be in"):
        builders[1](sampling={"change_threshold": -0.1})


def test_the_order_itself_refuses_blocks_that_are_not_frames(builders):
    from arvideo.lm.heads.base import SamplingSettings

    lm = builders[1](block_rows=2)  # bands of 2 rows: the block before is not the frame before
    context = torch.zeros(1, 1, 4, 4, dtype=torch.long)
    with pytest.raises(ValueError, match="frame blocks"):
        lm.generate(context, None, 2, SamplingSettings(change_threshold=0.5))
