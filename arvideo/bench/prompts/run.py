"""`arvideo bench prompts`: train (or reuse) the prompt-following models, generate from the
captions of seen and unseen combinations across a guidance sweep, and report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import numpy as np

from arvideo.bench.prompts import evaluate as ev
from arvideo.bench.prompts.budget import RECIPES, budget_preset
from arvideo.bench.prompts.sheet import SheetRow, sheet
from arvideo.bench.prompts.stages import Layout, train_all
from arvideo.bench.report import command_line, machine_info, write_png

SPLITS = ("val", "unseen")  # val: seen combinations, other draws and phrasings
ALL = 10**9  # captions to read: every one of a split


def bench_prompts(
    runs: str = "runs/prompts",
    out: str = "benchmarks/results",
    preset: Literal["smoke", "full"] = "full",
    paradigms: str = ",".join(RECIPES),
    seed: int = 0,
) -> dict[str, str]:
    """Prompt accuracy of text-conditioned generators, seen and unseen combinations.

    Args:
        runs: the data, tokenizers and generators (each stage reused when its output exists).
        out: folder of prompts.{md,json,png}.
        preset: smoke (seconds, tests) or full (the committed run, ≤ 30 min of training).
        paradigms: comma-separated recipes, of: next_block_categorical,
            next_frame_flow_velocity, next_token_categorical
            (configs/lm/shapes_text_<name>.yaml), next_block_categorical_label and
            next_token_categorical_label (configs/lm/shapes_label_<paradigm>.yaml: the
            combination's class id instead of its caption; seen combinations only).
        seed: data, training and the first sampling seed.
    """
    budget = budget_preset(preset)
    names = [name.strip() for name in paradigms.split(",") if name.strip()]
    unknown = [name for name in names if name not in RECIPES]
    if unknown or not names:
        raise ValueError(f"paradigms={paradigms!r}: expected some of {', '.join(RECIPES)}")
    recipes = [RECIPES[name] for name in names]
    layout = Layout(Path(runs))
    stages = train_all(layout, recipes, budget, seed)
    # every caption where a recipe scores them all (read once), else the preset's first few
    count = ALL if any(recipe.all_captions for recipe in recipes) else budget.prompts
    every = [ev.read_prompts(str(layout.data), split, count) for split in SPLITS]
    prompts = [p.first(budget.prompts) for p in every]
    truth = {f"real clips | {p.split}": ev.accuracy_row(p.factors, list(p.clips_BTHWC))
             for p in prompts}  # fmt: skip
    for kind in dict.fromkeys(recipe.tokenizer for recipe in recipes):
        for p in prompts:  # the ceiling of the generators on this tokenizer
            rebuilt = ev.round_trip(layout.tokenizer(kind), p.clips_BTHWC)
            truth[f"{kind} tokenizer round trip | {p.split}"] = ev.accuracy_row(
                p.factors, list(rebuilt)
            )
    chance = _chance()
    results, clips = {}, {}
    for recipe in recipes:
        scored = every if recipe.all_captions else prompts
        results[recipe.name], clips[recipe.name] = _evaluate(layout, recipe, scored, budget, seed)
    rows = _sheet_rows(prompts, clips, budget.sheet_prompts)
    image = write_png(Path(out) / "prompts.png", sheet(rows))
    readings = {recipe.name: ev.Guidance(*recipe.guidance).tag for recipe in recipes}
    paths = ev_report(out, budget, stages, results, truth, chance, prompts, rows, readings)
    return {name: str(path) for name, path in {**paths, "png": image}.items()}


def _chance() -> dict:
    from arvideo.data.prompt_factors import all_combinations
    from arvideo.prompt_accuracy import score

    combos = all_combinations()
    accuracy = score(combos, combos)  # the chance fields depend only on the vocabulary
    return {**accuracy.chance_per_factor, "all": accuracy.chance_all_factors, "clips": None}


def _evaluate(layout, recipe, prompts, budget, seed):
    """Every guidance setting of the sweep: result rows, and the headline's seed-0 clips.
    Saved beside the model (`evaluation.json`, `evaluation_clips.npz`) and reused while the
    model and every evaluation setting are the same (an interrupted bench resumes)."""
    folder = layout.model(recipe.name).parent
    key = {"model": (folder / "model.stage.json").read_text(), "sampling": recipe.sampling,
           "prompts": "all" if recipe.all_captions else budget.prompts,
           "seeds": budget.seeds, "seed": seed,
           "cfg_scales": list(budget.cfg_scales), "schedules": list(budget.schedules),
           "headline": list(budget.headline), "diversity": budget.diversity_prompts}  # fmt: skip
    if recipe.guidance != (1.0, "constant"):  # a reading outside the sweep adds a setting
        key["guidance"] = list(recipe.guidance)
    saved, clips_file = folder / "evaluation.json", folder / "evaluation_clips.npz"
    if saved.is_file() and clips_file.is_file():
        record = json.loads(saved.read_text())
        if record["key"] == key:
            return record["rows"], dict(np.load(clips_file))
    rows, shown = _measure(layout, recipe, prompts, budget, seed)
    np.savez_compressed(clips_file, **shown)
    saved.write_text(json.dumps({"key": key, "rows": rows}, indent=2))
    return rows, shown


def _measure(layout, recipe, prompts, budget, seed):
    from arvideo.generate import VideoGenerator

    gen = VideoGenerator.from_pretrained(layout.model(recipe.name))
    if recipe.condition == "label":  # a class id exists only for combinations trained on
        prompts = [p for p in prompts if p.split == "val"]
    headline = ev.Guidance(*budget.headline)
    settings = ev.sweep(budget.cfg_scales, budget.schedules)
    for extra in (headline, ev.Guidance(*recipe.guidance)):
        if extra not in settings:
            settings.append(extra)
    rows, shown = {}, {}
    for guidance in settings:
        result = ev.evaluate_setting(
            gen, prompts, guidance, budget.seeds, recipe.sampling, budget.diversity_prompts,
            first_seed=seed, condition=recipe.condition,
        )  # fmt: skip
        rows[guidance.tag] = {"accuracy": result.accuracy, "ignored_text": result.ignored_text,
                              "diversity": result.diversity, "seconds": result.seconds}  # fmt: skip
        if guidance == headline:
            shown = {split: samples[0] for split, samples in result.clips.items()}
    return rows, shown


def _sheet_rows(prompts, clips: dict, count: int) -> list[SheetRow]:
    """Per prompt: the real clip, then each paradigm's clip at the headline guidance."""
    rows = []
    for p in prompts:
        for i in range(min(count, len(p.captions))):
            rows.append(SheetRow(f"real | {p.split} | {p.captions[i]}", p.clips_BTHWC[i]))
            for paradigm, by_split in clips.items():
                if p.split in by_split:  # label recipes have no unseen clips
                    rows.append(SheetRow(f"{paradigm} | {p.split} | {p.captions[i]}",
                                         np.asarray(by_split[p.split][i])))  # fmt: skip
    return rows


def ev_report(out, budget, stages, results, truth, chance, prompts, rows, readings):
    from arvideo.bench.prompts.report import write_report

    real = ev.real_diversity(prompts[0])  # seen captions: several clips per combination
    legend = [row.label for row in rows]
    return write_report(Path(out), command_line(), machine_info(), budget, stages, results,
                        truth, chance, real, legend, readings)  # fmt: skip
