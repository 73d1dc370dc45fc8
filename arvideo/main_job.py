"""`arvideo demo`: the main job, end to end on real Atari data.

collect a frame budget of Pong -> fit a tokenizer -> encode token shards -> fit an
action-conditioned world model -> export a model folder -> roll it out from held-out context
frames with the true actions into an mp4 and a GIF beside the ground truth, with the PSNR.

Every stage goes through the same public entry points a user calls (the collectors, the
trainer CLI with the YAMLs under configs/demo/, `encode`, `export`, `generate`). A stage
whose output already exists is skipped, so a second run only generates; `fresh=True` redoes
everything.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from rich.console import Console

from arvideo.stage_times import StageTimes

if TYPE_CHECKING:
    from arvideo.rollout_score import WorldModelScore
    from arvideo.tokenizer_capacity import CapacityChoice

REPO_CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "demo"


def _config(name: str) -> str:
    path = REPO_CONFIGS / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: `arvideo demo` runs from a source checkout")
    return str(path)


def early_stop_message(trainer) -> str | None:
    """Why an EarlyStopping callback stopped this fit (None: none did)."""
    from lightning.pytorch.callbacks import EarlyStopping

    for callback in trainer.callbacks:
        if isinstance(callback, EarlyStopping) and trainer.should_stop:
            reason = getattr(callback, "stopping_reason_message", None)
            if reason or callback.wait_count >= callback.patience:
                return reason or f"{callback.monitor} stopped improving"
    return None


@dataclass
class FitResult:
    checkpoint: Path  # the last checkpoint
    steps: int  # optimizer steps made
    planned_steps: int


def _fit(
    config: str, data: str, root: Path, quick: bool, overrides: list[str] | None = None
) -> FitResult:
    """Train through the trainer CLI; warn loudly when a safety cap stopped it short."""
    from arvideo.training.cli import run_lightning_cli

    argv = ["fit", "--config", config, "--data.init_args.path", data]
    argv += ["--trainer.default_root_dir", str(root), *(overrides or [])]
    if quick:
        argv += ["--trainer.max_steps", "6", "--trainer.val_check_interval", "3"]
        argv += ["--trainer.enable_progress_bar", "false"]
    cli = run_lightning_cli(argv)
    planned, made = cli.trainer.max_steps, cli.trainer.global_step
    stopped = early_stop_message(cli.trainer)
    if stopped:
        Console().print(f"{Path(config).stem}: stopped early at step {made}: {stopped}")
    elif planned > 0 and made < planned:
        Console(stderr=True).print(
            f"[bold red]WARNING: {Path(config).stem} stopped at {made} of {planned} planned "
            "steps (the wall-clock safety cap): this model is undertrained and its numbers "
            "say little. Free the CPU or raise trainer.max_time.[/bold red]"
        )
    checkpoint = Path(cli.trainer.checkpoint_callback.last_model_path)
    return FitResult(checkpoint, made, planned)


def main_job(
    workdir: str = "outputs/demo",
    game: str = "Pong",
    frames: int = 43_200,
    context_frames: int = 4,
    num_frames: int = 16,
    quick: bool = False,
    fresh: bool = False,
    seed: int = 0,
    eval_windows: int = 64,
    temperature: float = 1.0,
    top_k: int | None = 1,
    change_threshold: float | None = None,
    keep_threshold: float | None = None,
    capacity: str = "auto",
) -> DemoSummary:
    """Collect real Atari data, train tiny models, and generate an action-conditioned video.

    Args:
        workdir: where data, runs, the model folder and the videos go.
        game: any ale-py game name.
        frames: frames to collect; the last 10% go to held-out episodes of their own (val).
            43,200 (~50 Pong episodes, ~1 min to collect and encode): at the generator's
            2,400 steps four times the data of 10,800 frames gave +1.9 dB foreground PSNR
            and +12 points of ball (benchmarks/results/learning.md, 2026-12-03).
        context_frames: real frames the rollout starts from.
        num_frames: frames of the video, context included.
        quick: a seconds-long version for tests (400 frames, a few training steps).
        fresh: redo every stage even if its output exists.
        seed: seed of collection and sampling.
        eval_windows: held-out windows on which the model is scored against copy-last-frame.
        temperature: sampling temperature of the rollouts.
        top_k: keep the k likeliest codes (1 = greedy; None = all). Chosen on 32 training-split
            windows of the main job's model: foreground PSNR 19.47 dB greedy, 19.09 at
            temperature 0.5, 18.19 at 1.0 (copy-last 17.31): independent sampling of a
            frame's tokens draws ghost paddles.
        change_threshold: a generated cell keeps the frame before's code unless the model
            gives its new code at least this probability (lm/change_gate.py; None: off).
            Off by default: chosen on validation episodes it was 0.8 on SpaceInvaders, where
            the rollout then equals copy-last (benchmarks/results/change_gate.md).
        keep_threshold: the change gate's mirror: a cell that drew the frame before's code,
            to which the model gives less than this, draws among its other codes (None:
            off; +1-3 points of Pong's ball at 4x4 cells, benchmarks/results/keep_gate.md).
        capacity: the tokenizer's cell size. "auto" counts the distinct 8x8 patches of the
            training frames and halves the cell to 4x4 when they exceed 10 per code (so
            SpaceInvaders and MsPacman get 4x4 cells, Pong and Breakout 8x8); "8" or "4"
            forces a size. The choice is printed and kept in capacity.json. On 4x4 cells the
            generator trains on 4-frame clips for half the steps (`generator_overrides`).
    """
    from arvideo.data.atari_games import resolve_game
    from arvideo.tokenizer_capacity import check_capacity

    game = resolve_game(game)  # an unknown name fails here, before any folder is made
    check_capacity(capacity)
    console = Console()
    work = Path(workdir)
    if fresh and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    clips, tokens = work / "data" / game.lower(), work / "data" / f"{game.lower()}-tokens"
    tokenizer_dir, model_dir = work / "tokenizer", work / "model"
    started = time.perf_counter()
    times = StageTimes()

    def stage(name: str, done: Path) -> bool:
        if done.exists():
            console.print(f"[dim]{name}: {done} exists, skipped[/dim]")
            times.skip(name)
            return False
        console.rule(name)
        return True

    if stage("collect", clips / "dataset.json"):
        from arvideo.data.atari import collect_atari

        with times.timed("collect"):
            collect_atari(
                game=game,
                frames=400 if quick else frames,
                out=str(clips),
                max_steps_per_episode=120 if quick else None,
                seed=seed,
            )
    if stage("tokenizer", tokenizer_dir / "config.json"):
        from arvideo.tokenizer_capacity import cell_overrides
        from arvideo.training.export import export_tokenizer

        with times.timed("tokenizer") as record:
            config = _tokenizer_yaml()
            choice = tokenizer_capacity(clips, config, capacity)
            console.print(choice.report())
            (work / "capacity.json").write_text(json.dumps(asdict(choice), indent=2))
            fit = _fit(
                _config("tokenizer.yaml"), str(clips), work / "runs" / "tokenizer", quick,
                cell_overrides(config, choice.cell),
            )  # fmt: skip
            export_tokenizer(str(fit.checkpoint), str(tokenizer_dir))
            record.steps, record.planned_steps = fit.steps, fit.planned_steps
    if stage("encode", tokens / "dataset.json"):
        from arvideo.training.encode import encode

        with times.timed("encode"):
            encode(tokenizer=str(tokenizer_dir), data=str(clips), out=str(tokens))
    if stage("generator", model_dir / "arvideo.json"):
        from arvideo.tokenizer_capacity import generator_overrides
        from arvideo.training.generator_export import export_generator

        with times.timed("generator") as record:
            cell = json.loads((tokens / "dataset.json").read_text())["spatial_compression"]
            fit = _fit(
                _config("generator.yaml"), str(tokens), work / "runs" / "generator", quick,
                generator_overrides(cell),
            )  # fmt: skip
            export_generator(str(fit.checkpoint), str(model_dir))
            record.steps, record.planned_steps = fit.steps, fit.planned_steps
    from arvideo.sample_clip import ensure_sample_clip

    ensure_sample_clip(model_dir, clips)  # a folder exported before samples were saved
    console.rule("generate")
    sampling = {"temperature": temperature, "top_k": top_k}
    gates = {"change_threshold": change_threshold, "keep_threshold": keep_threshold}
    sampling.update({name: value for name, value in gates.items() if value is not None})
    with times.timed("generate and score"):
        summary = rollout(
            model_dir, clips, work, context_frames, num_frames, seed, eval_windows, sampling
        )
    summary.seconds = time.perf_counter() - started
    summary.stages = times
    console.print(summary.report())
    summary.write_json(work / "summary.json")
    return summary


def _tokenizer_yaml() -> dict:
    """The `tokenizer` block of the main job's tokenizer YAML."""
    import yaml

    config = yaml.safe_load(Path(_config("tokenizer.yaml")).read_text())
    return config["model"]["init_args"]["tokenizer"]


def tokenizer_capacity(clips: Path, config: dict, capacity: str) -> CapacityChoice:
    """The cell size for this data set of the tokenizer `config` (the YAML's `tokenizer`
    block; see `main_job`'s `capacity`)."""
    from arvideo.data.patch_census import dataset_census
    from arvideo.tokenizer_capacity import choose_capacity

    census = dataset_census(clips, cell=config["spatial_compression"])
    return choose_capacity(census, config["bottleneck"]["codebook_size"], capacity)


@dataclass
class DemoSummary:
    mp4: str
    gif: str
    psnr_db: float  # generated frames against the truth
    copy_last_psnr_db: float  # the baseline: repeat the last context frame
    ms_per_frame: float
    score: WorldModelScore  # on many held-out windows, beside copy-last-frame
    seconds: float = 0.0
    stages: StageTimes = field(default_factory=StageTimes)

    def report(self) -> str:
        verdict = "beats" if self.score.beats_copy_last() else "does NOT beat"
        return (
            f"wrote {self.mp4} and {self.gif} (truth | model)\n"
            f"this clip: PSNR vs truth over the generated frames {self.psnr_db:.2f} dB "
            f"(copy-last-frame baseline: {self.copy_last_psnr_db:.2f} dB); "
            f"{self.ms_per_frame:.1f} ms per frame\n"
            f"{self.score.report()}\n"
            f"the world model {verdict} copy-last-frame on foreground PSNR; "
            f"main job {self.seconds:.0f} s: {self.stages.describe()}"
        )

    def write_json(self, path: Path) -> Path:
        """The numbers of this run, for benchmarks that compare runs (idle vs busy)."""
        record = {
            "psnr_db": self.psnr_db,
            "copy_last_psnr_db": self.copy_last_psnr_db,
            "ms_per_frame": self.ms_per_frame,
            "seconds": self.seconds,
            "stages": self.stages.to_dict(),
            "score": asdict(self.score),
        }
        path.write_text(json.dumps(record, indent=2, default=_plain))
        return path


def _plain(value):
    """numpy arrays and scalars as JSON lists and numbers."""
    return value.tolist() if hasattr(value, "tolist") else float(value)


def rollout(
    model_dir: Path,
    clips: Path,
    work: Path,
    context_frames: int,
    num_frames: int,
    seed: int,
    eval_windows: int,
    sampling: dict,
) -> DemoSummary:
    """Continue the first held-out clip from its first frames with its true actions (the
    video), and score the model on `eval_windows` held-out windows against copy-last."""
    from arvideo.generate import VideoGenerator
    from arvideo.generate_cli import load_context_clip, mean_psnr
    from arvideo.rollout_score import score_world_model

    generator = VideoGenerator.from_pretrained(model_dir)
    source = load_context_clip(clips, clip=0)
    truth = source.frames_THWC[:num_frames]
    c = min(context_frames, len(truth) - 1, generator.max_context_frames)
    output = generator(
        context=truth[:c],
        actions=source.actions_T[: len(truth) - 1],
        num_frames=len(truth) - c,
        seed=seed,
        **sampling,
    )
    mp4 = output.save(work / "rollout.mp4", truth=truth)
    gif = output.save(work / "rollout.gif", truth=truth)
    copy_last = np.repeat(truth[c - 1 : c], len(truth) - c, axis=0)
    return DemoSummary(
        mp4=str(mp4),
        gif=str(gif),
        psnr_db=mean_psnr(truth[c:], output.clip(0)[c:]),
        copy_last_psnr_db=mean_psnr(truth[c:], copy_last),
        ms_per_frame=output.timings.ms_per_frame,
        score=score_world_model(
            generator,
            str(clips),
            c,
            len(truth) - c,
            windows=eval_windows,
            seed=seed,
            per_window=True,
            **sampling,
        ),  # per window: the report's paired model - copy-last intervals
    )
