"""Keep still cells (arvideo/still_cells.py): generated cells whose codes did not change (or
whose latents moved by at most a tolerance) show the previous frame's pixels; the batch
call, the stream and the session agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from arvideo.model_folder import save_model_folder
from arvideo.still_cells import LATENT_TOLERANCE, keep_still_cells, unchanged

FRAME, CELL = 16, 4
ACTIONS = np.array([0, 1, 2, 3, 1, 0, 2, 3], dtype=np.int64)


def test_unchanged_cells_copy_the_frame_before_and_changed_ones_the_decode():
    real = torch.full((1, 8, 8, 3), 7, dtype=torch.uint8)
    decoded = torch.stack([torch.full((8, 8, 3), v, dtype=torch.uint8) for v in (1, 2, 3)])[None]
    codes = torch.tensor([[[[5, 5], [5, 5]], [[5, 6], [5, 5]], [[5, 6], [9, 5]]]])  # 1×3×2×2
    out = keep_still_cells(decoded, codes, 1, 4, real)
    assert torch.equal(out[:, 0], decoded[:, 0])  # the context frame is left as decoded
    first = out[0, 1]  # only the top-right cell changed: it shows the decode (2)
    assert (first[:4, 4:] == 2).all() and (first[:4, :4] == 7).all() and (first[4:] == 7).all()
    second = out[0, 2]  # the bottom-left cell changes; the rest is carried from frame 1
    assert (second[4:, :4] == 3).all() and (second[:4, 4:] == 2).all()
    assert (second[:4, :4] == 7).all() and (second[4:, 4:] == 7).all()
    fresh = keep_still_cells(decoded, codes, 0, 4, None)  # no context: the first frame decodes
    assert torch.equal(fresh[:, 0], decoded[:, 0]) and (fresh[0, 1, :4, :4] == 1).all()


def test_every_depth_level_of_a_code_must_match():
    codes = torch.tensor([[[[1, 2]]]])  # B×h×w×depth
    assert unchanged(codes, codes.clone()).all()
    assert not unchanged(codes, torch.tensor([[[[1, 3]]]])).any()


def test_a_latent_is_still_within_the_tolerance():
    previous = torch.zeros(1, 1, 3, 4)  # B×h×w×C: three cells of 4 channels
    moved = torch.tensor([[[[0.1, -0.1, 0.1, -0.1], [0.5, 0.5, 0.5, 0.5], [0, 0, 0, 0.49]]]])
    # RMS over channels: 0.1 (noise: still), 0.5 (a move), 0.245 (just inside 0.25)
    assert unchanged(moved, previous).tolist() == [[[True, False, True]]]
    assert unchanged(moved, previous, tolerance=0.05).tolist() == [[[False, False, False]]]
    assert LATENT_TOLERANCE == 0.25


def test_latent_frames_are_composited_as_codes_are():
    real = torch.full((1, 4, 8, 3), 7, dtype=torch.uint8)
    decoded = torch.stack([torch.full((4, 8, 3), v, dtype=torch.uint8) for v in (1, 2)])[None]
    latents = torch.zeros(1, 2, 1, 2, 3)  # 1×T×h×w×C
    latents[0, 1, 0, 0] += 0.01  # left cell: denoising noise only
    latents[0, 1, 0, 1] += 2.0  # right cell: a real change
    out = keep_still_cells(decoded, latents, 1, 4, real)
    assert (out[0, 1, :, :4] == 7).all() and (out[0, 1, :, 4:] == 2).all()


@pytest.fixture(scope="module")
def latent_cell_gen(tmp_path_factory, builders):
    from arvideo.generate import VideoGenerator
    from arvideo.tokenizer import BottleneckConfig, TokenizerConfig, VideoTokenizer

    _, tiny_lm, tiny_info = builders
    torch.manual_seed(0)
    config = TokenizerConfig(
        widths=(16,), spatial_compression=4, patch_size=4, latent_dim=3, norm_groups=8,
        bottleneck=BottleneckConfig(kind="continuous"), encoder="cell", cell_width=16,
        cell_blocks=1,
    )  # fmt: skip
    lm = tiny_lm(order="next_frame_flow", head="velocity", latent_dim=3, sampling={"steps": 2})
    path = tmp_path_factory.mktemp("models") / "latent_cell"
    save_model_folder(path, VideoTokenizer(config).eval(), lm, tiny_info())
    return VideoGenerator.from_pretrained(path)


def test_a_latent_model_keeps_still_cells_in_every_call(latent_cell_gen):
    gen, context = latent_cell_gen, _frames(2, seed=1)
    options = dict(actions=ACTIONS, seed=3)
    kept = gen(context=context, num_frames=4, progress=False, **options)
    plain = gen(context=context, num_frames=4, progress=False, keep_still_cells=False, **options)
    assert torch.equal(torch.as_tensor(kept.latents), torch.as_tensor(plain.latents))
    latents = torch.as_tensor(kept.latents)
    shown_before = torch.from_numpy(context[-1])
    for t in range(2, 6):
        same = unchanged(latents[:, t], latents[:, t - 1])[0]
        pixels = same.repeat_interleave(CELL, 0).repeat_interleave(CELL, 1)[..., None]
        expected = torch.where(pixels, shown_before, torch.from_numpy(plain.video[0, t]))
        assert torch.equal(torch.from_numpy(kept.video[0, t]), expected), t
        shown_before = expected
    streamed = np.stack(list(gen.stream(context=context, num_frames=4, **options)), axis=1)
    assert np.array_equal(streamed, kept.video[:, 2:])
    session = gen.session(context=context, actions=ACTIONS[:1], seed=3)
    stepped = np.stack([session.step(int(a)) for a in ACTIONS[1:5]])
    assert np.array_equal(stepped, kept.video[0, 2:])


@pytest.fixture(scope="module")
def cell_gen(tmp_path_factory, builders):
    from arvideo.generate import VideoGenerator

    tiny_tokenizer, tiny_lm, tiny_info = builders
    path = tmp_path_factory.mktemp("models") / "cell"
    save_model_folder(path, tiny_tokenizer(encoder="cell"), tiny_lm(), tiny_info())
    return VideoGenerator.from_pretrained(path)


def _frames(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, FRAME, FRAME, 3), dtype=np.uint8)


def test_generated_frames_keep_their_still_cells(cell_gen):
    context = _frames(2, seed=1)
    options = dict(actions=ACTIONS, seed=3, top_k=1)
    kept = cell_gen(context=context, num_frames=5, progress=False, **options)
    plain = cell_gen(
        context=context, num_frames=5, progress=False, keep_still_cells=False, **options
    )
    assert np.array_equal(kept.codes, plain.codes)  # sampling is untouched
    codes = torch.as_tensor(kept.codes)
    shown_before = torch.from_numpy(context[-1])
    still_seen = 0
    for t in range(2, 7):
        same = unchanged(codes[:, t], codes[:, t - 1])[0]
        pixels = same.repeat_interleave(CELL, 0).repeat_interleave(CELL, 1)[..., None]
        frame = torch.from_numpy(kept.video[0, t])
        expected = torch.where(pixels, shown_before, torch.from_numpy(plain.video[0, t]))
        assert torch.equal(frame, expected), t
        still_seen += int(same.sum())
        shown_before = frame
    assert still_seen > 0  # the check above covered copied cells, not only decoded ones
    streamed = np.stack(list(cell_gen.stream(context=context, num_frames=5, **options)), axis=1)
    assert np.array_equal(streamed, kept.video[:, 2:])
    session = cell_gen.session(context=context, actions=ACTIONS[:1], seed=3, top_k=1)
    stepped = np.stack([session.step(int(a)) for a in ACTIONS[1:6]])
    assert np.array_equal(stepped, kept.video[0, 2:])


def test_models_it_does_not_apply_to_refuse_it_by_name(gen, cell_gen):
    context = _frames(1, seed=2)
    with pytest.raises(ValueError, match="conv encoder"):
        gen(context=context, num_frames=1, progress=False, keep_still_cells=True)
    gen(context=context, num_frames=1, progress=False)  # the default: off where it can't apply
    with pytest.raises(TypeError, match="keep_still_cells"):
        cell_gen(context=context, num_frames=1, progress=False, keep_still_cells="yes")
