"""`arvideo bench sampling`: a world model's sampling defaults chosen on validation, not by hand.

The held-out (val) episodes of a clip data set are split in two halves by episode. Every
setting of a grid (temperature x top_k for a model of codes; temperature x steps for a
denoiser) rolls out windows of the *choice* half with the true actions, under `seeds`
sampling seeds (one where the setting is deterministic: top_k 1), and the setting with the
best mean foreground PSNR (or ball rate) is chosen. The chosen setting, greedy decoding and
the model's saved defaults are then scored on windows of the *report* half, which took no
part in the choice, so the chosen setting's figure is not flattered by the search. With
`write`, the chosen setting becomes the model folder's default (`generator/config.json`
`sampling`: what `arvideo generate`, `play` and `serve` use when a caller sets nothing).
Writes sampling.{md,json} under `out`; each setting's scores are saved as they come
(`sampling.partial.json`), so a stopped run resumes where it stopped.
"""

from __future__ import annotations

import itertools
import json
import statistics
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from arvideo.bench.report import write_json, write_results

CODES_GRID = {"temperature": [0.5, 0.8, 1.0], "top_k": [1, 2, 4, 16, None]}
DENOISER_GRID = {"temperature": [0.6, 0.8, 1.0], "steps": [10, 25]}
CRITERIA = ("foreground_psnr", "ball")


@dataclass
class SettingScore:
    """One sampling setting on one half of the val episodes, over its seeds."""

    setting: dict
    seeds: int
    foreground_psnr_db: float  # mean over seeds of the mean over windows and horizon steps
    foreground_psnr_min_db: float  # the worst and best seed (the spread)
    foreground_psnr_max_db: float
    copy_last_foreground_psnr_db: float
    psnr_db: float
    ball_within_2px: float | None  # Pong only
    agent_paddle_within_1px: float | None
    # per horizon step, mean over seeds (empty in partial files of older runs)
    foreground_psnr_by_step_db: list[float] = field(default_factory=list)
    copy_last_foreground_psnr_by_step_db: list[float] = field(default_factory=list)
    # per window, means over seeds (empty in partial files of older runs), for the paired
    # columns: fg PSNR over the horizon steps (NaN: no foreground); Pong's real balls shown
    # and the rollout's hits
    window_foreground_psnr_db: list[float] = field(default_factory=list)
    window_ball_shown: list[float] | None = None
    window_ball_hits: list[float] | None = None

    def value(self, criterion: str) -> float:
        return self.foreground_psnr_db if criterion == "foreground_psnr" else self.ball_within_2px


def grid_settings(grid: dict[str, list]) -> list[dict]:
    """Every combination of the grid, greedy ones (top_k 1) collapsed into one: temperature
    and top_p do not change an argmax. Order kept, duplicates dropped."""
    settings, seen = [], set()
    for values in itertools.product(*grid.values()):
        setting = dict(zip(grid, values))
        if setting.get("top_k") == 1:
            setting = {k: v for k, v in setting.items() if k not in ("temperature", "top_p")}
        key = json.dumps(setting, sort_keys=True)
        if key not in seen:
            seen.add(key)
            settings.append(setting)
    return settings


def deterministic(setting: dict, latents: bool) -> bool:
    """A setting that samples the same rollout under every seed (greedy codes)."""
    return not latents and setting.get("top_k") == 1


def split_episodes(episodes):
    """The first and second half of the episodes (by order): choice and report."""
    from arvideo.bench.paradigms.episodes import EpisodeSet

    if len(episodes.frames) < 2:
        raise ValueError(
            f"the val split holds {len(episodes.frames)} episode(s); choosing on one half and "
            "reporting on the other needs >= 2 (collect more frames or a larger val_fraction)"
        )
    half = len(episodes.frames) // 2
    return [
        EpisodeSet(episodes.frames[part], episodes.actions[part], episodes.episode_ids[part])
        for part in (slice(0, half), slice(half, None))
    ]


def score_setting(generator, windows, context, background, setting, seeds, latents, keep):
    """A SettingScore of `setting` on `windows` (mean and spread over its seeds)."""
    import numpy as np
    import torch

    from arvideo.rollout_score import score_windows

    runs = range(1 if deterministic(setting, latents) else seeds)
    scores = [
        score_windows(generator, windows, context, background, seed, per_window=True,
                      keep_still_cells=keep, **setting)
        for seed in runs
    ]  # fmt: skip
    fg = [s.model.foreground_psnr_db for s in scores]
    balls = [s.model.ball for s in scores]
    by_window = [s.model.by_window for s in scores]
    fg_RW = torch.tensor([w.foreground_psnr_db for w in by_window]).nanmean(-1)
    return SettingScore(
        setting=setting, seeds=len(scores), foreground_psnr_db=statistics.fmean(fg),
        foreground_psnr_min_db=min(fg), foreground_psnr_max_db=max(fg),
        copy_last_foreground_psnr_db=scores[0].copy_last.foreground_psnr_db,
        psnr_db=statistics.fmean(s.model.psnr_db for s in scores),
        ball_within_2px=None if balls[0] is None else statistics.fmean(b.within_2px for b in balls),
        agent_paddle_within_1px=None if balls[0] is None
        else statistics.fmean(b.agent_paddle_within_1px for b in balls),
        foreground_psnr_by_step_db=[
            statistics.fmean(step) for step in zip(*(s.model.foreground_psnr_by_step_db
                                                     for s in scores))
        ],
        copy_last_foreground_psnr_by_step_db=scores[0].copy_last.foreground_psnr_by_step_db,
        window_foreground_psnr_db=fg_RW.mean(0).tolist(),
        window_ball_shown=by_window[0].ball_shown,
        window_ball_hits=None if balls[0] is None
        else np.mean([w.ball_hits for w in by_window], axis=0).tolist(),
    )  # fmt: skip


def bench_sampling(
    model: str,
    data: str,
    grid: dict[str, list] | None = None,
    choose_by: str = "foreground_psnr",
    seeds: int = 3,
    windows: int = 64,
    context: int = 4,
    horizon: int = 12,
    keep_still_cells: bool | None = None,
    write: bool = False,
    out: str = "benchmarks/results",
) -> dict:
    """Choose a model's sampling defaults on one half of the val episodes; report on the other.

    Args:
        model: a model folder (`arvideo export`; the main job's is outputs/demo/model).
        data: the clip data set whose val episodes the windows come from.
        grid: setting name -> values, e.g. '{"temperature": [0.8, 1.0], "top_k": [1, 4, null]}'
            (None: temperature x top_k for codes, temperature x steps for a denoiser).
        choose_by: "foreground_psnr" (mean over windows and horizon steps) or "ball" (the
            ball within 2 px; Pong only).
        seeds: sampling seeds per stochastic setting (deterministic ones run once).
        windows: windows per half; context, horizon: real and generated frames per window.
        keep_still_cells: decode with still cells kept (None: the model's default).
        write: store the chosen setting as the model folder's sampling default.
        out: folder of sampling.{md,json} (and sampling.partial.json while it runs).
    """
    from arvideo.bench.paradigms.episodes import evaluation_windows, load_episodes
    from arvideo.bench.sampling_report import sampling_markdown
    from arvideo.generate import VideoGenerator
    from arvideo.lm.heads import head_class
    from arvideo.rollout_score import training_background

    if choose_by not in CRITERIA:
        raise ValueError(f"choose_by={choose_by!r}: one of {CRITERIA}")
    if seeds < 1 or windows < 1 or context < 1 or horizon < 1:
        raise ValueError(
            f"seeds={seeds}, windows={windows}, context={context}, horizon={horizon}: "
            "each must be >= 1"
        )
    generator = VideoGenerator.from_pretrained(model)
    config = generator.lm.config
    latents = head_class(config.head).values == "latents"
    grid = grid or (DENOISER_GRID if latents else CODES_GRID)
    settings = _checked_settings(grid, config)
    if choose_by == "ball" and (generator.info.game or "").lower() != "pong":
        raise ValueError(f"choose_by='ball' needs a Pong model; {model} is {generator.info.game!r}")

    choice_eps, report_eps = split_episodes(load_episodes(data, "val"))
    length = context + horizon
    halves = {"choice": evaluation_windows(choice_eps, length, windows),
              "report": evaluation_windows(report_eps, length, windows)}  # fmt: skip
    background = training_background(data)
    partial = Path(out) / "sampling.partial.json"
    run_key = _run_key(model, data, seeds, windows, context, horizon, keep_still_cells)
    done = _resumed(partial, run_key)

    def scored(half: str, setting: dict) -> SettingScore:
        key = f"{half} {json.dumps(setting, sort_keys=True)}"
        if key not in done:
            print(f"sampling bench: {half} half, {setting} ...", flush=True)
            score = score_setting(generator, halves[half], context, background, setting,
                                  seeds, latents, keep_still_cells)  # fmt: skip
            done[key] = asdict(score)
            write_json(partial, {"settings": run_key, "scores": done})
        return SettingScore(**done[key])

    choice = [scored("choice", s) for s in settings]
    ranked = [s for s in choice if s.value(choose_by) is not None]
    best = max(ranked, key=lambda s: s.value(choose_by))
    contenders = {"chosen": best.setting, "saved default": dict(config.sampling)}
    if not latents:
        contenders["greedy"] = {"top_k": 1}
    report = {name: scored("report", setting) for name, setting in contenders.items()}
    if write:
        _write_default(Path(model), best.setting)
    data_out = {
        "model": model, "data": data, "choose_by": choose_by, "seeds": seeds,
        "windows": windows, "context": context, "horizon": horizon,
        "choice_episodes": choice_eps.episode_ids, "report_episodes": report_eps.episode_ids,
        "chosen": best.setting, "written": write,
        "choice": [asdict(s) for s in choice],
        "report": {name: asdict(s) for name, s in report.items()},
    }  # fmt: skip
    markdown = sampling_markdown(data_out, choice, report, best)
    paths = write_results(out, "sampling", data_out, markdown)
    partial.unlink(missing_ok=True)
    print(markdown)
    return {name: str(path) for name, path in paths.items()}


def _checked_settings(grid: dict, config) -> list[dict]:
    from arvideo.lm.heads.base import SamplingSettings

    known = set(SamplingSettings.__dataclass_fields__)
    if not grid or any(not isinstance(v, list) or not v for v in grid.values()):
        raise ValueError(f"grid={grid!r}: give each setting a non-empty list of values")
    unknown = set(grid) - known
    if unknown:
        raise ValueError(f"grid names unknown settings {sorted(unknown)}; known: {sorted(known)}")
    settings = grid_settings(grid)
    for setting in settings:  # each one as the model would take it as its default
        try:
            replace(config, sampling=setting)
        except (TypeError, ValueError) as error:
            raise ValueError(f"grid setting {setting}: {error}") from error
    return settings


def _run_key(model, data, seeds, windows, context, horizon, keep) -> dict:
    """What a partial file's scores depend on (a resumed run must match it)."""
    return {"model": str(Path(model).resolve()), "data": str(Path(data).resolve()),
            "seeds": seeds, "windows": windows, "context": context, "horizon": horizon,
            "keep_still_cells": keep}  # fmt: skip


def _resumed(partial: Path, run_key: dict) -> dict:
    """Scores of a stopped run with the same model, data and settings (else none)."""
    if not partial.is_file():
        return {}
    saved = json.loads(partial.read_text())
    return saved["scores"] if saved.get("settings") == run_key else {}


def _write_default(model: Path, setting: dict) -> None:
    """The chosen setting as the generator's saved sampling default (other keys kept)."""
    path = model / "generator" / "config.json"
    config = json.loads(path.read_text())
    config["sampling"] = {**config.get("sampling", {}), **setting}
    path.write_text(json.dumps(config, indent=2) + "\n")
