"""The keep gate (lm/change_gate.py): a cell that drew the frame before's code, to which the
model gives less than `keep_threshold`, draws again among its other codes; refused where it
cannot apply."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from arvideo.lm.change_gate import redraw_unsure_keeps
from arvideo.lm.heads.base import SamplingSettings
from arvideo.lm.heads.categorical import CategoricalHead
from arvideo.model_folder import save_model_folder

ACTIONS = np.array([0, 1, 2, 3, 1, 0, 2], dtype=np.int64)


def _context() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (2, 2, 16, 16, 3), dtype=np.uint8)  # B×T×H×W×3


def _codes(gen, **options) -> torch.Tensor:
    out = gen(_context(), num_frames=4, actions=ACTIONS, progress=False, seed=3, **options)
    return torch.as_tensor(out.codes)  # B×T×h×w, context included


def _kept(codes: torch.Tensor) -> int:
    """Generated cells holding the frame before's code."""
    return int((codes[:, 2:] == codes[:, 1:-1]).sum())


def test_only_unsure_keeps_take_the_redrawn_code():
    before = torch.tensor([[1, 2, 3, 4]])
    values = torch.tensor([[1, 2, 6, 4]])  # slots 0, 1, 3 kept the frame before's code
    redrawn = torch.tensor([[7, 8, 9, 5]])
    log_p = torch.tensor([[0.9, 0.3, 0.1, 0.5]]).log()  # of the frame before's code
    assert redraw_unsure_keeps(values, before, log_p, redrawn, 0.55).tolist() == [[1, 8, 6, 5]]
    assert redraw_unsure_keeps(values, before, log_p, redrawn, 0.0).tolist() == values.tolist()
    assert redraw_unsure_keeps(values, before, log_p, redrawn, 1.0).tolist() == [[7, 8, 6, 5]]


def test_the_head_draws_among_the_other_codes():
    torch.manual_seed(0)
    head = CategoricalHead(width=8, vocab_size=5)
    z = torch.randn(2, 3, 8)
    greedy = SamplingSettings(top_k=1)
    best = head.sample(z, None, greedy)
    second = head.logits(z).topk(2, dim=-1).indices[..., 1]
    assert torch.equal(head.sample(z, None, greedy, exclude=best), second)
    drawn = head.sample(z, torch.Generator().manual_seed(1), SamplingSettings(), exclude=best)
    assert not (drawn == best).any()
    with pytest.raises(ValueError, match="exclude must be B×N codes"):
        head.sample(z, None, greedy, exclude=best[:, :2])


def test_threshold_zero_changes_nothing_and_one_keeps_no_cell(gen):
    plain = _codes(gen, top_k=1)
    assert torch.equal(_codes(gen, top_k=1, keep_threshold=0.0), plain)
    assert _kept(plain) > 0  # the tiny model keeps some cells when left alone
    everything_moves = _codes(gen, top_k=1, keep_threshold=1.0)
    assert torch.equal(everything_moves[:, :2], plain[:, :2])  # the context is untouched
    assert _kept(everything_moves) == 0


def test_a_middle_threshold_keeps_fewer_cells_and_the_stream_agrees(gen):
    plain = _codes(gen, top_k=1)
    probe = [_kept(_codes(gen, top_k=1, keep_threshold=q)) for q in (0.2, 0.5, 0.8)]
    assert probe == sorted(probe, reverse=True) and probe[-1] < _kept(plain)
    frames = gen.stream(
        _context(), num_frames=4, actions=ACTIONS, seed=3, top_k=1, keep_threshold=0.5
    )
    streamed = np.stack(list(frames), axis=1)
    batch = gen(_context(), num_frames=4, actions=ACTIONS, progress=False, seed=3, top_k=1,
                keep_threshold=0.5)  # fmt: skip
    np.testing.assert_array_equal(streamed, batch.video[:, 2:])


def test_both_gates_at_one_copy_the_frame_before(gen):
    """The keep gate runs first; the change gate at 1 sends every new code back."""
    codes = _codes(gen, top_k=1, keep_threshold=1.0, change_threshold=1.0)
    assert torch.equal(codes[:, 2:], codes[:, 1:2].expand_as(codes[:, 2:]))


def test_a_model_default_applies_and_a_caller_overrides_it(tmp_path, builders):
    from arvideo.generate import VideoGenerator

    tokenizer, lm, info = builders
    save_model_folder(tmp_path / "m", tokenizer(), lm(sampling={"keep_threshold": 1.0}), info())
    gen = VideoGenerator.from_pretrained(tmp_path / "m")
    assert _kept(_codes(gen, top_k=1)) == 0
    assert _kept(_codes(gen, top_k=1, keep_threshold=0.0)) > 0


def test_residual_codes_and_out_of_range_thresholds_are_refused(gen, builders):
    with pytest.raises(ValueError, match="keep_threshold"):
        builders[1](sampling={"keep_threshold": 0.5}, code_depth=2)
    with pytest.raises(ValueError, match="keep_threshold must be a finite number in"):
        _codes(gen, keep_threshold=1.5)
    with pytest.raises(ValueError, match="keep_threshold must be in"):
        builders[1](sampling={"keep_threshold": -0.1})
