"""`arvideo bench prompts` end to end at its smoke preset: every recipe trained through
`arvideo fit`, generated from seen and unseen captions (class ids of seen combinations for
the label recipe) over the guidance sweep, reported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from arvideo.bench.prompts.budget import RECIPES, budget_preset
from arvideo.bench.prompts.evaluate import Guidance, read_prompts, seed_diversity, sweep
from arvideo.bench.prompts.stages import Layout, train_all
from arvideo.cli import main

FACTORS = ("color", "kind", "direction")


def check_row(row: dict, clips: int) -> None:
    assert row["clips"] == clips
    for name in (*FACTORS, "all"):
        assert 0.0 <= row[name] <= 1.0, (name, row)
    assert row["all"] <= min(row[name] for name in FACTORS)  # all factors at once


@pytest.mark.slow
def test_prompts_bench_smoke_reports_every_paradigm_split_and_guidance(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "results"
    main(["bench", "prompts", "--runs", str(runs), "--out", str(out), "--preset", "smoke"])
    report = json.loads((out / "prompts.json").read_text())
    budget = budget_preset("smoke")
    tags = [g.tag for g in sweep(budget.cfg_scales, budget.schedules)]
    assert set(report["results"]) == set(RECIPES)
    truth = report["truth"]
    for split in ("val", "unseen"):  # the detector reads the real clips without a miss
        assert truth[f"real clips | {split}"]["all"] == 1.0
    assert report["chance"]["all"] == pytest.approx(1 / 48)
    for name, by_setting in report["results"].items():
        assert list(by_setting) == tags
        splits = ("val",) if RECIPES[name].condition == "label" else ("val", "unseen")
        for result in by_setting.values():
            assert tuple(result["accuracy"]) == splits  # a class id only for seen ones
            for split in splits:
                real_clips = truth[f"real clips | {split}"]["clips"]  # the preset's captions
                if RECIPES[name].all_captions:  # fast samplers score every caption
                    real_clips = len(read_prompts(str(Layout(runs).data), split, 10**9).captions)
                check_row(result["accuracy"][split], real_clips * budget.seeds)
                check_row(result["ignored_text"][split], real_clips * budget.seeds)
            assert 0.0 < result["diversity"] <= 1.0  # two seeds draw different clips
    stages = report["stages"]
    assert [s["name"] for s in stages] == [
        "tokenizer vq", "tokenizer continuous", *(f"generator {name}" for name in RECIPES),
    ]  # fmt: skip
    assert all(s["steps"] == s["planned_steps"] == 2 and not s["reused"] for s in stages)
    markdown = (out / "prompts.md").read_text()
    for heading in ("## Targets", "## Guidance sweep", "## Accuracy per factor", "chance"):
        assert heading in markdown
    # real + each paradigm, per prompt (label recipes have no unseen row)
    text_recipes = sum(recipe.condition == "text" for recipe in RECIPES.values())
    rows = budget.sheet_prompts * ((1 + len(RECIPES)) + (1 + text_recipes))
    assert Image.open(out / "prompts.png").height == rows * (2 * 32 + 2)
    again = train_all(Layout(runs), list(RECIPES.values()), budget, 0)  # resumes: no training
    assert all(record.reused for record in again)
    assert [r.steps for r in again] == [s["steps"] for s in stages]
    saved = runs / "next_block_categorical" / "evaluation.json"
    stamp = saved.stat().st_mtime_ns
    main(
        [
            "bench",
            "prompts",
            "--runs",
            str(runs),
            "--out",
            str(out),
            "--preset",
            "smoke",
            "--paradigms",
            "next_block_categorical",
        ]
    )  # evaluation reused, report redrawn
    assert saved.stat().st_mtime_ns == stamp
    rerun = json.loads((out / "prompts.json").read_text())
    assert rerun["results"]["next_block_categorical"] == report["results"]["next_block_categorical"]
    assert list(rerun["results"]) == ["next_block_categorical"]


def test_sweep_has_no_guidance_once_then_every_scale_and_schedule():
    settings = sweep((1.0, 1.5, 3.0), ("constant", "linear"))
    assert settings[0] == Guidance(1.0, "constant")
    assert [g.tag for g in settings[1:]] == ["1.5 constant", "1.5 linear", "3 constant", "3 linear"]


def test_seed_diversity_is_zero_for_repeated_clips_and_grows_with_change():
    clip = np.zeros((2, 3, 4, 4, 3), dtype=np.uint8)  # B×T×H×W×3
    assert seed_diversity(np.stack([clip, clip])) == 0.0
    other = clip.copy()
    other[0] = 255
    assert seed_diversity(np.stack([clip, other])) == pytest.approx(0.5)


def test_unknown_paradigm_is_refused_by_name(tmp_path):
    from arvideo.bench.prompts.run import bench_prompts

    with pytest.raises(ValueError, match="next_block_categorical"):
        bench_prompts(runs=str(tmp_path), out=str(tmp_path), preset="smoke", paradigms="nope")


def test_every_recipe_yaml_exists():
    for recipe in RECIPES.values():
        assert Path(recipe.generator_config).is_file() and Path(recipe.tokenizer_config).is_file()
