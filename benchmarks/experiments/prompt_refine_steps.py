"""Issue 16: do more refinement steps draw crisper shapes? One sampling setting of a trained
prompt model, scored like `arvideo bench prompts` (48 val + 48 unseen captions x 2 seeds,
CFG 1 constant).

OMP_NUM_THREADS=1 python benchmarks/experiments/prompt_refine_steps.py RUNS OPTIONS_JSON
  e.g. RUNS=runs/prompts2 '{"temperature": 0.5, "refine_steps": 16}'
(RUNS: the bench's runs folder; its next_block_categorical model and prompt-shapes data.)
"""

from __future__ import annotations

import json
import sys

from arvideo.bench.prompts import evaluate as ev
from arvideo.generate import VideoGenerator


def main(runs: str, options: dict) -> None:
    splits = [ev.read_prompts(f"{runs}/data/prompt_shapes", s, 48) for s in ("val", "unseen")]
    gen = VideoGenerator.from_pretrained(f"{runs}/next_block_categorical/model")
    result = ev.evaluate_setting(gen, splits, ev.Guidance(1.0, "constant"), 2, options, 48)
    seen, unseen = result.accuracy["val"], result.accuracy["unseen"]
    print(json.dumps(options), f"seen {seen['all']:.3f} kind {seen['kind']:.2f} "
          f"unseen {unseen['all']:.3f} kind {unseen['kind']:.2f} "
          f"diversity {result.diversity:.4f} s {result.seconds:.0f}")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]))
