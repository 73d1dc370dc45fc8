"""`arvideo bench paradigms`: next-token / next-block / next-scale × categorical / diffusion,
and the frame denoisers (full-sequence flow, next-frame diffusion, Diffusion Forcing, with the
velocity head), as world models on one Atari game, under one budget.

Protocol. Clip shards (collected here with a fixed seed unless `data` is given) are stitched
into episodes; train episodes give training windows, held-out val episodes the evaluation
windows. Three tokenizers (single-scale VQ, multi-scale VQ, continuous) are either loaded
from the folders `arvideo bench tokenizer` saved (`tokenizers`) or trained here with that
benchmark's recipe (configs/tokenizer/<pong|debug>_<kind>.yaml) on the train split; they
must share one latent grid, and their reconstructions of the evaluation windows are scored.
Each generator is trained with the same backbone, steps, batch and seed on its tokenizer's
values; then it rolls out `horizon` frames after `context` frames, with the true actions and
with actions dropped to null, for several seeds. The copy-the-last-frame baseline and the
truth (its own action-following) sit in the same tables. Results: paradigms.md / .json / two PNGs.

This module holds the orchestration; budgets (budget.py), data (episodes.py), models
(models.py), rollouts and cost (evaluate.py), scores (scoring.py, rollout_eval.py), the
feature network (frame_order.py) and the report (report.py) live apart, in this subpackage.
"""

from __future__ import annotations

import sys
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from arvideo.bench.common import matmul_peak, mfu, training_flops_per_token
from arvideo.bench.paradigms import models
from arvideo.bench.paradigms.budget import PARADIGMS, ParadigmBudget, budget_preset
from arvideo.bench.paradigms.episodes import (
    Windows,
    evaluation_windows,
    game_info,
    load_episodes,
    training_windows,
)
from arvideo.bench.paradigms.evaluate import peak_memory_mb, rollout
from arvideo.bench.paradigms.frame_order import TrainedClassifier, train_classifier
from arvideo.bench.paradigms.long_rollouts import long_row
from arvideo.bench.paradigms.report import write_paradigm_report
from arvideo.bench.paradigms.reuse import (
    carry_samples,
    paradigm_key,
    reusable_rows,
    select_paradigms,
)
from arvideo.bench.paradigms.rollout_eval import episode_directions
from arvideo.bench.paradigms.samples import save_sample
from arvideo.bench.paradigms.scoring import measure_tokenizers, reference_rows, score
from arvideo.bench.report import command_line, machine_info, write_json
from arvideo.lm.heads.base import SamplingSettings
from arvideo.metrics import median_background
from arvideo.threads import cpu_threads
from arvideo.training.budgeted import Budget


@dataclass
class Bench:
    """The shared state of one run: data, calibrations, reference scores."""

    budget: ParadigmBudget
    train: Windows
    evaluate: Windows
    background_CHW: torch.Tensor
    directions: np.ndarray
    classifier: TrainedClassifier  # frame order: order FD's feature network
    num_actions: int
    peak_flops: float
    seed: int
    work: Path
    tokenizers: dict[str, models.TrainedTokenizer]  # by kind, sharing one latent grid
    long: Windows | None = None  # context + long_horizon frames (long_rollouts.py); None: off
    samples: Path | None = None  # where each paradigm's sample GIF goes (samples.py); None: none

    @property
    def context(self) -> torch.Tensor:
        return self.evaluate.video_BCTHW[:, :, : self.budget.context_frames]

    @property
    def truth(self) -> torch.Tensor:
        return self.evaluate.video_BCTHW[:, :, self.budget.context_frames :]


def _collect(game: str, budget: ParadigmBudget, work: Path, seed: int) -> Path:
    from arvideo.data.atari import collect_atari

    out = work / "data" / game.lower()
    if budget.frames:  # as the main job collects: a frame budget, whole episodes
        collect_atari(game=game, frames=budget.frames, out=str(out), seed=seed, progress=False)
        return out
    collect_atari(
        game=game, episodes=budget.episodes, out=str(out), clip_length=budget.clip_length,
        max_steps_per_episode=budget.max_steps_per_episode, val_fraction=0.2,
        shard_size=64, seed=seed, progress=False,
    )  # fmt: skip
    return out


def prepare(
    data: Path,
    budget: ParadigmBudget,
    work: Path,
    seed: int,
    tokenizers: Path | None = None,
    paradigms: list[models.Paradigm] = PARADIGMS,
) -> Bench:
    """Windows, tokenizers (those `paradigms` need; loaded from `tokenizers` or trained;
    checked before any other training), the classifier and the reference calibrations."""
    length = budget.context_frames + budget.horizon
    episodes = load_episodes(data, "train")
    train_length = budget.train_length
    train = training_windows(
        episodes, train_length, max(1, train_length // 2), budget.max_train_windows
    )
    val_episodes = load_episodes(data, "val")
    evaluate = evaluation_windows(val_episodes, length, budget.eval_windows)
    needed = set().union(*(p.tokenizer_kinds for p in paradigms))
    kinds = [kind for kind in models.KINDS if kind in needed]
    plan = budget.tokenizer_plan()
    trained = models.get_tokenizers(kinds, tokenizers, str(data), plan, work / "tokenizers", seed)
    models.shared_latent_grid(trained, tuple(evaluate.video_BCTHW.shape[-2:]))
    num_actions = max(game_info(data).num_actions, int(train.actions_BT.max()) + 1)
    directions = episode_directions(episodes.frames, episodes.actions, num_actions)
    generator = torch.Generator().manual_seed(seed)
    # held out: every window of the val episodes, more than the rollouts are scored on
    held_out = training_windows(val_episodes, length, length)
    classifier = train_classifier(
        train.video_BCTHW, held_out.video_BCTHW, budget.classifier, generator
    )
    long = None
    if budget.long_horizon:
        long_length = budget.context_frames + budget.long_horizon
        long = evaluation_windows(val_episodes, long_length, budget.long_windows)
    return Bench(
        budget, train, evaluate, median_background(train.video_BCTHW), directions,
        classifier, num_actions, 1e9 * matmul_peak(1024, 5, "cpu")["gflops"], seed, work, trained,
        long,
    )  # fmt: skip


def run_paradigm(bench: Bench, paradigm: models.Paradigm, tokenizer, values) -> dict:
    budget = bench.budget
    val = bench.evaluate.video_BCTHW[:, :, : budget.train_length]  # the model's clip length
    data = models.GeneratorData(
        values, bench.train.actions_BT, models.encode_values(tokenizer, val),
        bench.evaluate.actions_BT[:, : budget.train_length], bench.num_actions,
    )  # fmt: skip
    trained = models.train_generator(
        paradigm, bench.tokenizers, data, budget.sizes,
        Budget(budget.generator_steps, budget.generator_minutes), budget.batch_size,
        bench.work / "runs" / f"{paradigm.order}_{paradigm.head}", bench.seed,
    )  # fmt: skip
    row = {**_training_row(bench, trained), "status": "ok"}
    context = models.encode_values(tokenizer, bench.context)
    settings = SamplingSettings(steps=budget.sizes.diffusion_steps)
    actions = bench.evaluate.actions_BT
    for mode, given in (("actions", actions), ("no_actions", None)):
        out = rollout(trained, tokenizer, context, given, budget.horizon, budget.seeds,
                      bench.seed, settings)  # fmt: skip
        if mode == "actions" and bench.samples is not None:
            save_sample(bench.samples, paradigm_key(paradigm), bench.evaluate.video_BCTHW,
                        out.video_RBCTHW[0])  # fmt: skip
        row[mode] = {
            **score(bench, out.video_RBCTHW, actions),
            "ms_per_frame": out.ms_per_frame, "frames_per_s": 1000 / out.ms_per_frame,
            "forward_passes_per_frame": out.forward_passes_per_frame,
        }  # fmt: skip
        row["peak_memory_mb"] = max(row["peak_memory_mb"], out.peak_memory_mb)
    if bench.long is not None:
        long = bench.long
        row["long"] = long_row(
            trained, long.video_BCTHW, long.actions_BT, bench.budget.context_frames, settings,
            bench.seed, tokenizer, bench.background_CHW,
        )  # fmt: skip
    return row


def _training_row(bench: Bench, trained: models.TrainedGenerator) -> dict:
    run, model = trained.run, trained.model
    tokens_per_s = trained.tokens_per_step * run.steps / max(run.wall_s, 1e-9)
    sequence = trained.tokens_per_step // bench.budget.batch_size
    flops_per_token = training_flops_per_token(model, sequence)
    return {
        "paradigm": trained.paradigm.name, "order": trained.paradigm.order,
        "head": trained.paradigm.head, "tokenizer": trained.paradigm.tokenizer_kind,
        "params": sum(p.numel() for p in model.parameters()),
        "train_steps": run.steps, "train_wall_s": run.wall_s,
        "train_tokens_per_s": tokens_per_s,
        "mfu": 100 * mfu(flops_per_token, tokens_per_s, bench.peak_flops / 1e9),
        "final_loss": run.metrics.get("train/loss"),
        "val_loss": run.metrics.get("val/loss"),  # on the evaluation windows, after training
        "peak_memory_mb": peak_memory_mb(torch.device("cpu")),
    }  # fmt: skip


def bench_paradigms(
    budget: Literal["smoke", "full"] = "smoke",
    data: str | None = None,
    game: str = "Pong",
    out: str = "benchmarks/results",
    work_dir: str | None = None,
    seed: int = 0,
    threads: int | None = None,
    tokenizer_steps: int | None = None,
    generator_steps: int | None = None,
    tokenizers: str | None = None,
    paradigms: list[str] | None = None,
    reuse: list[str] | None = None,
) -> dict:
    """Compare the nine paradigms (six token paradigms, three frame denoisers) as world
    models; writes paradigms.md/.json/.png to `out`.

    Args:
        budget: 'smoke' (seconds, tiny models, for tests) or 'full' (about an hour on 2 cores).
        data: a clip dataset folder with actions (train and val splits); None collects
            `game` here with a fixed seed.
        game: ale-py game to collect when `data` is None (the protocol is game-agnostic; the
            game-state and action-following metrics know Pong's colours).
        out: results folder.
        work_dir: collected data and training logs (default: a temporary folder).
        seed: data collection, initialisation, batches and sampling.
        threads: torch CPU threads during the run (restored afterwards); None keeps them.
            On a shared, loaded machine 1 thread is often faster than oversubscribing.
        tokenizer_steps: override the preset's optimizer steps per tokenizer (trained here).
        generator_steps: override the preset's optimizer steps per generator.
        tokenizers: a folder of trained tokenizers, `<folder>/{vq,msvq,continuous}/tokenizer`
            (the run_dir of `arvideo bench tokenizer`, e.g. runs/bench_tokenizer): loaded,
            frozen, instead of trained here. They must map the frames to one latent grid.
        paradigms: train only these (`next_block_categorical`, ...; default: all nine), e.g.
            to split a full run over two processes.
        reuse: results files of earlier runs with the same settings (their paradigms.json,
            or paradigms.partial.json): their finished rows are taken, not trained again.
            A run with `reuse` and no paradigm left to train joins split runs into one report.
    """
    preset = budget_preset(budget)
    for name, steps in (("tokenizer_steps", tokenizer_steps), ("generator_steps", generator_steps)):
        if steps is not None:
            if steps < 1:
                raise ValueError(f"{name} must be >= 1, got {steps}")
            setattr(preset, name, steps)
    folder = Path(tokenizers) if tokenizers else None
    if folder is not None and (tokenizer_steps is not None or not folder.is_dir()):
        problem = "is not a folder" if not folder.is_dir() else "is given: tokenizer_steps unused"
        raise ValueError(f"tokenizers={tokenizers!r} {problem}")
    temporary = tempfile.TemporaryDirectory(prefix="arvideo-paradigms-")
    with cpu_threads(threads), temporary:
        work = Path(work_dir or temporary.name)
        data_path = Path(data) if data else _collect(game, preset, work, seed)
        settings = {"budget": budget, "data": str(data_path), "game": game_info(data_path).game,
                    "seed": seed, **_settings(preset, tokenizers)}  # fmt: skip
        chosen = select_paradigms(paradigms)
        done = reusable_rows(reuse or [], settings)
        bench = prepare(data_path, preset, work, seed, folder, chosen)
        bench.samples = Path(out) / "samples"
        context = dict(command=command_line(), machine=machine_info(), settings=settings)
        partial = Path(out) / PARTIAL_NAME
        result = run_all(
            bench, chosen, done, lambda so_far: write_json(partial, {**so_far, **context})
        )
        result.update(context)
    carry_samples(result["paradigms"], bench.samples)
    write_paradigm_report(out, result)
    partial.unlink(missing_ok=True)
    return result


PARTIAL_NAME = "paradigms.partial.json"  # rows so far, in case the run dies


def run_all(
    bench: Bench,
    paradigms: list[models.Paradigm] = PARADIGMS,
    done: dict[str, dict] | None = None,
    on_row: Callable[[dict], None] = lambda result: None,
) -> dict:
    """`paradigms` on `bench`, taking the rows in `done` (by name) as they are;
    `on_row(result so far)` after each. A paradigm that raises is reported as failed, with
    its traceback on stderr, and the others still run."""
    done = done or {}
    truth, baseline = reference_rows(bench)
    tokenizer_rows = measure_tokenizers(bench)
    result = {
        "truth": truth, "baseline": baseline, "paradigms": [], "tokenizers": tokenizer_rows,
        "action_directions": bench.directions.tolist(),
        "peak_matmul_gflops": bench.peak_flops / 1e9,
        "classifier": _classifier_row(bench.classifier),
    }  # fmt: skip
    kinds = {p.tokenizer_kind for p in paradigms if p.name not in done}
    values = {k: models.encode_values(bench.tokenizers[k].tokenizer, bench.train.video_BCTHW)
              for k in kinds}  # fmt: skip
    count = len(paradigms)
    for index, paradigm in enumerate(paradigms, 1):
        if paradigm.name in done:
            row = done[paradigm.name]
            _say(f"[{index}/{count}] {paradigm.name}: reused from {row['reused_from']}")
        else:
            _say(f"[{index}/{count}] {paradigm.name}: training, then rolling out")
            row = _train_and_score(bench, paradigm, values, tokenizer_rows)
        result["paradigms"].append(row)
        _say(f"[{index}/{count}] {paradigm.name}: {_summary(row)}")
        on_row(result)
    return result


def _train_and_score(
    bench: Bench, paradigm: models.Paradigm, values: dict, tokenizer_rows: list[dict]
) -> dict:
    kind = paradigm.tokenizer_kind
    try:
        row = run_paradigm(bench, paradigm, bench.tokenizers[kind].tokenizer, values[kind])
    except Exception as error:
        traceback.print_exc()
        return {"paradigm": paradigm.name, "status": f"failed: {error!r}"}
    recon = next(t for t in tokenizer_rows if t["tokenizer"] == kind)
    for mode in ("actions", "no_actions"):
        row[mode]["tokenizer_foreground_psnr"] = recon["foreground_psnr"]
    return row


def _classifier_row(classifier: TrainedClassifier) -> dict:
    return {
        "task": f"frame order: {classifier.net.frames} frames in order or a neighbour swap",
        "held_out_accuracy": classifier.held_out_accuracy,
        "held_out_examples": classifier.held_out_examples,
        "train_accuracy": classifier.train_accuracy,
        "chance": classifier.chance, "steps": classifier.steps,
    }  # fmt: skip


def _say(message: str) -> None:
    print(f"bench paradigms {message}", file=sys.stderr, flush=True)


def _summary(row: dict) -> str:
    if row["status"] != "ok":
        return row["status"]
    actions = row["actions"]
    return (f"{row['train_steps']} steps in {row['train_wall_s']:.0f} s, rollout PSNR "
            f"{actions['psnr']:.2f} dB, {actions['frames_per_s']:.1f} frames/s")  # fmt: skip


def _settings(preset: ParadigmBudget, tokenizers: str | None) -> dict:
    settings = asdict(preset)
    sizes = settings.pop("sizes")
    settings.pop("classifier")
    if tokenizers:  # loaded: the preset's tokenizer recipe did not run
        settings = {k: v for k, v in settings.items() if not k.startswith("tokenizer_")}
    return {
        "tokenizers": tokenizers or "trained here",
        **settings,
        **{f"model.{k}": v for k, v in sizes.items()},
    }
