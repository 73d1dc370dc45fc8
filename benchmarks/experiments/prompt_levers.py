"""Issue 16: which lever makes a text-conditioned generator follow its prompt, as an A/B.

Each variant is the bench's generator YAML (configs/lm/shapes_text_<paradigm>.yaml) with
trainer overrides, trained through the one trainer on the bench's own data and tokens
(`arvideo bench prompts --runs RUNS` must have made them: data and tokenizers are reused),
then scored like the bench: the first PROMPTS captions of the val (seen) and unseen splits,
SEEDS samples each, at the guidance settings and sampling options listed. Results append
to RUNS/levers/results.jsonl, one line per (variant, sampling, guidance), and a variant
whose model and line exist is skipped, so the experiment resumes.

python benchmarks/experiments/prompt_levers.py RUNS VARIANT [VARIANT ...]
  VARIANT = name from VARIANTS below.  Environment: STEPS (default: the YAML's).
python benchmarks/experiments/prompt_levers.py RUNS --table    # results.jsonl as markdown
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from arvideo.bench.prompts import evaluate as ev
from arvideo.bench.prompts.budget import RECIPES
from arvideo.bench.prompts.stages import Layout, fit

LM = "--model.init_args.lm."
STEPS_2400 = ("--trainer.max_steps", "2400")  # the cosine schedule follows (linked)
LR_2E3 = ("--model.init_args.optimizer.lr", "2.0e-3")
TOKEN_ORDER = (LM + "order", "next_token", LM + "refine", "false")
# name -> (paradigm, trainer overrides)
VARIANTS = {
    "base": ("next_block_categorical", ()),
    "prefix": ("next_block_categorical", (LM + "text_prefix", "true")),
    "prefix_w128": ("next_block_categorical", (LM + "text_prefix", "true", LM + "width", "128")),
    "w128": ("next_block_categorical", (LM + "width", "128")),
    "prefix_s2400": ("next_block_categorical", (LM + "text_prefix", "true", *STEPS_2400)),
    "prefix_lr2e-3": ("next_block_categorical", (LM + "text_prefix", "true", *LR_2E3)),
    "prefix_w128_s2400": (
        "next_block_categorical",
        (LM + "text_prefix", "true", LM + "width", "128", *STEPS_2400),
    ),
    "prefix_s2400_lr2e-3": (
        "next_block_categorical",
        (LM + "text_prefix", "true", *STEPS_2400, *LR_2E3),
    ),
    # raster order inside a frame: each token sees the frame's tokens drawn before it, where
    # next_block draws them in parallel (an edge cell then disagrees with its neighbours)
    "next_token": ("next_block_categorical", TOKEN_ORDER),
    "next_token_w128": ("next_block_categorical", (*TOKEN_ORDER, LM + "width", "128")),
    "flow_prefix": ("next_frame_flow_velocity", (LM + "text_prefix", "true")),
    "flow_prefix_w128": (
        "next_frame_flow_velocity",
        (LM + "text_prefix", "true", LM + "width", "128"),
    ),
}
# sampling options tried on every trained categorical variant
CATEGORICAL_SAMPLING = {
    "t0.5_r8": {"temperature": 0.5, "refine_steps": 8},  # the bench's (budget.py)
    "t1_r4": {"temperature": 1.0, "refine_steps": 4},
    "greedy_r8": {"top_k": 1, "refine_steps": 8},
}
# next_token draws one token per step: no within-frame refinement
TOKEN_SAMPLING = {
    "t0.5": {"temperature": 0.5},
    "t1": {"temperature": 1.0},
    "greedy": {"top_k": 1},
}
GUIDANCE = (ev.Guidance(1.0, "constant"), ev.Guidance(3.0, "constant"))
PROMPTS, SEEDS = 48, 2


def train(layout: Layout, name: str, steps: int | None) -> Path:
    from arvideo.training.generator_export import export_generator

    paradigm, overrides = VARIANTS[name]
    folder = layout.root / "levers" / name
    model = folder / "model"
    if not (folder / "train.json").is_file():
        start = time.perf_counter()
        cli = fit(RECIPES[paradigm].generator_config, layout.tokens(RECIPES[paradigm].tokenizer),
                  folder / "runs", steps, overrides, seed=0)  # fmt: skip
        export_generator(cli.trainer.checkpoint_callback.last_model_path, str(model),
                         overwrite=True)  # fmt: skip
        record = {
            "steps": cli.trainer.global_step,
            "seconds": time.perf_counter() - start,
            "val_loss": float(cli.trainer.callback_metrics.get("val/loss", float("nan"))),
        }
        (folder / "train.json").write_text(json.dumps(record))
    return model


def done_keys(results: Path) -> set:
    if not results.is_file():
        return set()
    lines = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    return {(r["variant"], r["sampling"], r["guidance"]) for r in lines}


def samplings_for(name: str, paradigm: str) -> dict:
    if not paradigm.endswith("categorical"):
        return {"yaml": {}}
    overrides = VARIANTS[name][1]
    token_order = (LM + "order", "next_token") in zip(overrides, overrides[1:])
    return TOKEN_SAMPLING if token_order else CATEGORICAL_SAMPLING


def score(layout: Layout, name: str, model: Path, results: Path) -> None:
    from arvideo.generate import VideoGenerator

    paradigm = VARIANTS[name][0]
    samplings = samplings_for(name, paradigm)
    splits = [ev.read_prompts(str(layout.data), split, PROMPTS) for split in ("val", "unseen")]
    gen = VideoGenerator.from_pretrained(model)
    train_record = json.loads((model.parent / "train.json").read_text())
    done = done_keys(results)
    for tag, options in samplings.items():
        for guidance in GUIDANCE:
            if (name, tag, guidance.tag) in done:
                continue
            result = ev.evaluate_setting(gen, splits, guidance, SEEDS, options, PROMPTS)
            line = {"variant": name, "sampling": tag, "guidance": guidance.tag,
                    "train": train_record, "accuracy": result.accuracy,
                    "ignored_text": result.ignored_text, "diversity": result.diversity,
                    "seconds": result.seconds}  # fmt: skip
            with results.open("a") as f:
                f.write(json.dumps(line) + "\n")
            seen, unseen = result.accuracy["val"], result.accuracy["unseen"]
            print(f"{name} {tag} cfg {guidance.tag}: seen {seen['all']:.3f} "
                  f"(c {seen['color']:.2f} k {seen['kind']:.2f} d {seen['direction']:.2f}) "
                  f"unseen {unseen['all']:.3f}", flush=True)  # fmt: skip


def table(results: Path) -> str:
    """results.jsonl as a markdown table, one row per (variant, sampling, guidance)."""
    lines = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    rows = ["| variant | steps | train s | val loss | sampling | CFG | seen all | colour | kind "
            "| direction | unseen all | diversity |", "|" + "---|" * 12]  # fmt: skip
    for r in lines:
        seen, unseen, train = r["accuracy"]["val"], r["accuracy"]["unseen"], r["train"]
        rows.append(
            f"| {r['variant']} | {train['steps']} | {train['seconds']:.0f} | "
            f"{train['val_loss']:.3f} | {r['sampling']} | {r['guidance']} | {seen['all']:.3f} | "
            f"{seen['color']:.2f} | {seen['kind']:.2f} | {seen['direction']:.2f} | "
            f"{unseen['all']:.3f} | {r['diversity']:.4f} |"
        )
    return "\n".join(rows)


def main(runs: str, names: list[str]) -> None:
    layout = Layout(Path(runs))
    if names == ["--table"]:
        print(table(layout.root / "levers" / "results.jsonl"))
        return
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    steps = int(os.environ["STEPS"]) if "STEPS" in os.environ else None
    results = layout.root / "levers" / "results.jsonl"
    results.parent.mkdir(parents=True, exist_ok=True)
    for name in names:
        score(layout, name, train(layout, name, steps), results)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
