"""`python benchmarks/experiments/data_steps_ab.py [--demo outputs/demo] [--work runs/ab]`:
the main job's generator recipe (configs/demo/generator.yaml) on the main job's tokens and
on four times the frames, at 1,200 and 2,400 steps, every model scored on both data sets'
held-out windows (64 windows, 4 real + 12 generated frames, greedy).

The larger set is collected with seed 1 (other episodes than the main job's seed 0) and
coded by the main job's tokenizer, so only the generator's data and steps change. Each
score is saved as it comes (`<work>/scores.json`) and a finished model is reused, so an
interrupted run resumes. Prints one line per model and window set.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

LARGE_FRAMES, LARGE_SEED = 43_200, 1
STEPS = (1200, 2400)
WINDOWS, CONTEXT, HORIZON = 64, 4, 12


def large_tokens(demo: Path, work: Path) -> tuple[Path, Path]:
    """The larger clip set and its tokens (collected and encoded once)."""
    from arvideo.data.atari import collect_atari
    from arvideo.training.encode import encode

    clips, tokens = work / "pong", work / "pong-tokens"
    if not (clips / "dataset.json").exists():
        collect_atari(game="Pong", frames=LARGE_FRAMES, out=str(clips), seed=LARGE_SEED)
    if not (tokens / "dataset.json").exists():
        encode(tokenizer=str(demo / "tokenizer"), data=str(clips), out=str(tokens))
    return clips, tokens


def trained(name: str, tokens: Path, steps: int, work: Path) -> Path:
    """A model folder of the demo recipe at `steps` on `tokens` (reused when present)."""
    from arvideo.main_job import REPO_CONFIGS
    from arvideo.training.cli import run_lightning_cli
    from arvideo.training.generator_export import export_generator

    model = work / f"model_{name}"
    if (model / "arvideo.json").exists():
        return model
    argv = ["fit", "--config", str(REPO_CONFIGS / "generator.yaml")]
    argv += ["--data.init_args.path", str(tokens), "--trainer.max_steps", str(steps)]
    argv += ["--trainer.default_root_dir", str(work / f"runs_{name}")]
    cli = run_lightning_cli(argv)
    print(f"{name}: {cli.trainer.global_step} of {steps} steps", flush=True)
    export_generator(cli.trainer.checkpoint_callback.last_model_path, str(model))
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", default="outputs/demo", help="the main job's folder")
    parser.add_argument("--work", default="runs/data_steps_ab")
    args = parser.parse_args()
    from arvideo.generate import VideoGenerator
    from arvideo.rollout_score import score_world_model

    demo, work = Path(args.demo), Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    clips, tokens = large_tokens(demo, work)
    window_sets = {"main_job_val": demo / "data" / "pong", "large_val": clips}
    scores_file = work / "scores.json"
    for data_name, data_tokens in (("main_job", demo / "data" / "pong-tokens"), ("x4", tokens)):
        for steps in STEPS:
            name = f"{data_name}_{steps}"
            generator = VideoGenerator.from_pretrained(trained(name, data_tokens, steps, work))
            for windows_name, windows in window_sets.items():
                scores = json.loads(scores_file.read_text()) if scores_file.exists() else {}
                key = f"{name}|{windows_name}"
                if key not in scores:
                    score = score_world_model(
                        generator, str(windows), CONTEXT, HORIZON, windows=WINDOWS, top_k=1
                    )
                    scores[key] = {"model": asdict(score.model), "copy": asdict(score.copy_last)}
                    scores_file.write_text(json.dumps(scores, indent=1, default=str))
                model, copy = scores[key]["model"], scores[key]["copy"]
                print(
                    f"{key}: fg {model['foreground_psnr_db']:.2f} dB (copy-last "
                    f"{copy['foreground_psnr_db']:.2f}), ball {model['ball']['within_2px']:.1%}, "
                    f"paddle {model['ball']['agent_paddle_within_1px']:.1%}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
