"""The prompt detector (arvideo/prompt_accuracy.py) on ground-truth prompt-shapes clips.

usage: prompt_detector.py [--clips N] [--unseen_clips M] [--seed S] [--out FILE.md]

Collects a prompt-shapes data set (default 1,500 seen + 300 unseen clips, 64×64, 16 frames,
seed 1: not the seed-0 draws the thresholds were chosen on) through `collect_prompt_shapes`,
reads it back from its shards, parses each caption into the factors it names, and scores the
detector against them per split: per-factor and all-factor accuracy, the features of each
kind beside the thresholds (the margins), and the clips it gets wrong.
Writes the markdown to --out (default benchmarks/results/prompt_detector.md).
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

from arvideo import prompt_accuracy as pa
from arvideo.data.prompt_factors import KINDS, PromptFactors, parse_caption
from arvideo.data.prompt_shapes import PROMPT_SPLITS, collect_prompt_shapes
from arvideo.data.reader import ShardDataset, expand_shards


def detect_split(data: Path, split: str) -> tuple[list[PromptFactors], list[pa.Detection]]:
    prompts, detections = [], []
    for sample in ShardDataset(expand_shards(str(data / f"{split}-*.tar")), 0, 1):
        prompt = parse_caption(sample["caption"])
        if prompt != PromptFactors(**sample["meta"]["factors"]):
            raise ValueError(f"caption {sample['caption']!r} disagrees with its meta.json")
        prompts.append(prompt)
        detections.append(pa.detect(sample["frames"]))
    return prompts, detections


def accuracy_rows(results: dict) -> list[str]:
    lines = ["| split | clips | colour | kind | direction | all factors | chance (all) |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for split, (prompts, detections) in results.items():
        a = pa.score(prompts, [d.factors for d in detections])
        f = a.per_factor
        lines.append(
            f"| {split} | {a.clips} | {f['color']:.4f} | {f['kind']:.4f} | "
            f"{f['direction']:.4f} | {a.all_factors:.4f} | {a.chance_all_factors:.4f} |"
        )
    return lines


def feature_rows(results: dict) -> list[str]:
    """Range of each kind's features over every clip: how far they sit from the thresholds."""
    lines = ["| kind | clips | fill (area / box) min–max | centroid offset min–max |",
             "|---|---|---|---|"]  # fmt: skip
    pairs = [(p, d) for prompts, ds in results.values() for p, d in zip(prompts, ds)]
    for kind in KINDS:
        fills = [d.fill for p, d in pairs if p.kind == kind and d.fill is not None]
        offsets = [d.offset for p, d in pairs if p.kind == kind and d.offset is not None]
        lines.append(
            f"| {kind} | {len(fills)} | {min(fills):.3f}–{max(fills):.3f} | "
            f"{min(offsets):.3f}–{max(offsets):.3f} |"
        )
    speeds = [max(abs(v) for v in d.velocity) for _, d in pairs if d.velocity is not None]
    lines += ["", f"Thresholds: triangle when offset > {pa.TRIANGLE_OFFSET}, else square when "
              f"fill > {pa.SQUARE_FILL}, else circle. Slowest centroid (dominant axis): "
              f"{min(speeds):.2f} px/frame."]  # fmt: skip
    return lines


def error_rows(results: dict, limit: int = 10) -> list[str]:
    errors = [(split, p, d) for split, (prompts, ds) in results.items()
              for p, d in zip(prompts, ds) if d.factors != p]  # fmt: skip
    if not errors:
        return ["No clip is misread."]
    rows = [f"- {split}: prompt {p.as_list()}, detected {d.factors.as_list()}, fill "
            f"{d.fill}, offset {d.offset}" for split, p, d in errors[:limit]]  # fmt: skip
    return [f"{len(errors)} clips misread (first {limit}):", *rows]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=1500)
    parser.add_argument("--unseen_clips", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/results/prompt_detector.md")
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "prompt_shapes"
        collect_prompt_shapes(str(data), args.clips, args.unseen_clips, seed=args.seed,
                              progress=False)  # fmt: skip
        results = {split: detect_split(data, split) for split in PROMPT_SPLITS}
    seconds = time.perf_counter() - start
    command = "python " + " ".join(sys.argv)
    lines = [
        "# Prompt detector on ground-truth clips", "",
        f"`{command}` — prompt-shapes clips (64×64, 16 frames, seed {args.seed}; thresholds "
        f"chosen on seed-0 draws), the factors parsed from each caption; {seconds:.0f} s.", "",
        "## Accuracy against the caption", "", *accuracy_rows(results), "",
        "## Features by kind", "", *feature_rows(results), "",
        "## Misread clips", "", *error_rows(results), "",
    ]  # fmt: skip
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
