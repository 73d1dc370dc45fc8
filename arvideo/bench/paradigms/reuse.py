"""Splitting the paradigm benchmark across runs: choose which paradigms a run trains
(`select_paradigms`), and take finished rows from earlier runs' results instead of training
them again (`reusable_rows`), as long as those runs used the very same settings.

A full-budget run trains nine generators, hours of one core; two processes of one thread
each can train disjoint subsets side by side, and a last run joins their rows into one
report (it trains nothing, re-measures the references, which are deterministic).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from arvideo.bench.paradigms.budget import PARADIGMS
from arvideo.bench.paradigms.models import Paradigm

# settings that may differ between joined runs: where things were written, not what ran
IGNORED_SETTINGS = ("out", "work_dir")


def paradigm_key(paradigm: Paradigm) -> str:
    """The command-line name of a paradigm: `<order>_<head>`, e.g. next_block_categorical."""
    return f"{paradigm.order}_{paradigm.head}"


def select_paradigms(names: list[str] | None) -> list[Paradigm]:
    """The paradigms named (`next_block_categorical` or `next_block × categorical`), in the
    benchmark's order; None: all of them. An unknown name raises, listing the known ones."""
    if names is None:
        return list(PARADIGMS)
    known = {paradigm_key(p): p for p in PARADIGMS} | {p.name: p for p in PARADIGMS}
    unknown = [name for name in names if name not in known]
    if unknown:
        choices = ", ".join(paradigm_key(p) for p in PARADIGMS)
        raise ValueError(f"paradigms={unknown}: unknown; choose from {choices}")
    if not names:
        raise ValueError("paradigms=[]: name at least one paradigm (or leave it unset: all)")
    chosen = {paradigm_key(known[name]) for name in names}
    return [p for p in PARADIGMS if paradigm_key(p) in chosen]


def reusable_rows(paths: list[str], settings: dict) -> dict[str, dict]:
    """Finished rows (status ok) of earlier results files (paradigms.json or the
    paradigms.partial.json a run keeps as it goes), by paradigm name; each marked with the
    file it came from. A file whose settings differ from `settings` raises, naming the
    settings that differ: its rows would not be comparable."""
    return rows_of_results({path: read_results(path) for path in paths}, settings)


def read_results(path: str) -> dict:
    """A results file of the paradigm benchmark; a missing one raises, naming it."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"reuse={path!r}: no such results file")
    return json.loads(file.read_text())


def rows_of_results(results: dict[str, dict], settings: dict) -> dict[str, dict]:
    """`reusable_rows` of results already read (path -> its contents), in that order."""
    settings = json.loads(json.dumps(settings))  # as a results file holds them
    rows: dict[str, dict] = {}
    for path, earlier in results.items():
        differ = _differences(earlier.get("settings", {}), settings)
        if differ:
            raise ValueError(
                f"reuse={path!r} ran with other settings ({'; '.join(differ)}): its rows are "
                "not comparable with this run's"
            )
        for row in earlier.get("paradigms", []):
            if row.get("status") == "ok" and row["paradigm"] not in rows:
                rows[row["paradigm"]] = {**row, "reused_from": str(path)}
    return rows


def _differences(earlier: dict, now: dict) -> list[str]:
    keys = (set(earlier) | set(now)) - set(IGNORED_SETTINGS)
    return [
        f"{key}: {earlier.get(key)!r} there, {now.get(key)!r} here"
        for key in sorted(keys)
        if earlier.get(key) != now.get(key)
    ]


def carry_samples(rows: list[dict], samples: Path) -> list[Path]:
    """Copy the sample GIF of each reused row (`samples/<order>_<head>.gif` beside the file
    it came from) into `samples`; the ones copied (a row whose run saved none is skipped)."""
    copied = []
    for row in rows:
        if "reused_from" not in row or "order" not in row:
            continue
        name = f"{row['order']}_{row['head']}.gif"
        source = Path(row["reused_from"]).parent / "samples" / name
        if source.is_file() and source.resolve() != (samples / name).resolve():
            samples.mkdir(parents=True, exist_ok=True)
            copied.append(Path(shutil.copyfile(source, samples / name)))
    return copied
