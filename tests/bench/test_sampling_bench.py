"""`arvideo bench sampling`: settings from a grid, the choice/report split by episode, the
chosen default written into the model folder, resuming a stopped run, and clear errors."""

from __future__ import annotations

import json

import pytest

from arvideo.bench.sampling import bench_sampling, grid_settings, split_episodes
from arvideo.model_folder import save_model_folder
from arvideo.testing import tiny_info, tiny_lm, tiny_tokenizer


@pytest.fixture(scope="module")
def two_val_episodes(tmp_path_factory, pong_args):
    """4 short Pong episodes, 2 of them held out (the bench splits the val episodes)."""
    from arvideo.data.atari import collect_atari

    out = tmp_path_factory.mktemp("pong4") / "pong"
    collect_atari(out=str(out), **{**pong_args, "episodes": 4, "max_steps_per_episode": 60,
                                   "val_fraction": 0.5})  # fmt: skip
    return out


@pytest.fixture
def model(tmp_path):
    """A random tiny model of 64x64 Pong frames (the bench is tested, not the samples)."""
    path = tmp_path / "model"
    save_model_folder(path, tiny_tokenizer(spatial=16), tiny_lm(), tiny_info(frame_size=(64, 64)))
    return path


def test_grid_settings_collapse_greedy_and_drop_duplicates():
    settings = grid_settings({"temperature": [0.5, 1.0], "top_k": [1, 4, None]})
    assert settings == [
        {"top_k": 1}, {"temperature": 0.5, "top_k": 4}, {"temperature": 0.5, "top_k": None},
        {"temperature": 1.0, "top_k": 4}, {"temperature": 1.0, "top_k": None},
    ]  # fmt: skip


def test_split_needs_two_episodes():
    from arvideo.bench.paradigms.episodes import EpisodeSet

    one = EpisodeSet(frames=[None], actions=[None], episode_ids=[7])
    with pytest.raises(ValueError, match="holds 1 episode"):
        split_episodes(one)
    choice, report = split_episodes(EpisodeSet([1, 2, 3], [4, 5, 6], [10, 11, 12]))
    assert choice.episode_ids == [10] and report.episode_ids == [11, 12]


def test_bench_chooses_on_one_half_reports_on_the_other_and_writes(
    model, two_val_episodes, tmp_path
):  # noqa: E501
    out = tmp_path / "out"
    grid = {"temperature": [0.5, 1.0], "top_k": [1, None], "change_threshold": [0.0]}
    bench_sampling(str(model), str(two_val_episodes), grid=grid, seeds=2, windows=2,
                   context=2, horizon=2, write=True, out=str(out))  # fmt: skip
    data = json.loads((out / "sampling.json").read_text())
    assert set(data["choice_episodes"]).isdisjoint(data["report_episodes"])
    for score in data["choice"]:  # the horizon steps, beside copy-last's
        assert len(score["foreground_psnr_by_step_db"]) == 2
        assert len(score["copy_last_foreground_psnr_by_step_db"]) == 2
    choice = {
        json.dumps({k: v for k, v in s["setting"].items() if k != "change_threshold"},
                   sort_keys=True): s
        for s in data["choice"]
    }  # fmt: skip
    assert len(choice) == 3  # greedy once, two stochastic settings
    assert choice['{"top_k": 1}']["seeds"] == 1
    assert all(s["seeds"] == 2 for key, s in choice.items() if key != '{"top_k": 1}')
    best = max(data["choice"], key=lambda s: s["foreground_psnr_db"])
    assert data["chosen"] == best["setting"]
    assert set(data["report"]) == {"chosen", "saved default", "greedy"}
    saved = json.loads((model / "generator" / "config.json").read_text())["sampling"]
    assert saved == data["chosen"]
    assert not (out / "sampling.partial.json").exists()
    for score in data["choice"]:  # per-window scores for the paired columns
        assert len(score["window_foreground_psnr_db"]) == 2
    markdown = (out / "sampling.md").read_text()
    assert "Report half" in markdown and "each row minus **top_k 1**" in markdown


def _score(setting, fg, shown=None, hits=None):
    from arvideo.bench.sampling import SettingScore

    return SettingScore(
        setting=setting, seeds=1, foreground_psnr_db=0.0, foreground_psnr_min_db=0.0,
        foreground_psnr_max_db=0.0, copy_last_foreground_psnr_db=0.0, psnr_db=0.0,
        ball_within_2px=None, agent_paddle_within_1px=None, window_foreground_psnr_db=fg,
        window_ball_shown=shown, window_ball_hits=hits,
    )  # fmt: skip


def test_paired_columns_difference_the_same_windows():
    from arvideo.bench.sampling_report import paired_with, reference_of

    greedy = _score({"top_k": 1}, [20.0, 30.0, float("nan")], [4, 4, 0], [2, 4, 0])
    other = _score({"top_k": 4}, [21.0, 32.0, 25.0], [4, 4, 0], [3, 4, 0])
    assert reference_of([other, greedy]) is greedy
    assert reference_of([other]) is other
    gaps = paired_with(other, greedy)
    # fg: +1 and +2 on the two windows with foreground, their mean +1.5, 1.96 * sd / sqrt 2
    assert gaps["fg_gap"] == "+1.5 ± 1.0 dB"
    # ball: one more hit of 8 real balls is +12.5 points
    assert gaps["ball_gap"].startswith("+12.5 ± ")
    assert paired_with(greedy, greedy)["ball_gap"] == "+0.0 ± 0.0"
    unpaired = _score({"top_k": 2}, [20.0], [1, 1, 1], [1, 1, 1])  # other windows
    assert paired_with(unpaired, greedy) == {"fg_gap": "–", "ball_gap": "–"}
    assert paired_with(_score({}, []), greedy)["fg_gap"] == "–"  # an older partial file


def test_a_stopped_run_resumes_from_its_partial_scores(model, two_val_episodes, tmp_path):
    out = tmp_path / "out"
    args = dict(grid={"top_k": [1]}, seeds=1, windows=2, context=2, horizon=2, out=str(out))
    bench_sampling(str(model), str(two_val_episodes), **args)
    first = json.loads((out / "sampling.json").read_text())
    partial = {"settings": None, "scores": {}}
    # a partial file of the same run, its greedy score altered: the rerun must take it as is
    from arvideo.bench.sampling import _run_key

    key = _run_key(str(model), str(two_val_episodes), 1, 2, 2, 2, None)
    score = dict(first["choice"][0], foreground_psnr_db=99.0)
    partial.update(settings=key, scores={'choice {"top_k": 1}': score})
    (out / "sampling.partial.json").write_text(json.dumps(partial))
    bench_sampling(str(model), str(two_val_episodes), **args)
    again = json.loads((out / "sampling.json").read_text())
    assert again["choice"][0]["foreground_psnr_db"] == 99.0
    assert again["report"]["greedy"] == first["report"]["greedy"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"grid": {"heat": [1.0]}}, "unknown settings"),
        ({"grid": {"top_k": []}}, "non-empty list"),
        ({"grid": {"solver": ["heun"]}}, "do not apply"),
        ({"choose_by": "speed"}, "choose_by"),
        ({"seeds": 0}, "seeds=0"),
    ],
)
def test_bad_arguments_are_named(model, two_val_episodes, tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        bench_sampling(str(model), str(two_val_episodes), out=str(tmp_path), **kwargs)
