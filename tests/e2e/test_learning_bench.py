"""`arvideo bench learning` end to end on real Pong tokens: curve points, reuse, the report."""

from __future__ import annotations

import json

import pytest

from arvideo.bench.learning import DEMO_GENERATOR, ModelSize, bench_learning, curve_rows
from arvideo.training.learning_curve import read_curve


def test_learning_bench_scores_points_and_reuses_complete_curves(pong_tokens, tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "results"
    args = dict(tokens=str(pong_tokens), sizes=["32x1"], steps=4, every_steps=2,
                out=str(out), runs=str(runs), windows=2, context=2, horizon=3)  # fmt: skip
    bench_learning(**args, keep_models=True)
    curve = runs / ModelSize.parse("32x1").tag / "curve.jsonl"
    points = read_curve(curve)
    assert [p["step"] for p in points] == [2, 4]  # every 2 steps; the end is not repeated
    _assert_point_models_differ(curve.parent / "models", ["step_000002", "step_000004"])
    assert points[0]["tokens_seen"] < points[1]["tokens_seen"]
    assert len(points[1]["model"]["foreground_psnr_by_step_db"]) == 3
    assert points[1]["model"]["ball"] is not None  # a Pong token set scores the ball
    rows = curve_rows({"w32_d1": points})
    assert rows[-1]["copy_fg"] == points[-1]["copy_last"]["foreground_psnr_db"]
    assert (out / "learning.png").stat().st_size > 0
    assert json.loads((out / "learning.json").read_text())["curves"]["w32_d1"] == points
    stamp = curve.stat().st_mtime_ns
    bench_learning(**args)  # complete: reused, not retrained
    assert curve.stat().st_mtime_ns == stamp
    longer = bench_learning(**{**args, "steps": 6, "report_only": True})  # nothing trains
    assert curve.stat().st_mtime_ns == stamp
    assert "Stopped short of 6 steps" in open(longer["md"]).read()


def _assert_point_models_differ(folder, names):
    """Each point's model folder loads, and the two points' weights differ (trained)."""
    from arvideo.generate import VideoGenerator

    assert sorted(p.name for p in folder.iterdir()) == names
    weights = [VideoGenerator.from_pretrained(folder / n).lm.state_dict() for n in names]
    assert any(not (weights[0][k] == weights[1][k]).all() for k in weights[0])


def test_sizes_are_parsed_or_refused_by_name():
    assert ModelSize.parse("128x4") == ModelSize(128, 4)
    for bad in ("128", "0x4", "axb"):
        try:
            ModelSize.parse(bad)
        except ValueError as error:
            assert repr(bad) in str(error)
        else:
            raise AssertionError(f"{bad!r} was accepted")


def test_callbacks_listed_for_the_trainer_survive_the_progress_bar(pong_tokens, tmp_path):
    """The CLI adds its progress bar; it used to replace the callbacks a user listed."""
    from arvideo.training.cli import run_lightning_cli

    listed = {"class_path": "lightning.pytorch.callbacks.LearningRateMonitor"}
    cli = run_lightning_cli([
        "fit", "--config", str(DEMO_GENERATOR), "--data.init_args.path",
        str(pong_tokens), "--model.init_args.lm.width", "32", "--model.init_args.lm.depth", "1",
        "--trainer.max_steps", "1", "--trainer.default_root_dir", str(tmp_path),
        f"--trainer.callbacks+={json.dumps(listed)}",
    ])  # fmt: skip
    names = [type(c).__name__ for c in cli.trainer.callbacks]
    assert "LearningRateMonitor" in names and "RichProgressBar" in names


def test_a_run_killed_after_a_point_resumes_there_and_keeps_its_points(
    pong_tokens, tmp_path, monkeypatch
):
    """A session that ends mid-run loses nothing measured: the rerun goes on from the training
    state saved with the last point (its counters included) instead of training from step 0."""
    from arvideo.training.learning_curve import LearningCurve

    measure = LearningCurve.measure

    def measure_then_die(self, trainer, pl_module):
        point = measure(self, trainer, pl_module)
        if trainer.global_step == 2:
            raise RuntimeError("killed after the first point")
        return point

    runs = tmp_path / "runs"
    args = dict(tokens=str(pong_tokens), sizes=["32x1"], steps=4, every_steps=2,
                out=str(tmp_path / "results"), runs=str(runs), windows=2, context=2,
                horizon=2)  # fmt: skip
    monkeypatch.setattr(LearningCurve, "measure", measure_then_die)
    with pytest.raises(RuntimeError, match="killed"):
        bench_learning(**args)
    curve = runs / "w32_d1" / "curve.jsonl"
    before = read_curve(curve)
    assert [p["step"] for p in before] == [2] and (curve.parent / "resume.ckpt").is_file()

    monkeypatch.setattr(LearningCurve, "measure", measure)
    bench_learning(**args)
    after = read_curve(curve)
    assert [p["step"] for p in after] == [2, 4]
    assert after[0] == before[0]  # kept as measured, not measured again from a new start
    runs_made = sorted(p.name for p in (curve.parent / "lightning_logs").iterdir())
    assert runs_made == ["version_0", "version_1"]  # the first run's folder was kept
    assert after[1]["tokens_seen"] == 2 * after[0]["tokens_seen"]  # the counters went on
    assert after[1]["train_s"] >= after[0]["train_s"]


def test_a_saved_run_planned_for_other_steps_trains_again(pong_tokens, tmp_path, capsys):
    """Its cosine schedule was another one: going on from it would mix two schedules."""
    runs = tmp_path / "runs"
    args = dict(tokens=str(pong_tokens), sizes=["32x1"], every_steps=2,
                out=str(tmp_path / "results"), runs=str(runs), windows=2, context=2,
                horizon=2)  # fmt: skip
    bench_learning(**args, steps=2)
    bench_learning(**args, steps=4)
    assert "planned 2 steps, not 4: training again from step 0" in capsys.readouterr().out
    assert [p.name for p in (runs / "w32_d1" / "lightning_logs").iterdir()] == ["version_0"]
    curve = read_curve(runs / "w32_d1" / "curve.jsonl")
    assert [p["step"] for p in curve] == [2, 4]
    assert curve[1]["tokens_seen"] == 2 * curve[0]["tokens_seen"]
