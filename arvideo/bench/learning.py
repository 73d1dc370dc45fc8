"""`arvideo bench learning`: learning curves of the shipped world-model recipe, per model size.

Each size trains with `arvideo fit` on the generator YAML the main job ships
(configs/demo/generator.yaml unless `generator_config` names another), changing only width,
depth and the step count, with a `LearningCurve` callback that scores the model every `every_steps`
steps on held-out windows (foreground PSNR and the ball per horizon step, the agent's
paddle, the token loss) beside copying the last frame. Sizes whose curve already reached
`steps` are reused, so the bench can be split across runs. A size stopped short (killed, or
out of session) resumes from the training state saved with its last curve point, keeping its
points; only a run with no such state, or one planned for another step count (another cosine
schedule), starts again from step 0. Writes learning.{md,json} and learning.png under `out`.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

from arvideo.bench.report import (
    Column,
    command_line,
    machine_info,
    markdown_table,
    run_header,
    write_results,
)
from arvideo.training.learning_curve import read_curve, resume_checkpoint

DEMO_GENERATOR = Path(__file__).resolve().parents[2] / "configs" / "demo" / "generator.yaml"


@dataclass(frozen=True)
class ModelSize:
    width: int
    depth: int

    @classmethod
    def parse(cls, text: str) -> ModelSize:
        """'128x4' -> width 128, depth 4."""
        try:
            width, depth = (int(part) for part in text.lower().split("x"))
        except ValueError as error:
            raise ValueError(f"size {text!r}: write WIDTHxDEPTH, e.g. 128x4") from error
        if width < 1 or depth < 1:
            raise ValueError(f"size {text!r}: width and depth must be >= 1")
        return cls(width, depth)

    @property
    def tag(self) -> str:
        return f"w{self.width}_d{self.depth}"


def bench_learning(
    tokens: str = "outputs/demo/data/pong-tokens",
    sizes: list[str] | None = None,
    steps: int = 1500,
    every_steps: int = 250,
    generator_config: str | None = None,
    out: str = "benchmarks/results",
    runs: str = "runs/learning",
    windows: int = 32,
    context: int = 4,
    horizon: int = 8,
    seed: int = 0,
    report_only: bool = False,
    compile_backbone: bool | None = None,
    keep_models: bool = False,
) -> dict:
    """Train each size for `steps` steps and report its learning curve.

    Args:
        tokens: a token data set (`arvideo encode`) whose manifest names its clip data set
            (default: the main job's).
        sizes: WIDTHxDEPTH per model (default 64x4 and 128x4).
        steps: optimizer steps per size (the cosine schedule's length).
        every_steps: steps between curve points.
        generator_config: the generator YAML (default: the main job's). Not `config`: the
            command line keeps `--config` for a file of these arguments.
        out: folder of the results files.
        runs: folder of the training runs and curve files (reused when complete).
        windows, context, horizon: held-out evaluation windows, real and generated frames.
        seed: training and sampling seed.
        report_only: train nothing; report the curves on disk as they are (a size stopped
            short shows the points it reached, and the table says so).
        compile_backbone: `torch.compile` the backbone's blocks for training (None: as the
            generator YAML says; the main job's says no): faster steps, the same model up to
            float rounding.
        keep_models: write each curve point's model as a model folder
            (`<runs>/<size>/models/step_NNNNNN`), for diagnostics along the curve.
    """
    parsed = [ModelSize.parse(s) for s in (sizes or ["64x4", "128x4"])]
    if steps < 1 or every_steps < 1:
        raise ValueError(f"steps={steps} and every_steps={every_steps} must be >= 1")
    curves = {}
    for size in parsed:
        curve_file = Path(runs) / size.tag / "curve.jsonl"
        if not report_only and not _complete(curve_file, steps):
            _train(size, tokens, steps, every_steps, generator_config, curve_file, windows,
                   context, horizon, seed, compile_backbone, keep_models)  # fmt: skip
        curves[size.tag] = read_curve(curve_file)
    short = [tag for tag, points in curves.items() if not points or points[-1]["step"] < steps]
    data = {"steps": steps, "every_steps": every_steps, "curves": curves, "stopped_short": short}
    extra = {"tokens": tokens, "config": str(generator_config or DEMO_GENERATOR),
             "windows": windows, "context": context, "horizon": horizon, "seed": seed,
             "compile_backbone": "as the config says" if compile_backbone is None
             else compile_backbone}  # fmt: skip
    markdown = run_header("Learning curves", command_line(), machine_info(), extra)
    markdown += "\n\n" + markdown_table(curve_rows(curves), ROW_COLUMNS) + "\n"
    if short:
        markdown += f"\nStopped short of {steps} steps (points up to where they stopped): "
        markdown += ", ".join(short) + "\n"
    paths = write_results(out, "learning", data, markdown)
    plot_curves(curves, Path(out) / "learning.png")
    print(markdown)
    return {name: str(path) for name, path in paths.items()}


def _complete(curve_file: Path, steps: int) -> bool:
    points = read_curve(curve_file)
    return bool(points) and points[-1]["step"] >= steps


def _train(size, tokens, steps, every_steps, config, curve_file, windows, context, horizon, seed,
           compile_backbone=None, keep_models=False):  # fmt: skip
    from arvideo.training.cli import run_lightning_cli

    resume = _resumable(curve_file, steps)
    if resume is None and curve_file.parent.exists():  # nothing to resume: from step 0
        shutil.rmtree(curve_file.parent)
    callback = {
        "class_path": "arvideo.training.learning_curve.LearningCurve",
        "init_args": {"out": str(curve_file), "every_steps": every_steps, "windows": windows,
                      "context": context, "horizon": horizon, "seed": seed,
                      "save_models": keep_models, "checkpoint": True},
    }  # fmt: skip
    compiled = [] if compile_backbone is None else [
        "--model.init_args.compile_backbone", str(compile_backbone).lower()]  # fmt: skip
    run_lightning_cli([
        "fit", "--config", str(config or DEMO_GENERATOR), "--data.init_args.path", tokens,
        "--model.init_args.lm.width", str(size.width),
        "--model.init_args.lm.depth", str(size.depth),
        "--trainer.max_steps", str(steps), "--trainer.max_time", "null",
        "--trainer.default_root_dir", str(curve_file.parent), "--seed_everything", str(seed),
        f"--trainer.callbacks+={json.dumps(callback)}", *compiled,
        *([] if resume is None else ["--ckpt_path", str(resume)]),
    ])  # fmt: skip


def _resumable(curve_file: Path, steps: int) -> Path | None:
    """The saved training state of a run of `steps` steps that stopped short, with its curve
    cut back to the points that state had measured; None when there is none to go on from."""
    import torch

    checkpoint = resume_checkpoint(curve_file)
    if not checkpoint.is_file():
        return None
    # mmap: only the step and the hyperparameters are read here; fit loads the weights
    state = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)
    planned = state.get("hyper_parameters", {}).get("max_steps")
    step = state["global_step"]
    if planned != steps:
        print(f"{curve_file.parent.name}: its saved run planned {planned} steps, not {steps}: "
              "training again from step 0")  # fmt: skip
        return None
    kept = [point for point in read_curve(curve_file) if point["step"] <= step]
    curve_file.write_text("".join(json.dumps(point) + "\n" for point in kept))
    print(f"{curve_file.parent.name}: resuming at step {step} of {steps} "
          f"({len(kept)} curve points kept)")  # fmt: skip
    return checkpoint


ROW_COLUMNS = [
    Column("size"), Column("step"), Column("train_min", "train min", 1),
    Column("tokens_seen", "tokens seen"), Column("val_loss", "val loss", 3),
    Column("fg_h1", "fg PSNR h1"), Column("fg_hN", "fg PSNR last h"),
    Column("fg", "fg PSNR mean"), Column("copy_fg", "copy-last fg mean"),
    Column("ball", "ball ≤2px", 3), Column("ball_ci95", "± (95%, windows)", 3),
    Column("ball_h1", "ball ≤2px h1", 3),
    Column("ball_hN", "ball ≤2px last h", 3), Column("paddle", "agent paddle ≤1px", 3),
]  # fmt: skip


def curve_rows(curves: dict[str, list[dict]]) -> list[dict]:
    rows = []
    for tag, points in curves.items():
        for point in points:
            model, copy = point["model"], point["copy_last"]
            ball = model.get("ball") or {}
            by_step = ball.get("within_2px_by_step") or [math.nan]
            fg_steps = model["foreground_psnr_by_step_db"] or [math.nan]
            rows.append({
                "size": tag, "step": point["step"], "train_min": point["train_s"] / 60,
                "tokens_seen": point["tokens_seen"], "val_loss": point["val_loss"],
                "fg_h1": fg_steps[0], "fg_hN": fg_steps[-1],
                "fg": model["foreground_psnr_db"], "copy_fg": copy["foreground_psnr_db"],
                "ball": ball.get("within_2px"), "ball_ci95": ball.get("within_2px_ci95"),
                "ball_h1": by_step[0], "ball_hN": by_step[-1],
                "paddle": ball.get("agent_paddle_within_1px"),
            })  # fmt: skip
    return rows


def plot_curves(curves: dict[str, list[dict]], path: Path) -> Path:
    """Three panels against training minutes: token loss, foreground PSNR (copy-last dashed),
    the ball within 2 px."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for tag, rows in _rows_by_size(curves).items():
        minutes = [r["train_min"] for r in rows]
        axes[0].plot(minutes, [r["val_loss"] for r in rows], marker="o", label=tag)
        line = axes[1].plot(minutes, [r["fg"] for r in rows], marker="o", label=tag)[0]
        axes[1].plot(minutes, [r["copy_fg"] for r in rows], ls="--", color=line.get_color())
        axes[2].plot(minutes, [r["ball"] for r in rows], marker="o", label=tag)
    titles = ("val token loss", "foreground PSNR dB (dashed: copy-last)", "ball within 2 px")
    for axis, title in zip(axes, titles):
        axis.set_title(title)
        axis.set_xlabel("training minutes")
        axis.grid(alpha=0.3)
    axes[0].legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _rows_by_size(curves: dict[str, list[dict]]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in curve_rows(curves):
        grouped.setdefault(row["size"], []).append(row)
    return grouped
