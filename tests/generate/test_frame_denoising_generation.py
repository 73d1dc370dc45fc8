"""VideoGenerator with the frame-denoising orders (issue 15): next_frame_flow and
diffusion_forcing stream and play sessions equal to the batch call; steps, solver, schedule
and stabilization are arguments with the model's defaults and clear errors; options a model
never reads are refused; full_sequence_flow refuses to stream and makes videos longer than
its clip in overlapping windows whose seams seam_report measures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from arvideo.generate import VideoGenerator
from arvideo.generate_cli import generate as generate_command
from arvideo.model_folder import save_model_folder
from arvideo.seams import seam_report
from arvideo.tokenizer import BottleneckConfig, TokenizerConfig, VideoTokenizer

FRAME = 16
ACTIONS = np.array([0, 2, 3, 1, 4, 5, 2, 3, 0, 1, 2, 3, 4])


def continuous_tokenizer() -> VideoTokenizer:
    torch.manual_seed(0)
    config = TokenizerConfig(
        widths=(16,), spatial_compression=4, patch_size=4, latent_dim=3, norm_groups=8,
        bottleneck=BottleneckConfig(kind="continuous"),
    )  # fmt: skip
    return VideoTokenizer(config).eval()


@pytest.fixture(scope="module")
def denoisers(builders, tmp_path_factory) -> dict[str, VideoGenerator]:
    """One tiny generator per frame-denoising order, defaults: 2 Euler steps."""
    _, tiny_lm, tiny_info = builders
    made = {}
    for order in ("next_frame_flow", "diffusion_forcing", "full_sequence_flow"):
        lm = tiny_lm(order=order, head="velocity", latent_dim=3, sampling=dict(steps=2))
        path = tmp_path_factory.mktemp("denoisers") / order
        save_model_folder(path, continuous_tokenizer(), lm, tiny_info())
        made[order] = VideoGenerator.from_pretrained(path)
    return made


def frames(count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, FRAME, FRAME, 3), dtype=np.uint8)


@pytest.mark.parametrize("order", ["next_frame_flow", "diffusion_forcing"])
def test_stream_and_session_equal_the_batch_call(denoisers, order):
    gen, context = denoisers[order], frames(2, seed=1)
    options = dict(actions=ACTIONS, seed=3, steps=3, solver="heun", stabilization=0.05)
    out = gen(context=context, num_frames=4, progress=False, **options)
    assert out.latents.shape == (1, 6, 4, 4, 3)
    assert out.timings.forward_passes == 1 + 4 * (2 * 3 + 1)  # prefill; Heun steps + commit
    streamed = np.stack(list(gen.stream(context=context, num_frames=4, **options)), axis=1)
    assert np.array_equal(streamed, out.video[:, 2:])
    session = gen.session(context=context, actions=ACTIONS[:1], seed=3, steps=3, solver="heun",
                          stabilization=0.05)  # fmt: skip
    stepped = np.stack([session.step(int(a)) for a in ACTIONS[1:5]])
    assert np.array_equal(stepped, out.video[0, 2:])
    assert session.cache_length == (gen.window_frames + 1) * 16  # the window + the new frame


def test_steps_default_to_the_model_config_and_can_be_changed(denoisers):
    gen = denoisers["next_frame_flow"]
    default = gen(context=frames(1), num_frames=3, progress=False)
    assert default.timings.forward_passes == 1 + 3 * (2 + 1)  # sampling=dict(steps=2)
    four = gen(context=frames(1), num_frames=3, steps=4, progress=False)
    assert four.timings.forward_passes == 1 + 3 * (4 + 1)
    assert not np.array_equal(four.video, default.video)
    pyramid = gen(context=frames(1), num_frames=3, schedule="pyramid", uncertainty=1,
                  progress=False)  # fmt: skip
    assert pyramid.timings.forward_passes == 2 + 2  # whole clip: steps + stagger rows
    with pytest.raises(ValueError, match="schedule='pyramid' denoises several frames"):
        next(gen.stream(context=frames(1), num_frames=3, schedule="pyramid"))


@pytest.mark.parametrize(
    ("order", "options", "message"),
    [
        ("next_frame_flow", dict(steps=0), r"steps must be in \[1, 10001\)"),
        ("next_frame_flow", dict(steps=2.5), "steps must be an int"),
        ("next_frame_flow", dict(solver="rk4"), "solver must be one of"),
        ("next_frame_flow", dict(schedule="zigzag"), "schedule must be one of"),
        ("next_frame_flow", dict(stabilization=1.0), "stabilization must be below 1"),
        ("next_frame_flow", dict(stabilization=-0.1), "stabilization must be a finite"),
        ("next_frame_flow", dict(uncertainty=-1), r"uncertainty must be in \[0, 10001\)"),
        ("next_frame_flow", dict(overlap=1), r"\['overlap'\] do not apply"),
        ("full_sequence_flow", dict(overlap=4), r"overlap must be in \[1, 4\)"),
        ("categorical", dict(steps=4), r"\['steps'\] do not apply"),
        ("categorical", dict(stabilization=0.1, solver="heun"), "'solver', 'stabilization'"),
        ("full_sequence_flow", dict(compile=True), r"\['compile'\] do not apply"),
        ("categorical", dict(compile=1), "compile must be True or False"),
    ],
)
def test_bad_or_inapplicable_sampling_options_are_refused(denoisers, gen, order, options, message):
    model = gen if order == "categorical" else denoisers[order]
    with pytest.raises((ValueError, TypeError), match=message):
        model(context=frames(1), num_frames=1, progress=False, **options)


def test_a_model_config_with_settings_it_never_reads_is_refused(builders):
    _, tiny_lm, _ = builders
    with pytest.raises(ValueError, match=r"sampling sets \['stabilization'\]"):
        tiny_lm(sampling=dict(stabilization=0.1))
    with pytest.raises(ValueError, match="unknown keys"):
        tiny_lm(order="diffusion_forcing", head="velocity", latent_dim=3, sampling=dict(step=2))
    with pytest.raises(ValueError, match="stabilization must be in"):
        tiny_lm(order="diffusion_forcing", head="velocity", latent_dim=3,
                sampling=dict(stabilization=2.0))  # fmt: skip


def test_full_sequence_flow_tiles_past_its_clip_and_refuses_to_stream(denoisers):
    gen = denoisers["full_sequence_flow"]  # clip: 4 latent frames
    with pytest.raises(ValueError, match=r"cannot stream \(full attention"):
        gen.session(context=frames(1))
    out = gen(context=frames(1), actions=ACTIONS, num_frames=11, overlap=2, progress=False)
    assert out.video.shape == (1, 12, FRAME, FRAME, 3)  # 3 clips of 4 frames
    assert out.seams == [4, 6, 8, 10]  # windows of 4 sharing 2 frames: 2 new each
    report = seam_report(out.clip(0), out.seams)
    assert report.seams == 4 and report.within_pairs == 7
    assert np.isfinite(report.boundary_psnr_db) and np.isfinite(report.within_psnr_db)
    short = gen(context=frames(1), num_frames=3, progress=False)  # one clip: one window
    assert short.seams == [] and short.video.shape[1] == 4


def test_seam_report_sees_a_jump_at_a_seam():
    ramp = np.repeat(np.arange(0, 80, 10, dtype=np.uint8)[:, None, None, None], 4, axis=1)
    video = np.broadcast_to(ramp, (8, 4, 4, 3)).copy()
    smooth = seam_report(video, [4])
    assert abs(smooth.jump_db) < 1e-4  # the same step everywhere: no seam
    video[4:] += 40
    jumped = seam_report(video, [4])
    assert jumped.jump_db > 10 and jumped.within_psnr_db == pytest.approx(smooth.within_psnr_db)
    with pytest.raises(ValueError, match="seams must be frame indices"):
        seam_report(video, [8])


def test_generate_command_takes_denoising_options(denoisers, tmp_path):
    folder = tmp_path / "nff"
    gen = denoisers["next_frame_flow"]
    save_model_folder(folder, gen.tokenizer, gen.lm, gen.info)
    summary = generate_command(
        str(folder), num_frames=3, out=str(tmp_path / "out.gif"), steps=1, solver="heun",
        stabilization=0.1, progress=False,
    )  # fmt: skip
    assert summary.frames == 3 and (tmp_path / "out.gif").exists()
    with pytest.raises(ValueError, match="stabilization must be below 1"):
        generate_command(str(folder), num_frames=1, out=str(tmp_path / "b.gif"),
                         stabilization=1.0, progress=False)  # fmt: skip


def test_a_play_session_starts_at_the_model_default_steps(denoisers):
    """`arvideo serve` leaves steps unset: play starts at the model's own default (2 here),
    not at a fixed 25; a player's setting still wins."""
    from arvideo.serve.context import StartClip
    from arvideo.serve.play_session import PlaySession, PlaySettings

    gen, context = denoisers["next_frame_flow"], frames(2, seed=4)
    start = StartClip(frames_THWC=context, actions_T=ACTIONS[:2], source="test")
    play = PlaySession(gen, start, PlaySettings())
    assert play.settings.steps == 2
    play.reset()
    played = play.step(int(ACTIONS[1])).frame_HWC

    def direct(steps: int) -> np.ndarray:
        session = gen.session(context=context, actions=ACTIONS[:1], seed=0, steps=steps)
        return session.step(int(ACTIONS[1]))

    assert np.array_equal(played, direct(2))
    assert not np.array_equal(played, direct(25))
    chosen = PlaySession(gen, start, PlaySettings(steps=5))
    chosen.reset()
    assert np.array_equal(chosen.step(int(ACTIONS[1])).frame_HWC, direct(5))


def test_a_compiled_play_session_plays_the_same_frames(denoisers, monkeypatch):
    """`arvideo serve --compile` reaches the play page's sessions: the slot-cache step (run
    eagerly here; tests/lm/test_slot_cache.py compiles it) shows the same frames."""
    from arvideo.lm.transformer import Transformer
    from arvideo.serve.context import StartClip
    from arvideo.serve.play_session import PlaySession, PlaySettings

    monkeypatch.setattr(Transformer, "_compiled_slot_body", lambda self: self._slot_body)
    calls = []
    original = Transformer.slot_step
    monkeypatch.setattr(
        Transformer, "slot_step", lambda *a, **k: calls.append(1) or original(*a, **k)
    )
    gen, context = denoisers["next_frame_flow"], frames(2, seed=4)
    start = StartClip(frames_THWC=context, actions_T=ACTIONS[:2], source="test")
    shown = []
    for compile in (False, True):
        play = PlaySession(gen, start, PlaySettings(compile=compile))
        play.reset()
        shown.append([play.step(int(a)).frame_HWC for a in ACTIONS[1:3]])
        assert bool(calls) == compile
    assert all(np.array_equal(a, b) for a, b in zip(*shown))
    from arvideo.serve.cli import warm_up

    calls.clear()  # `serve --compile` plays two steps before serving: graphs made up front
    assert warm_up(gen, start, PlaySettings(compile=True)) > 0 and len(calls) >= 2
