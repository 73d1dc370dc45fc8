"""VideoGenerator: fresh-process round trip, stream/session == batch call, long sessions at
constant cost, every documented input error, and readable mp4/gif output."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from arvideo.generate import GenerationOutput
from arvideo.video_io import read_video

FRAME = 16  # the fixture model's frame size (conftest.py)


def random_frames(frames: int, batch: int | None = None, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (frames, FRAME, FRAME, 3) if batch is None else (batch, frames, FRAME, FRAME, 3)
    return rng.integers(0, 256, shape, dtype=np.uint8)


ACTIONS = np.array([0, 2, 3, 1, 4, 5, 2, 3, 0, 1])

FRESH = """
import sys, numpy as np
from arvideo import VideoGenerator
gen = VideoGenerator.from_pretrained(sys.argv[1])
context = np.load(sys.argv[2])
out = gen(context=context, actions=np.load(sys.argv[3]), num_frames=5, seed=11, progress=False)
np.save(sys.argv[4], out.video)
"""


def test_fresh_process_gives_identical_seeded_output(gen, model_dir, tmp_path):
    context = random_frames(2)
    out = gen(context=context, actions=ACTIONS, num_frames=5, seed=11, progress=False)
    assert isinstance(out, GenerationOutput)
    assert out.video.shape == (1, 7, FRAME, FRAME, 3) and out.video.dtype == np.uint8
    assert out.context_frames == 2 and out.codes.shape == (1, 7, 4, 4)
    assert out.timings.forward_passes == 1 + 5 and out.timings.ms_per_frame > 0
    np.save(tmp_path / "context.npy", context)
    np.save(tmp_path / "actions.npy", ACTIONS)
    args = [model_dir, tmp_path / "context.npy", tmp_path / "actions.npy", tmp_path / "v.npy"]
    subprocess.run([sys.executable, "-c", FRESH, *map(str, args)], check=True, timeout=120)
    assert np.array_equal(np.load(tmp_path / "v.npy", allow_pickle=False), out.video)
    other = gen(context=context, actions=ACTIONS, num_frames=5, seed=12, progress=False)
    assert not np.array_equal(other.video, out.video)  # the seed matters


def test_stream_and_session_agree_with_the_batch_call(gen):
    context = random_frames(2, seed=1)
    options = dict(actions=ACTIONS, seed=3, temperature=0.9, top_k=20)
    out = gen(context=context, num_frames=6, progress=False, **options)
    streamed = np.stack(list(gen.stream(context=context, num_frames=6, **options)), axis=1)
    assert np.array_equal(streamed, out.video[:, 2:])
    session = gen.session(context=context, actions=ACTIONS[:1], seed=3, temperature=0.9, top_k=20)
    stepped = np.stack([session.step(int(a)) for a in ACTIONS[1:7]])
    assert np.array_equal(stepped, out.video[0, 2:])


def test_batch_and_guidance(gen):
    context = random_frames(2, batch=2, seed=2)
    actions = np.stack([ACTIONS, ACTIONS[::-1]])
    out = gen(context=context, actions=actions, num_frames=3, cfg_scale=2.0, progress=False)
    assert out.video.shape == (2, 5, FRAME, FRAME, 3)
    streamed = np.stack(
        list(gen.stream(context=context, actions=actions, num_frames=3, cfg_scale=2.0)), 1
    )
    assert np.array_equal(streamed, out.video[:, 2:])
    unconditional = gen(num_frames=3, batch_size=2, seed=1, progress=False)
    assert unconditional.video.shape == (2, 3, FRAME, FRAME, 3)
    assert unconditional.context_frames == 0


def test_long_session_has_bounded_cache_and_steady_step_time(gen):
    session = gen.session(context=random_frames(1, seed=4), seed=0)
    lengths, seconds = [], []
    for step in range(500):
        start = time.perf_counter()
        frame = session.step(step % 6)
        seconds.append(time.perf_counter() - start)
        lengths.append(session.cache_length)
    assert frame.shape == (FRAME, FRAME, 3) and frame.dtype == np.uint8
    tokens_per_frame = 16
    assert max(lengths) == (gen.window_frames + 1) * tokens_per_frame
    assert lengths[10:] == [lengths[10]] * 490  # constant once the window is full
    assert len(session._run.stream.session._rows) <= gen.window_frames + 2
    early, late = np.median(seconds[20:120]), np.median(seconds[-100:])
    assert late < 2.5 * early, (early, late)  # loose: the machine is shared


BAD_INPUTS = [
    (dict(context=random_frames(2).astype(np.float32)), "context"),
    (dict(context=random_frames(2)[:, :8]), "context"),
    (dict(context=random_frames(2)[..., :2]), "context"),
    (dict(context=random_frames(4)), "window"),
    (dict(context=random_frames(2), actions=np.array([0, 6, 1, 1, 1])), "actions"),
    (dict(context=random_frames(2), actions=np.array([0, -1, 1, 1, 1])), "actions"),
    (dict(context=random_frames(2), actions=np.array([0, 1])), "actions"),
    (dict(context=random_frames(2), actions=np.array([0.5, 1, 1, 1, 1])), "actions"),
    (dict(context=random_frames(2), text="a red square"), "text"),
    (dict(context=random_frames(2), label=1), "label"),
    (dict(context=random_frames(2), num_frames=0), "num_frames"),
    (dict(context=random_frames(2), num_frames=-3), "num_frames"),
    (dict(context=random_frames(2, batch=2), batch_size=3), "batch"),
    (dict(context=random_frames(2), colour=True), "unknown options"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD_INPUTS)
def test_bad_inputs_raise_errors_naming_the_argument(gen, kwargs, message):
    kwargs = {"num_frames": 3, **kwargs}
    error = TypeError if message == "unknown options" else ValueError
    with pytest.raises(error, match=message):
        gen(progress=False, **kwargs)


def test_session_rejects_actions_outside_the_action_space(gen):
    session = gen.session(context=random_frames(1))
    with pytest.raises(ValueError, match="action"):
        session.step(6)


@pytest.mark.parametrize("suffix", ["mp4", "gif"])
def test_saved_files_read_back(gen, tmp_path, suffix):
    context = random_frames(2, seed=5)
    out = gen(context=context, actions=ACTIONS, num_frames=4, progress=False)
    alone = read_video(out.save(tmp_path / f"out.{suffix}"))
    assert alone.frames_THWC.shape == (6, FRAME, FRAME, 3)
    truth = random_frames(5, seed=6)  # shorter than the video: padded black
    grid = read_video(out.save(tmp_path / f"grid.{suffix}", truth=truth))
    assert grid.frames_THWC.shape == (6, FRAME, 2 * FRAME, 3)
    assert grid.frames_THWC[-1, :, :FRAME].max() < 40  # the padding is black
    # lossy (h264 on noise, a 256-colour palette), but each half is nearer its source
    right, left = (grid.frames_THWC[:5, :, s].astype(int) for s in (np.s_[FRAME:], np.s_[:FRAME]))
    video = out.clip(0)[:5].astype(int)
    assert np.abs(right - video).mean() < np.abs(right - truth).mean()
    assert np.abs(left - truth).mean() < np.abs(left - video).mean()
    with pytest.raises(ValueError, match="truth"):
        out.save(tmp_path / f"bad.{suffix}", truth=random_frames(9))


def test_to_device_keeps_cpu_working(gen):
    assert gen.to(torch.device("cpu")) is gen
    assert gen(num_frames=1, progress=False).video.shape == (1, 1, FRAME, FRAME, 3)
