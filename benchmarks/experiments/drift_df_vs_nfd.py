"""`python benchmarks/experiments/drift_df_vs_nfd.py [--demo outputs/demo] [--work runs/drift]`:
issue 15's drift claim, tested in one run. Diffusion Forcing (independent noise level per
frame in training) sampled autoregressively with stabilization, against the same backbone
trained next_frame (clean history, no history noise), on long rollouts of held-out Pong.

Both world models read the same continuous latents: the main job's tokenizer recipe
(configs/demo/tokenizer.yaml, the cell encoder) with a continuous 8-channel bottleneck,
trained here on the main job's clips, then `arvideo encode`. Both generators get the main
job's generator sizes and schedule (width 64 x depth 4, batch 8, 8-frame clips, lr 1e-3,
`--steps` steps) from their shipped YAMLs (configs/lm/next_frame_flow_velocity.yaml,
diffusion_forcing_velocity.yaml), which differ only in the order and the NFD history
corruption (set to 0 here: the issue's "without history noise"). Each is rolled out with the
true actions for `--horizon` frames after 4 real ones on the same held-out windows, Euler
with `--denoise_steps` steps a frame; DF at each `--stabilization` level (0 = off).

`--models nfd nfd_complete` instead compares the two ways to train next-frame diffusion:
one noisy frame per clip behind a clean history (the loss sees 1 of 8 frames) against
complete teacher forcing (a clean copy of the clip ahead of a noisy one: all 8 in the loss),
`--models fs fs_no_context` full-sequence flow trained with and without clean leading
(context) frames, and `nfd_x0` next-frame diffusion whose head reads out clean latents
(x-prediction) instead of the velocity.

Every stage is reused when its folder is complete and every score is saved as it comes
(`<work>/scores.json`), so an interrupted run resumes. Prints PSNR and foreground PSNR at
horizons 1, 8, 32 and 128 (or the last) beside copy-last-frame, then every two models on
the same windows at horizons 1-8 and >= 32: the mean over windows of the paired difference
(each window averaged over those steps first), a 95% interval (1.96 standard errors over
windows), and in how many windows the one is closer than the other.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

CONTEXT = 4
REPORTED = (1, 8, 32, 128)
LONG = 32  # the claim's horizons: >= 32 frames after the context
ORDERS = {
    "nfd": "next_frame_flow", "nfd_complete": "next_frame_flow", "nfd_x0": "next_frame_flow",
    "df": "diffusion_forcing",
    "fs": "full_sequence_flow", "fs_no_context": "full_sequence_flow",
}  # fmt: skip
# overrides of the shipped YAML per model: NFD without history noise (the baseline),
# NFD trained with complete teacher forcing (every frame of a clip in the loss), and
# full-sequence flow trained without clean leading frames (as before 2026-12-04)
OVERRIDES = {
    "nfd_x0": [  # x-prediction: the head reads out clean latents
        "--model.init_args.lm.history_corruption", "0",
        "--model.init_args.lm.order_options",
        '{"time_sampling": "logit_normal", "prediction": "x0"}',
    ],
    "fs_no_context": [  # as JSON: a dotted key would pass the string "false"
        "--model.init_args.lm.order_options",
        '{"time_sampling": "logit_normal", "clean_context": false}',
    ],
    "nfd": ["--model.init_args.lm.history_corruption", "0"],
    "nfd_complete": [
        "--model.init_args.lm.history_corruption", "0",
        "--model.init_args.lm.order_options.teacher_forcing", "complete",
    ],
}  # fmt: skip


def fit(argv: list[str]) -> str:
    """Train through the trainer CLI; the last checkpoint's path."""
    from arvideo.training.cli import run_lightning_cli

    cli = run_lightning_cli(["fit", *argv])
    print(f"{argv[1]}: {cli.trainer.global_step} steps", flush=True)
    return cli.trainer.checkpoint_callback.last_model_path


def continuous_tokenizer(demo: Path, work: Path, steps: int) -> Path:
    """The main job's tokenizer recipe with a continuous bottleneck (reused when saved)."""
    from arvideo.main_job import REPO_CONFIGS
    from arvideo.training.export import export_tokenizer

    folder = work / "tokenizer"
    if not (folder / "config.json").exists():
        checkpoint = fit([
            "--config", str(REPO_CONFIGS / "tokenizer.yaml"),
            "--data.init_args.path", str(demo / "data" / "pong"),
            "--model.init_args.tokenizer.bottleneck.kind", "continuous",
            "--trainer.max_steps", str(steps),
            "--trainer.default_root_dir", str(work / "runs_tokenizer"),
        ])  # fmt: skip
        export_tokenizer(checkpoint, str(folder))
    return folder


def latents(demo: Path, work: Path, tokenizer: Path) -> Path:
    from arvideo.training.encode import encode

    out = work / "pong-latents"
    if not (out / "dataset.json").exists():
        encode(tokenizer=str(tokenizer), data=str(demo / "data" / "pong"), out=str(out))
    return out


def generator(name: str, data: Path, work: Path, steps: int, seed: int = 0) -> Path:
    """A model folder of the order's shipped YAML at the main job's sizes and schedule."""
    from arvideo.training.generator_export import export_generator

    model = work / f"model_{name}"
    if (model / "arvideo.json").exists():
        return model
    config = Path(__file__).parents[2] / "configs" / "lm" / f"{ORDERS[name]}_velocity.yaml"
    argv = ["--config", str(config), "--data.init_args.path", str(data)]
    argv += ["--model.init_args.lm.width", "64", "--model.init_args.lm.depth", "4"]
    argv += ["--model.init_args.lm.heads", "4", "--data.init_args.batch_size", "8"]
    argv += ["--model.init_args.optimizer.lr", "1e-3"]
    argv += ["--model.init_args.optimizer.warmup_steps", "50"]
    argv += ["--trainer.max_steps", str(steps), "--trainer.max_time", "00:02:00:00"]
    argv += ["--trainer.default_root_dir", str(work / f"runs_{name}")]
    argv += ["--seed_everything", str(seed)]  # weights and data order
    argv += OVERRIDES.get(name, [])
    export_generator(fit(argv), str(model))
    return model


def line(key: str, model: dict, copy: dict) -> str:
    psnr, fg = model["psnr_by_step_db"], model["foreground_psnr_by_step_db"]
    copy_psnr, copy_fg = copy["psnr_by_step_db"], copy["foreground_psnr_by_step_db"]
    cells = [
        f"h{h} {psnr[h - 1]:.2f}/{fg[h - 1]:.2f} (copy {copy_psnr[h - 1]:.2f}/{copy_fg[h - 1]:.2f})"
        for h in REPORTED
        if h <= len(psnr)
    ]
    # the windows scored: fewer than asked when the episodes hold fewer of this length
    return f"{key} ({model['windows']} windows): PSNR/fg dB " + ", ".join(cells)


def paired(a: dict, b: dict, metric: str, steps: slice) -> str:
    """a minus b in `metric` ("psnr_db" or "foreground_psnr_db") over the horizon `steps`,
    paired by window (each window averaged over those steps first): mean ± the 95% interval
    of the paradigm bench (`window_spread`), and in how many windows a is the closer."""
    import torch

    from arvideo.bench.paradigms.rollout_eval import window_spread

    def per_window(score: dict) -> torch.Tensor:
        return torch.tensor(score["by_window"][metric])[:, steps].nanmean(1)

    diff = per_window(a) - per_window(b)
    diff = diff[diff.isfinite()]
    half = window_spread(diff[None, :, None])
    closer = f"closer in {int((diff > 0).sum())}/{len(diff)}"
    return f"{float(diff.mean()):+.2f} ± {half or float('nan'):.2f} dB ({closer})"


def compare(scores: dict, keys: list[str], horizon: int) -> None:
    """Every pair of models scored here with per-window values (a later one against an
    earlier one), at horizons 1-8 and, for long rollouts, >= LONG (the drift claim)."""
    kept = [k for k in keys if scores[k]["model"].get("by_window")]
    ranges = {"h1-8": slice(0, 8)} | (
        {f"h>={LONG}": slice(LONG - 1, None)} if horizon >= LONG else {}
    )
    for i, b in enumerate(kept):
        for a in kept[i + 1 :]:
            for label, steps in ranges.items():
                x, y = scores[a]["model"], scores[b]["model"]
                print(
                    f"{a.split('|steps')[0]} - {b.split('|steps')[0]}, {label}: "
                    f"PSNR {paired(x, y, 'psnr_db', steps)}, "
                    f"fg {paired(x, y, 'foreground_psnr_db', steps)}",
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", default="outputs/demo", help="the main job's folder")
    parser.add_argument("--work", default="runs/drift")
    parser.add_argument("--tokenizer_steps", type=int, default=3000)
    parser.add_argument("--steps", type=int, default=1500, help="generator steps")
    parser.add_argument("--horizon", type=int, default=128)
    parser.add_argument("--windows", type=int, default=16)
    parser.add_argument("--denoise_steps", type=int, default=4)
    parser.add_argument("--train_seed", type=int, default=0, help="generators' seed_everything")
    parser.add_argument(
        "--eval_clips", default=None,
        help="clips to score on (default: the demo's Pong clips); a collection the models "
        "never saw (another --seed) gives more windows than the held-out split",
    )  # fmt: skip
    parser.add_argument("--eval_split", default="val", choices=["train", "val"])
    parser.add_argument("--stabilization", type=float, nargs="+", default=[0.0, 0.05, 0.1])
    parser.add_argument(
        "--models", nargs="+", default=["nfd", "df"], choices=sorted(ORDERS),
        help="df is scored at every --stabilization level, the NFD models at 0",
    )  # fmt: skip
    args = parser.parse_args()
    from arvideo.generate import VideoGenerator
    from arvideo.rollout_score import score_world_model, training_background

    demo, work = Path(args.demo), Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    data = latents(demo, work, continuous_tokenizer(demo, work, args.tokenizer_steps))
    clips = args.eval_clips or str(demo / "data" / "pong")
    background = training_background(clips)
    runs = [(name, 0.0) for name in args.models if name != "df"]
    runs += [("df", level) for level in args.stabilization if "df" in args.models]
    scores_file = work / "scores.json"
    keys = []
    for name, level in runs:
        key = f"{name}|stabilization={level}|steps={args.denoise_steps}|h={args.horizon}"
        key += f"|windows={args.windows}"  # a score is reused only for the same windows
        if args.eval_clips:
            key += f"|clips={args.eval_clips}|split={args.eval_split}"
        keys.append(key)
        scores = json.loads(scores_file.read_text()) if scores_file.exists() else {}
        if key not in scores:
            folder = generator(name, data, work, args.steps, args.train_seed)
            model = VideoGenerator.from_pretrained(folder)
            score = score_world_model(
                model, clips, CONTEXT, args.horizon, windows=args.windows,
                background_CHW=background, steps=args.denoise_steps, stabilization=level,
                per_window=True, split=args.eval_split,
            )  # fmt: skip
            scores[key] = {"model": asdict(score.model), "copy": asdict(score.copy_last)}
            scores_file.write_text(json.dumps(scores, indent=1, default=str))
        print(line(key, scores[key]["model"], scores[key]["copy"]), flush=True)
    compare(scores, keys, args.horizon)


if __name__ == "__main__":
    main()
