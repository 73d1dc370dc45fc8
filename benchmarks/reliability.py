"""The reliability table (issue 18): bad inputs tried, and how many were refused with an
error naming them. Runs the cases of tests/reliability/ (the same seeds as the tests) and
writes benchmarks/results/reliability.md.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/reliability.py
"""

from __future__ import annotations

import datetime
import importlib.util
import platform
import random
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "reliability"
OUT = ROOT / "benchmarks" / "results" / "reliability.md"
COMMAND = "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/reliability.py"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, CASES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def shard_rows(work: Path) -> list[tuple[str, int, int]]:
    """(kind, tried, refused with a named error and every promise kept) per shard kind."""
    cases = load("shard_cases")
    fuzz = load("test_fuzz_reader")
    rng, rows = random.Random(18), defaultdict(lambda: [0, 0])  # the test's seed and order
    for kind in cases.ALL_KINDS:
        for index in range(fuzz.CASES_PER_KIND):
            outcome = cases.run_case(cases.make_case(kind, rng), work, index)
            rows[kind][0] += 1
            kept = not outcome.problems  # random shards: no crash, every refusal named
            rows[kind][1] += kept and (outcome.refused or kind == "random shard")
    return [(f"shard: {kind}", tried, ok) for kind, (tried, ok) in rows.items()]


def call_rows(work: Path) -> list[tuple[str, int, int]]:
    arguments, manifests, models = (
        load("argument_cases"),
        load("manifest_cases"),
        load("model_cases"),
    )
    tiny = load("tiny_models")
    gen = tiny.tiny_generator()
    rows = [(f"generate: {c.what}", 1, int(arguments.refusal(c, gen) is None))
            for c in arguments.BAD_CALLS]  # fmt: skip
    rows += [
        (f"dataset.json: {c.what}", 1, int(manifests.refusal(c, work / f"d{i}") is None))
        for i, c in enumerate(manifests.BAD_MANIFESTS)
    ]
    good = models.save_tiny_folder(work / "good", tiny.tiny_parts())
    rows += [
        (f"model folder: {c.what}", 1, int(models.refusal(c, good, work / f"m{i}") is None))
        for i, c in enumerate(models.BAD_FOLDERS)
    ]
    return rows


def markdown(rows: list[tuple[str, int, int]]) -> str:
    random_rows = [r for r in rows if r[0] == "shard: random shard"]
    counted = [r for r in rows if r not in random_rows]
    tried, refused = sum(r[1] for r in counted), sum(r[2] for r in counted)
    lines = [
        "# Reliability: bad inputs refused with a named error (issue 18)",
        "",
        f"`{COMMAND}` ({datetime.date.today()}, {platform.machine()}, "
        f"Python {platform.python_version()}, torch {torch.__version__}). The cases are "
        "those of `tests/reliability/` with the tests' seeds; a refusal counts when the "
        "error or warning names the shard, file or argument, the bad sample is counted (the "
        "others come back intact), and nothing crashed.",
        "",
        f"**Total: {refused} of {tried} bad inputs refused with a named error.**",
        "",
        "| bad input | tried | refused, named |",
        "|---|---:|---:|",
        *[f"| {what} | {t} | {r} |" for what, t, r in counted],
        "",
        "Random shards (random member names and bytes; some samples in them are valid, so "
        "they are not in the total): "
        + ", ".join(f"{t} tried, {r} read with no crash and every refusal named"
                    for _, t, r in random_rows) + ".",
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as work:
        rows = shard_rows(Path(work)) + call_rows(Path(work))
    OUT.write_text(markdown(rows))
    print(OUT.read_text())


if __name__ == "__main__":
    main()
