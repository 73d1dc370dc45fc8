"""`arvideo bench games` end to end in the main job's quick form on two real games."""

from __future__ import annotations

import json

import pytest

from arvideo.bench.games import GameRow, bench_games, parse_games


@pytest.mark.slow
def test_games_bench_measures_each_game_and_resumes(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "results"
    args = dict(games="Pong,Breakout", runs=str(runs), out=str(out), windows=2, quick=True)
    paths = bench_games(**args)
    rows = json.loads(open(paths["json"]).read())["results"]
    assert [row["game"] for row in rows] == ["Pong", "Breakout"]
    for row in rows:
        assert row["tokenizer_steps"] == row["generator_steps"] == 6  # quick: trained here
        assert row["cell"] == 8  # a quick data set's census: few patches per code
        assert 0 <= row["stable_kept"] <= 1 and row["psnr"] > 0
        assert len(row["model_fg_by_step"]) == len(row["copy_last_fg_by_step"]) >= 4
        gaps = row["fg_gaps"]  # paired by window: the mean gap is the gap of the means
        assert len(gaps) == len(row["model_fg_by_step"])
        assert all(gap["windows"] <= 2 for gap in gaps)
        first = row["model_fg_by_step"][0] - row["copy_last_fg_by_step"][0]
        assert abs(gaps[0]["mean_db"] - first) < 1e-3 or gaps[0]["windows"] < 2
    assert "WM >= copy-last at h1-4" in open(paths["md"]).read()
    assert "± 95% over windows" in open(paths["md"]).read()
    assert (out / "games.png").stat().st_size > 0
    saved = runs / "breakout" / "games_row.json"
    stamp = saved.stat().st_mtime_ns
    again = bench_games(**{**args, "report_only": True, "windows": 64})  # from the saved rows
    assert saved.stat().st_mtime_ns == stamp
    redrawn = json.loads(open(again["json"]).read())
    assert redrawn["results"] == rows
    assert redrawn["settings"]["windows"] == 2  # what the rows were measured at
    frames = sorted({row["frames"] for row in rows})
    shown = frames[0] if len(frames) == 1 else " / ".join(f"{f:,}" for f in frames)
    assert redrawn["settings"]["frames"] == shown
    # rescore: the same models scored again; the training columns are kept
    rescored = json.loads(open(bench_games(**{**args, "rescore": True})["json"]).read())
    assert saved.stat().st_mtime_ns != stamp
    for before, after in zip(rows, rescored["results"]):
        assert after["job_seconds"] == before["job_seconds"]
        assert after["tokenizer_steps"] == before["tokenizer_steps"] == 6
        assert after["model_fg_psnr"] == before["model_fg_psnr"]  # same model, seed, windows
        assert after["model_fg_psnr_plain"] is not None  # the cell tokenizer keeps still cells


def test_game_names_are_resolved_or_refused_with_close_matches():
    assert parse_games("pong, breakout") == ["Pong", "Breakout"]
    with pytest.raises(ValueError, match="Breakout"):
        parse_games("Breakot")
    with pytest.raises(ValueError, match="names no game"):
        parse_games(" , ")


def test_beating_copy_last_early_means_every_horizon_1_to_4():
    row = dict(game="Pong", frames=1, episodes=1, moving_share=1.0, tokenizer_steps=1,
               generator_steps=1, job_seconds=1.0, psnr=30.0, foreground_psnr=20.0,
               stable_kept=1.0, codes_per_patch=1.0, dead_codes=0, model_psnr=30.0,
               copy_last_psnr=29.0, model_fg_psnr=20.0, copy_last_fg_psnr=19.0, windows=2,
               copy_last_fg_by_step=[20.0, 19.0, 18.0, 17.0, 16.0])  # fmt: skip
    assert GameRow(**row, model_fg_by_step=[21.0, 19.0, 18.5, 17.0, 1.0]).beats_copy_early
    assert not GameRow(**row, model_fg_by_step=[21.0, 18.9, 18.5, 17.0, 30.0]).beats_copy_early
