"""The paradigm benchmark: unit tests of its metrics (action-following, copy-last-frame
baseline, episode stitching, diversity) and one smoke run on the `pong_dir` fixture that
trains the debug tokenizers and writes md / json / png with every paradigm row (the six
token paradigms and the three frame denoisers) (loading
trained tokenizers: test_paradigm_tokenizers.py)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from arvideo.bench.paradigms.episodes import EpisodeSet, _stitch, evaluation_windows
from arvideo.bench.paradigms.frame_order import ClassifierConfig, FrameOrderNet, order_fd
from arvideo.bench.paradigms.report import (
    MAIN_COLUMNS,
    NULL_COLUMNS,
    classifier_line,
    shown_columns,
)
from arvideo.bench.paradigms.rollout_eval import (
    DirectionConfig,
    action_directions,
    action_following,
    copy_last_frame,
    episode_directions,
    horizon_scores,
    paddle_rows,
    seed_diversity,
)
from arvideo.lm.model import VideoLM
from arvideo.pong_objects import BACKGROUND_RGB, OBJECT_RGB
from arvideo.video_io import read_video

UP, DOWN, NOOP = 0, 1, 2


def pong_frames(rows: list[int], size: int = 64) -> np.ndarray:
    """T×size×size×3 frames: Pong background with the agent's paddle at the given top rows."""
    frames = np.empty((len(rows), size, size, 3), dtype=np.uint8)
    frames[:] = BACKGROUND_RGB
    for t, row in enumerate(rows):
        frames[t, row : row + 5, 56:58] = OBJECT_RGB["right_paddle"]
    return frames


def test_paddle_rows_follow_the_drawn_paddle():
    rows = paddle_rows(pong_frames([20, 24, 28])[None])
    np.testing.assert_allclose(rows[0] - rows[0, 0], [0, 4, 8], atol=1e-4)


def test_action_directions_are_learned_from_real_motion():
    rows = np.array([[20, 18, 16, 18, 20, 20, 20, 20, 20, 20]], dtype=float)
    actions = np.array([[UP, UP, DOWN, DOWN, NOOP, NOOP, NOOP, NOOP, NOOP, NOOP]])
    directions = action_directions(rows, actions, 3, DirectionConfig(min_count=2))
    assert directions.tolist() == [-1, 1, 0]
    rare = action_directions(rows, actions, 3, DirectionConfig(min_count=3))
    assert rare.tolist() == [0, 0, 0]  # two samples are not enough evidence
    # whole episodes of different lengths: UP moves up, DOWN down, NOOP stays
    episodes = [pong_frames([30, 27, 24, 21, 21, 21]), pong_frames([20, 23, 26, 26, 26])]
    actions = [np.array([UP, UP, UP, NOOP, NOOP, 0]), np.array([DOWN, DOWN, NOOP, NOOP, 0])]
    config = DirectionConfig(min_count=2)
    assert episode_directions(episodes, actions, 3, config).tolist() == [-1, 1, 0]


def test_action_following_scores_agreement_with_the_action():
    directions = np.array([-1, 1, 0])
    actions = np.array([[UP, UP, DOWN, NOOP]])
    obeys = paddle_rows(pong_frames([30, 26, 22, 26, 26])[None])
    assert action_following(obeys, actions, directions) == 1.0
    disobeys = paddle_rows(pong_frames([30, 34, 38, 34, 34])[None])
    assert action_following(disobeys, actions, directions) == 0.0
    half = paddle_rows(pong_frames([30, 26, 26, 30, 30])[None])  # second UP: no motion
    assert action_following(half, actions, directions) == pytest.approx(2 / 3)
    missing = obeys.copy()
    missing[0, 1] = np.nan  # paddle not found: both transitions around it disagree
    assert action_following(missing, actions, directions) == pytest.approx(1 / 3)
    assert math.isnan(action_following(obeys, np.array([[NOOP] * 4]), directions))


def test_copy_last_frame_baseline():
    context = torch.rand(2, 3, 4, 16, 16) * 2 - 1
    copy = copy_last_frame(context, 5)
    assert copy.shape == (2, 3, 5, 16, 16)
    assert torch.equal(copy[:, :, 3], context[:, :, -1])
    # a static clip is predicted perfectly, a moving one is not
    static = context[:, :, -1:].expand(-1, -1, 5, -1, -1)
    background = torch.zeros(3, 16, 16)
    perfect = horizon_scores(static, copy, background)
    assert all(p == 100.0 for p in perfect.psnr)  # inf capped at 100 dB
    assert perfect.ssim == pytest.approx([1.0] * 5, abs=1e-5)
    moving = horizon_scores(torch.rand(2, 3, 5, 16, 16) * 2 - 1, copy, background)
    assert max(moving.psnr) < 20
    with pytest.raises(ValueError, match="horizon"):
        copy_last_frame(context, 0)


def test_copy_last_frame_scores_game_state_per_step():
    frames = torch.from_numpy(pong_frames([10, 14, 18, 22, 26])).permute(3, 0, 1, 2)[None]
    copy = copy_last_frame(frames[:, :, :1], 4)
    scores = horizon_scores(
        frames[:, :, 1:],
        copy,
        torch.tensor(BACKGROUND_RGB)[:, None, None].expand(3, 64, 64).to(torch.uint8),
    )
    np.testing.assert_allclose(scores.position_error_px["right_paddle"], [4, 8, 12, 16], atol=0.5)
    assert scores.visible_agreement["right_paddle"] == [1.0] * 4


def test_episode_stitching_and_windows():
    frames = np.arange(20, dtype=np.uint8)[:, None, None, None].repeat(3, -1)
    frames = np.broadcast_to(frames, (20, 2, 2, 3))
    pieces = [(s, frames[s : s + 8], np.arange(s, s + 8)) for s in (0, 4, 8, 12)]  # overlaps
    stitched, actions = _stitch(pieces)
    assert np.array_equal(stitched[:, 0, 0, 0], np.arange(20))
    assert np.array_equal(actions, np.arange(20))
    gap, _ = _stitch([pieces[0], (16, frames[12:20], np.arange(8))])
    assert len(gap) == 8  # a gap ends the episode
    windows = evaluation_windows(EpisodeSet([stitched], [actions], [0]), 6, 2)
    assert windows.video_BCTHW.shape == (2, 3, 6, 2, 2)
    assert windows.actions_BT[:, 0].tolist() == [0, 12]
    with pytest.warns(RuntimeWarning, match="5 windows of 6 frames asked for; .* only 3"):
        fewer = evaluation_windows(EpisodeSet([stitched], [actions], [0]), 6, 5)
    assert fewer.actions_BT[:, 0].tolist() == [0, 6, 12]


def test_window_spread_is_between_windows_not_seeds():
    from arvideo.bench.paradigms.rollout_eval import window_spread

    same = torch.full((3, 4, 5), 30.0)  # 3 seeds, 4 windows, 5 steps
    assert window_spread(same) == 0.0
    windows = torch.tensor([20.0, 30.0, 40.0, 50.0])[None, :, None].expand(3, 4, 5)
    expected = 1.96 * windows[0, :, 0].std().item() / 2  # sqrt(4) windows
    assert window_spread(windows) == pytest.approx(expected)
    assert window_spread(torch.full((3, 1, 5), 30.0)) is None  # one window: no spread
    assert window_spread(torch.full((1, 2, 3), float("inf"))) == 0.0  # perfect frames capped


def test_diversity_and_order_fd():
    video = torch.rand(1, 2, 3, 4, 64, 64) * 2 - 1
    assert seed_diversity(video.expand(3, -1, -1, -1, -1, -1)) == 0.0
    assert seed_diversity(torch.rand(3, 2, 3, 4, 8, 8)) > 0.1
    assert math.isnan(seed_diversity(video))
    torch.manual_seed(0)
    net = FrameOrderNet(ClassifierConfig(width=8, features=4)).eval()
    clips = torch.rand(4, 3, 4, 64, 64) * 2 - 1
    assert order_fd(net, clips, clips) == pytest.approx(0.0, abs=1e-6)
    assert order_fd(net, clips, -clips) > 0
    # in units of the real features' spread: scaling the network's last layer changes nothing
    before = order_fd(net, clips, clips.flip(2))
    with torch.no_grad():
        net.body[-2].weight.mul_(1e-3), net.body[-2].bias.mul_(1e-3)
    assert order_fd(net, clips, clips.flip(2)) == pytest.approx(before, rel=0.05)


def test_order_fd_column_only_beside_a_classifier_that_learnt():
    learnt = {"task": "frame order", "held_out_accuracy": 0.97, "held_out_examples": 1400,
              "train_accuracy": 0.95, "chance": 0.5, "steps": 200}  # fmt: skip
    at_chance = {**learnt, "held_out_accuracy": 0.55}
    assert "order_fd" in [c.key for c in shown_columns(MAIN_COLUMNS, learnt)]
    assert "order_fd" not in [c.key for c in shown_columns(NULL_COLUMNS, at_chance)]
    assert "held-out accuracy 0.97 on 1400 examples" in classifier_line(learnt)
    assert "chance 0.50" in classifier_line(learnt) and "dropped" not in classifier_line(learnt)
    assert "Near chance" in classifier_line(at_chance) and "dropped" in classifier_line(at_chance)


@pytest.mark.slow
def test_each_paradigm_loads_every_tokenizer_it_reads():
    """A split run of next_scale × diffusion alone needs msvq's scales beside its continuous
    latents; order_options refuses it without them."""
    from arvideo.bench.paradigms.budget import PARADIGMS
    from arvideo.bench.paradigms.models import order_options

    kinds = {p.name: p.tokenizer_kinds for p in PARADIGMS}
    assert kinds["next_scale × diffusion"] == {"continuous", "msvq"}
    assert kinds["next_scale × categorical"] == {"msvq"}
    assert kinds["next_block × categorical"] == {"vq"}
    assert kinds["diffusion_forcing × velocity"] == {"continuous"}
    alone = next(p for p in PARADIGMS if p.name == "next_scale × diffusion")
    with pytest.raises(ValueError, match="msvq tokenizer"):
        order_options(alone, None)


def test_smoke_budget_writes_every_paradigm(pong_dir, tmp_path, monkeypatch, capsys):
    from arvideo.bench.paradigms import run as paradigms
    from arvideo.bench.paradigms.run import bench_paradigms

    # one paradigm crashes: it is reported as failed, the others still run, and the rows
    # so far are saved after each paradigm
    run_paradigm, save, saved_rows = paradigms.run_paradigm, paradigms.write_json, []

    def crash_one(bench, paradigm, *args):
        if paradigm.name == "next_block × diffusion":
            raise RuntimeError("injected")
        return run_paradigm(bench, paradigm, *args)

    def save_partial(path, result):
        save(path, result)
        assert path.name == paradigms.PARTIAL_NAME
        saved_rows.append(len(json.loads(path.read_text())["paradigms"]))

    monkeypatch.setattr(paradigms, "run_paradigm", crash_one)
    monkeypatch.setattr(paradigms, "write_json", save_partial)
    out = tmp_path / "results"
    result = bench_paradigms(
        budget="smoke", data=str(pong_dir), out=str(out), work_dir=str(tmp_path / "work"),
        threads=1,
    )  # fmt: skip
    for name in ("paradigms.md", "paradigms.json", "paradigms_psnr.png", "paradigms_speed.png"):
        assert (out / name).stat().st_size > 0, name
    saved = json.loads((out / "paradigms.json").read_text())
    markdown = (out / "paradigms.md").read_text()
    names = [f"{o} × {h}" for o in ("next_token", "next_block", "next_scale")
             for h in ("categorical", "diffusion")]  # fmt: skip
    names += [
        f"{o} × velocity" for o in ("full_sequence_flow", "next_frame_flow", "diffusion_forcing")
    ]
    assert [row["paradigm"] for row in saved["paradigms"]] == names
    for row in result["paradigms"]:
        assert row["paradigm"] in markdown
        if row["paradigm"] == "next_block × diffusion":
            assert row["status"] == "failed: RuntimeError('injected')"
            continue
        assert row["status"] == "ok", row
        assert row["train_steps"] == 2 and row["train_tokens_per_s"] > 0
        # the generator is saved for scoring again: it loads, with the run's parameter count
        saved_model = tmp_path / "work" / "runs" / f"{row['order']}_{row['head']}" / "model"
        loaded = VideoLM.from_pretrained(saved_model)
        assert sum(p.numel() for p in loaded.parameters()) == row["params"]
        for mode in ("actions", "no_actions"):
            metrics = row[mode]
            for key in ("psnr", "ssim", "order_fd", "diversity", "ms_per_frame"):
                assert math.isfinite(metrics[key]), (row["paradigm"], mode, key)
            assert len(metrics["psnr_by_step"]) == 3
        # long rollouts: 6 frames after 2, past the 5-frame training clip, for every order
        long = row["long"]
        assert long["status"] == "ok", (row["paradigm"], long)
        assert long["windows"] == 2 and len(long["psnr_by_step"]) == 6
        assert all(math.isfinite(v) for v in long["psnr_by_step"]), row["paradigm"]
        # full_sequence_flow tiles past its clip: its seams measured, beside the truth's
        tiles = row["order"] == "full_sequence_flow"
        assert ("seam" in long) == tiles, row["paradigm"]
        if tiles:
            assert long["seam"]["seams"] and math.isfinite(long["seam"]["truth_jump_db"])
            assert f"Seams of {row['paradigm']}" in markdown
    baseline = result["baseline"]["actions"]
    assert math.isfinite(baseline["psnr"]) and baseline["diversity"] == 0.0
    assert len(result["baseline"]["long"]["psnr_by_step"]) == 6
    assert "## Long rollouts: who drifts" in markdown and "fg PSNR h6" in markdown
    assert "## Foreground PSNR dB per horizon step" in markdown and "fg ± 95%" in markdown
    assert 0 <= baseline["agent_paddle_within_1px"] <= 1 and baseline["foreground_psnr_ci95"] > 0
    ball_spread = baseline["ball_within_2px_ci95"]  # None where under two windows show a ball
    assert (ball_spread is None or ball_spread >= 0) and "ball ± 95%" in markdown
    assert {t["tokenizer"] for t in result["tokenizers"]} <= {"vq", "msvq", "continuous"}
    for row in result["tokenizers"]:  # trained here with the tokenizer benchmark's recipe
        kind = row["tokenizer"]
        assert row["steps"] == 2 and f"from debug_{kind}.yaml" in row["source"]
        assert (tmp_path / "work" / "tokenizers" / kind / "tokenizer" / "config.json").is_file()
        assert 0 <= row["still_kept"] <= 1 and row["codes_per_patch"] >= 1
    assert result["settings"]["tokenizers"] == "trained here"
    assert "still cells keep" in markdown
    assert "copy last frame" in markdown and "Command:" in markdown
    # 4 steps: the classifier rarely learns; the column is shown only if it did
    classifier = result["classifier"]
    assert classifier["steps"] == 4 and classifier["chance"] == 0.5
    learnt = classifier["held_out_accuracy"] >= 0.6
    assert ("order FD ↓" in markdown) == learnt != ("order FD column is dropped" in markdown)
    assert "Order FD's classifier (frame order: 3 frames" in markdown
    assert saved_rows == list(range(1, 10)) and not (out / paradigms.PARTIAL_NAME).exists()
    # a sample GIF per paradigm that ran: 2 windows, truth | rollout, context + horizon frames
    samples = sorted(p.stem for p in (out / "samples").glob("*.gif"))
    assert len(samples) == 8 and "next_block_diffusion" not in samples
    sample = read_video(out / "samples" / "next_block_categorical.gif").frames_THWC
    assert sample.shape == (5, 64, 4 * 64, 3)
    log = capsys.readouterr().err
    assert "[6/9] next_scale × diffusion: 2 steps" in log and "RuntimeError: injected" in log
    assert "[9/9] diffusion_forcing × velocity: 2 steps" in log

    # a split run joined: two of those rows reused (nothing trained), a failed one trained
    monkeypatch.setattr(paradigms, "run_paradigm", lambda *args: pytest.fail("trained"))
    chosen = ["next_token_categorical", "diffusion_forcing × velocity"]
    joined = bench_paradigms(
        budget="smoke", data=str(pong_dir), out=str(tmp_path / "joined"),
        work_dir=str(tmp_path / "work2"), threads=1, paradigms=chosen,
        reuse=[str(out / "paradigms.json")],
    )  # fmt: skip
    rows = {row["paradigm"]: row for row in result["paradigms"]}
    for row in joined["paradigms"]:
        assert row["reused_from"] == str(out / "paradigms.json")
        assert row["actions"]["psnr"] == rows[row["paradigm"]]["actions"]["psnr"]
    assert [row["paradigm"] for row in joined["paradigms"]] == [names[0], names[-1]]
    assert joined["baseline"]["actions"]["psnr"] == baseline["psnr"]  # re-measured, the same
    carried = sorted(p.name for p in (tmp_path / "joined" / "samples").glob("*.gif"))
    assert carried == ["diffusion_forcing_velocity.gif", "next_token_categorical.gif"]
    with pytest.raises(ValueError, match="seed: 0 there, 1 here"):
        bench_paradigms(
            budget="smoke", data=str(pong_dir), out=str(tmp_path / "other"), seed=1,
            paradigms=chosen, reuse=[str(out / "paradigms.json")],
        )  # fmt: skip

    # the same join from the results files alone, with no data: the first file wins a row,
    # the paradigms keep the benchmark's order, and other references are refused
    from arvideo.bench.paradigms.join import join_paradigm_results

    newer = json.loads((out / "paradigms.json").read_text())
    newer["paradigms"] = [{**newer["paradigms"][-1], "train_steps": 99}]
    files = [str(tmp_path / "newer.json"), str(out / "paradigms.json")]
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    alone = join_paradigm_results(files, str(tmp_path / "alone"))
    finished = [row["paradigm"] for row in saved["paradigms"] if row["status"] == "ok"]
    assert [row["paradigm"] for row in alone["paradigms"]] == finished
    assert alone["paradigms"][-1]["train_steps"] == 99
    assert alone["paradigms"][0]["reused_from"] == files[1]
    assert alone["joined_from"] == files and alone["baseline"] == saved["baseline"]
    joined_md = (tmp_path / "alone" / "paradigms.md").read_text()
    assert f"- `{files[0]}`: diffusion_forcing × velocity" in joined_md
    assert len(list((tmp_path / "alone" / "samples").glob("*.gif"))) == 7  # newer.json has none
    newer["baseline"]["actions"]["psnr"] += 1.0
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    with pytest.raises(ValueError, match="different baseline rows"):
        join_paradigm_results(files[::-1], str(tmp_path / "refused"))
