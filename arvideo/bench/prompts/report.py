"""The prompt benchmark's pages: markdown and JSON of every measured number, the targets'
verdicts, and the sample grid's legend. Knows rows of numbers; nothing about models."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from arvideo.bench.prompts.budget import PromptBudget
from arvideo.bench.report import Column, markdown_table, run_header, write_results

SEEN_TARGET, UNSEEN_TARGET = 0.90, 0.70  # issue 16: all-factor accuracy

ACCURACY_COLUMNS = [
    Column("paradigm"), Column("split"), Column("guidance", "CFG scale / schedule"),
    Column("clips"), Column("color", "colour", 3), Column("kind", "kind", 3),
    Column("direction", "direction", 3), Column("all", "all factors", 3),
]  # fmt: skip
SWEEP_COLUMNS = [
    Column("paradigm"), Column("guidance", "CFG scale / schedule"),
    Column("seen", "seen all-factor", 3), Column("unseen", "unseen all-factor", 3),
    Column("seen_ignored", "seen, shuffled captions", 3),
    Column("diversity", "diversity (pixel L1 between seeds)", 4), Column("seconds", "gen s", 1),
]  # fmt: skip
STAGE_COLUMNS = [
    Column("name", "stage"), Column("config"), Column("steps"), Column("planned_steps", "planned"),
    Column("seconds", "s", 0), Column("reused"),
]  # fmt: skip


def verdicts(results: dict, readings: dict[str, str] | None = None) -> list[str]:
    """Per paradigm: the accuracy targets at the guidance its recipe reads them at
    (`readings`: paradigm -> setting tag, chosen on train-split captions; default scale 1,
    the model as trained), then what guidance does (the one guided setting that gains most
    on every split at once, chosen on the captions it is scored on: an upper bound), and the
    targets without guidance where the reading is guided."""
    lines = []
    for paradigm, by_setting in results.items():
        plain_tag = next((k for k in by_setting if k.startswith("1 ")), None)
        reading = (readings or {}).get(paradigm) or plain_tag
        label = "without guidance" if reading == plain_tag else "at its chosen guidance"
        lines.append(f"- **{paradigm}** {label} (CFG {reading}): "
                     + _against_targets(by_setting[reading]["accuracy"]))  # fmt: skip
        guided = {k: v for k, v in by_setting.items() if k != plain_tag}
        if plain_tag is not None and guided:
            lines.append(f"  - guidance: {_best_guided(by_setting[plain_tag], guided)}")
        if plain_tag is not None and reading != plain_tag:
            lines.append(f"  - without guidance (CFG {plain_tag}): "
                         + _against_targets(by_setting[plain_tag]["accuracy"]))  # fmt: skip
    return lines


def _against_targets(accuracy: dict) -> str:
    seen, unseen = accuracy["val"]["all"], _unseen(accuracy)
    text = (f"seen {seen:.3f} ± {_spread(accuracy['val']):.3f} (target ≥ {SEEN_TARGET}: "
            f"{'met' if seen >= SEEN_TARGET else 'MISSED'})")  # fmt: skip
    if unseen is None:
        return text + ", unseen: no class id (label conditioning)"
    verdict = "met" if unseen >= UNSEEN_TARGET else "MISSED"
    spread = _spread(accuracy["unseen"])
    return text + f", unseen {unseen:.3f} ± {spread:.3f} (target ≥ {UNSEEN_TARGET}: {verdict})"


def _spread(row: dict) -> float:
    """The binomial standard error of an accuracy over its clips (seeds of one caption count
    as separate clips, so it understates the spread a little)."""
    p, n = row["all"], row.get("clips") or 1
    return (p * (1 - p) / n) ** 0.5


def _best_guided(plain: dict, guided: dict) -> str:
    """The guided setting whose smallest gain over scale 1 across the splits is largest: CFG
    raises accuracy only if one setting raises every split."""
    splits = [split for split in ("val", "unseen") if split in plain["accuracy"]]

    def gains(row: dict) -> list[float]:
        return [row["accuracy"][s]["all"] - plain["accuracy"][s]["all"] for s in splits]

    tag, row = max(guided.items(), key=lambda item: min(gains(item[1])))
    names = {"val": "seen", "unseen": "unseen"}
    parts = [f"{names[s]} {row['accuracy'][s]['all']:.3f} ({gain:+.3f})"
             for s, gain in zip(splits, gains(row))]  # fmt: skip
    raised = "raises" if min(gains(row)) > 0 else "does NOT raise"
    which = "it" if len(splits) == 1 else "both splits at once"
    return (f"best setting {tag}: " + ", ".join(parts) + f" over scale 1: CFG {raised} {which} "
            f"({plain['accuracy'][splits[0]]['clips']} clips a split)")  # fmt: skip


def _unseen(accuracy: dict) -> float | None:
    """All-factor accuracy on unseen combinations; None where the recipe has none (labels)."""
    return accuracy["unseen"]["all"] if "unseen" in accuracy else None


def accuracy_rows(results: dict, truth: dict, chance: dict) -> list[dict]:
    rows = []
    for paradigm, by_setting in results.items():
        for tag, result in by_setting.items():
            for split, row in result["accuracy"].items():
                rows.append({"paradigm": paradigm, "split": split, "guidance": tag, **row})
    for name, row in truth.items():  # "real clips | val", "vq tokenizer round trip | val"
        source, split = name.split(" | ")
        rows.append({"paradigm": f"{source} (ceiling)", "split": split, **row})
    rows.append({"paradigm": "chance (uniform guess)", "split": "any", **chance})
    return rows


def sweep_rows(results: dict) -> list[dict]:
    return [
        {"paradigm": paradigm, "guidance": tag, "seen": r["accuracy"]["val"]["all"],
         "unseen": _unseen(r["accuracy"]), "seen_ignored": r["ignored_text"]["val"]["all"],
         "diversity": r["diversity"], "seconds": r["seconds"]}
        for paradigm, by_setting in results.items() for tag, r in by_setting.items()
    ]  # fmt: skip


def write_report(out: Path, command: str, machine: dict, budget: PromptBudget, stages: list,
                 results: dict, truth: dict, chance: dict, real_diversity: float,
                 sheet_legend: list[str], readings: dict[str, str] | None = None,
                 name: str = "prompts") -> dict[str, Path]:  # fmt: skip
    headline = f"{budget.headline[0]:g} {budget.headline[1]}"
    settings = {"preset data": asdict(budget.data), "prompts per split": budget.prompts,
                "seeds per prompt": budget.seeds, "headline guidance": headline}  # fmt: skip
    markdown = "\n\n".join([
        run_header("Prompt following: text-conditioned generation, measured", command, machine,
                   settings),
        "Each caption of a real clip (val: combinations seen in training; unseen: the 12 of 48 "
        "combinations held out of training) is generated from nothing, "
        f"{budget.seeds} seeds each, and the detector (arvideo/prompt_accuracy.py) reads "
        "colour, kind and direction from the pixels. `linear` is the ramp schedule (scale 1 "
        "at the first frame to the scale at the last).",
        "## Targets", "Each recipe's targets are read at the guidance it was given, chosen on "
        "train-split captions (scale 1 where none was chosen); the standard errors are "
        "binomial over the clips.",
        "\n".join(verdicts(results, readings)),
        "## Guidance sweep", markdown_table(sweep_rows(results), SWEEP_COLUMNS),
        "`shuffled captions`: the same clips scored against another clip's caption (what they "
        "would score if the model ignored the text). Diversity of real clips of one "
        f"combination: {real_diversity:.4f}.",
        "## Accuracy per factor", markdown_table(accuracy_rows(results, truth, chance),
                                                 ACCURACY_COLUMNS),
        "## Training", markdown_table([asdict(s) for s in stages], STAGE_COLUMNS),
        "## Sample grid (`prompts.png`)",
        "Rows, top to bottom (generated at the headline guidance, seed 0):\n\n"
        + "\n".join(f"{i + 1}. {line}" for i, line in enumerate(sheet_legend)),
    ])  # fmt: skip
    payload = {"benchmark": "prompts", "command": command, "machine": machine,
               "settings": {**settings, "cfg_scales": budget.cfg_scales,
                            "schedules": budget.schedules},
               "stages": [asdict(s) for s in stages], "results": results, "truth": truth,
               "chance": chance, "real_diversity": real_diversity,
               "targets": {"seen": SEEN_TARGET, "unseen": UNSEEN_TARGET}}  # fmt: skip
    return write_results(out, name, payload, markdown)
