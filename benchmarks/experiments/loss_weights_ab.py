"""A/B: the main job's tokenizer with its fixed loss weights (50 / 500 / 100, tuned on Pong)
against weights derived from each game's own pixel statistics (`loss.weights: data`,
arvideo/data/frame_statistics.py), at the main job's budget (43,200 frames, 4,000 steps);
and its capacity: the VQ-1024 codebook on 8x8-pixel cells ("fixed") against VQ-4096
("vq4096"), a residual VQ of two 1,024-code levels ("rvq2", two codes per cell) and 4x4-pixel
cells ("c4", 4x the tokens).

One (game, variant) per call, so two run side by side on two cores; each result is saved as
`<work>/<game>/weights_<variant>/row.json` and reused, and `--report` prints the table of all rows.

    OMP_NUM_THREADS=1 python benchmarks/experiments/loss_weights_ab.py SpaceInvaders fixed &
    OMP_NUM_THREADS=1 python benchmarks/experiments/loss_weights_ab.py SpaceInvaders data
    python benchmarks/experiments/loss_weights_ab.py --report
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "demo" / "tokenizer.yaml"
VARIANTS = {  # name -> overrides of configs/demo/tokenizer.yaml
    "fixed": ["--model.init_args.loss.weights", "fixed"],
    "data": ["--model.init_args.loss.weights", "data"],
    "vq4096": ["--model.init_args.tokenizer.bottleneck.codebook_size", "4096"],
    "rvq2": [
        "--model.init_args.tokenizer.bottleneck.kind", "rvq",
        "--model.init_args.tokenizer.bottleneck.rvq_depth", "2",
    ],
    # 4x compression: 4x4-pixel cells, a 16x16 grid (4x the tokens a generator predicts)
    "c4": [
        "--model.init_args.tokenizer.spatial_compression", "4",
        "--model.init_args.tokenizer.widths", "[64]",  # one stage below the 4x4 stem
    ],
}  # fmt: skip


def collect(game: str, work: Path) -> Path:
    from arvideo.data.atari import collect_atari

    data = work / game.lower() / "data"
    if not (data / "dataset.json").is_file():  # collections of the same seed are identical
        collect_atari(game=game, frames=43_200, out=str(data), seed=0, progress=False)
    return data


def train(data: Path, variant: str, folder: Path) -> dict:
    """Fit and export the tokenizer; its steps and wall time."""
    from arvideo.training.cli import run_lightning_cli
    from arvideo.training.export import export_tokenizer

    started = time.perf_counter()
    argv = ["fit", "--config", str(CONFIG), "--data.init_args.path", str(data),
            "--trainer.default_root_dir", str(folder / "run"),
            "--trainer.enable_progress_bar", "false", *VARIANTS[variant]]  # fmt: skip
    cli = run_lightning_cli(argv)
    checkpoint = Path(cli.trainer.checkpoint_callback.last_model_path)
    export_tokenizer(str(checkpoint), str(folder / "tokenizer"), overwrite=True)
    loss = cli.model.loss_config
    return {
        "steps": cli.trainer.global_step, "train_s": time.perf_counter() - started,
        "foreground_weight": loss.foreground_weight, "motion_weight": loss.motion_weight,
        "error_weight": loss.error_weight,
    }  # fmt: skip


def measure(data: Path, folder: Path, clips: int = 64) -> dict:
    """The tokenizer bench's numbers on `clips` held-out clips (as `arvideo bench games`)."""
    from arvideo.bench.tokenizers import eval_frames, evaluate_tokenizer
    from arvideo.metrics import median_background
    from arvideo.tokenizer import VideoTokenizer
    from arvideo.training.tokenizer_runs import val_clips

    tokenizer = VideoTokenizer.from_pretrained(folder / "tokenizer")
    real = val_clips(str(data), None, clips)
    real = real[:, :, : eval_frames(tokenizer, real.shape[2])]
    background = median_background(val_clips(str(data), 1, 64, "train"))
    numbers, _ = evaluate_tokenizer(tokenizer, real, background)
    return numbers


def run(game: str, variant: str, work: Path) -> dict:
    folder = work / game.lower() / f"weights_{variant}"  # beside data/, never in it
    saved = folder / "row.json"
    if saved.is_file():
        return json.loads(saved.read_text())
    data = collect(game, work)
    row = {"game": game, "variant": variant, **train(data, variant, folder)}
    row.update(measure(data, folder))
    folder.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(row, indent=2))
    return row


def report(work: Path) -> str:
    rows = [json.loads(p.read_text()) for p in sorted(work.glob("*/*/row.json"))]
    keys = ["game", "variant", "foreground_weight", "motion_weight", "psnr", "foreground_psnr",
            "stable_kept", "codes_per_patch", "steps", "train_s"]  # fmt: skip
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        cells = [row.get(k) for k in keys]
        lines.append("| " + " | ".join(
            f"{c:.2f}" if isinstance(c, float) else str(c) for c in cells) + " |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("game", nargs="?")
    parser.add_argument("variant", nargs="?", choices=VARIANTS)
    parser.add_argument("--work", default="runs/loss_weights")
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    work = Path(args.work)
    if not args.report:
        if not (args.game and args.variant):
            parser.error("give GAME VARIANT, or --report")
        print(json.dumps(run(args.game, args.variant, work), indent=2))
    print(report(work))


if __name__ == "__main__":
    main()
