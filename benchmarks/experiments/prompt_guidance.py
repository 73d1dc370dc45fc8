"""Issue 16: does guidance raise prompt accuracy once the sampler filters the tail?

Classifier-free guidance at scale s samples from softmax(u + s·(c − u)). Where the
conditional and unconditional logits both give a code little mass but differ, the guided
logits can lift it, and at temperature 1 such codes get drawn: the bench's token recipe
breaks up at CFG 5 (accuracy 0.615 / 0.333, pixel diversity up from 0.061 to 0.103). This
scores guidance scales with and without a top-k / top-p filter after guidance, on a bench
model folder, for the captions of the splits named (`train` captions are not among those the
bench reports: choose there, report on val / unseen). Results append to
RUNS/guidance/results.jsonl; a line that exists is skipped. Environment: PROMPTS, captions
per split (default 48, the bench's; the data hold 300 val and 240 unseen); MODEL, a model
folder of the same recipe trained elsewhere (another training seed) instead of the bench's.

python benchmarks/experiments/prompt_guidance.py RUNS PARADIGM SPLIT[,SPLIT] SETTING [SETTING ...]
  SETTING = scale:schedule[:option=value,...], e.g. 3:constant:top_k=16  or  1.5:linear
python benchmarks/experiments/prompt_guidance.py RUNS --table
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from arvideo.bench.prompts import evaluate as ev
from arvideo.bench.prompts.budget import RECIPES
from arvideo.bench.prompts.stages import Layout

SEEDS = 2
PROMPTS = int(os.environ.get("PROMPTS", 48))  # captions per split (the bench scores 48)
MODEL = os.environ.get("MODEL")  # another model folder of the recipe (e.g. another seed)


def parse_setting(text: str) -> tuple[ev.Guidance, dict]:
    scale, schedule, *rest = text.split(":")
    options = {}
    for item in rest[0].split(",") if rest else []:
        key, value = item.split("=")
        options[key] = float(value) if "." in value else int(value)
    return ev.Guidance(float(scale), schedule), options


def main(runs: str, paradigm: str, splits: str, settings: list[str]) -> None:
    from arvideo.generate import VideoGenerator

    layout = Layout(Path(runs))
    results = layout.root / "guidance" / "results.jsonl"
    results.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if results.is_file():
        done = {(r["paradigm"], r["splits"], r["setting"], r.get("prompts", 48), r.get("model"))
                for r in map(json.loads, results.open())}  # fmt: skip
    recipe = RECIPES[paradigm]
    prompts = [ev.read_prompts(str(layout.data), split, PROMPTS) for split in splits.split(",")]
    gen = VideoGenerator.from_pretrained(MODEL or layout.model(paradigm))
    for text in settings:
        if (paradigm, splits, text, PROMPTS, MODEL) in done:
            continue
        guidance, extra = parse_setting(text)
        options = {**recipe.sampling, **extra}
        result = ev.evaluate_setting(gen, prompts, guidance, SEEDS, options, PROMPTS,
                                     condition=recipe.condition)  # fmt: skip
        line = {"paradigm": paradigm, "splits": splits, "setting": text, "prompts": PROMPTS,
                "model": MODEL, "accuracy": result.accuracy, "diversity": result.diversity,
                "seconds": result.seconds}  # fmt: skip
        with results.open("a") as f:
            f.write(json.dumps(line) + "\n")
        print(text, {s: round(a["all"], 3) for s, a in result.accuracy.items()},
              f"diversity {result.diversity:.4f}", flush=True)  # fmt: skip


def table(runs: str) -> str:
    lines = [json.loads(line) for line in (Path(runs) / "guidance" / "results.jsonl").open()]
    rows = ["| paradigm | model | split | setting | clips | colour | kind | direction | all | "
            "diversity |", "|" + "---|" * 10]  # fmt: skip
    for r in lines:
        for split, a in r["accuracy"].items():
            model = "bench (seed 0)" if not r.get("model") else Path(r["model"]).parent.name
            rows.append(f"| {r['paradigm']} | {model} | {split} | {r['setting']} | {a['clips']} | "
                        f"{a['color']:.3f} | {a['kind']:.3f} | {a['direction']:.3f} | "
                        f"{a['all']:.3f} | {r['diversity']:.4f} |")  # fmt: skip
    return "\n".join(rows)


if __name__ == "__main__":
    if sys.argv[2:] == ["--table"]:
        print(table(sys.argv[1]))
    else:
        main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])
