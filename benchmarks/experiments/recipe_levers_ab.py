"""`python benchmarks/experiments/recipe_levers_ab.py [--levers ema history] [--demo outputs/demo]`:
issue 13's recipe levers as A/Bs against the main job's own world model. Each lever retrains
the main job's generator recipe (configs/demo/generator.yaml: next_block x categorical, width
64 x depth 4, 2,400 steps, the same seed) on the main job's tokens with one change:

- `ema`: sampling with EMA weights (`--model.init_args.ema_decay 0.999`, warmed up);
- `history`: history corruption, 5% of the context codes replaced by random codes in
  training (`--model.init_args.lm.history_corruption 0.05`).

Every model, the main job's included (the A), is scored greedily on the same 64 held-out
windows (4 real + 12 generated frames, true actions), as the main job scores itself. A
finished model is reused and every score is saved as it comes (`<work>/scores.json`).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

LEVERS = {
    "ema": ["--model.init_args.ema_decay", "0.999"],
    "history": ["--model.init_args.lm.history_corruption", "0.05"],
}
WINDOWS, CONTEXT, HORIZON = 64, 4, 12


def trained(lever: str, demo: Path, work: Path, steps: int | None) -> Path:
    """The main job's generator recipe with one lever (reused when exported)."""
    from arvideo.main_job import REPO_CONFIGS
    from arvideo.training.cli import run_lightning_cli
    from arvideo.training.generator_export import export_generator

    model = work / f"model_{lever}"
    if (model / "arvideo.json").exists():
        return model
    argv = ["fit", "--config", str(REPO_CONFIGS / "generator.yaml"), *LEVERS[lever]]
    argv += ["--data.init_args.path", str(demo / "data" / "pong-tokens")]
    argv += ["--trainer.default_root_dir", str(work / f"runs_{lever}")]
    if steps is not None:  # a quick check of the script; the A/B keeps the recipe's 2,400
        argv += ["--trainer.max_steps", str(steps)]
    cli = run_lightning_cli(argv)
    print(f"{lever}: {cli.trainer.global_step} steps", flush=True)
    export_generator(cli.trainer.checkpoint_callback.last_model_path, str(model))
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levers", nargs="+", default=list(LEVERS), choices=list(LEVERS))
    parser.add_argument("--demo", default="outputs/demo", help="the main job's folder")
    parser.add_argument("--work", default="runs/recipe_levers")
    parser.add_argument("--steps", type=int, default=None, help="override (checks only)")
    args = parser.parse_args()
    from arvideo.generate import VideoGenerator
    from arvideo.rollout_score import score_world_model, training_background

    demo, work = Path(args.demo), Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    clips = str(demo / "data" / "pong")
    background = training_background(clips)
    scores_file = work / "scores.json"
    for name in ["main_job", *args.levers]:
        scores = json.loads(scores_file.read_text()) if scores_file.exists() else {}
        if name not in scores:
            folder = demo / "model" if name == "main_job" else trained(name, demo, work, args.steps)
            score = score_world_model(
                VideoGenerator.from_pretrained(folder), clips, CONTEXT, HORIZON,
                windows=WINDOWS, background_CHW=background, top_k=1,
            )  # fmt: skip
            scores[name] = {"model": asdict(score.model), "copy": asdict(score.copy_last)}
            scores_file.write_text(json.dumps(scores, indent=1, default=str))
        model, copy = scores[name]["model"], scores[name]["copy"]
        ball = model["ball"]
        early = [v for v in ball["within_2px_by_step"][:8] if v == v]  # NaN: no ball shown
        print(
            f"{name}: fg {model['foreground_psnr_db']:.2f} dB (copy-last "
            f"{copy['foreground_psnr_db']:.2f}), ball within 2 px {ball['within_2px']:.1%}, "
            f"h1-8 {sum(early) / max(len(early), 1):.1%}, paddle "
            f"{ball['agent_paddle_within_1px']:.1%}",
            flush=True,
        )


if __name__ == "__main__":
    main()
