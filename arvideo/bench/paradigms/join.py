"""Join the results files of split paradigm runs into one report, without the data.

`bench_paradigms(reuse=...)` joins too, but it prepares the bench first: it loads the clip
data and the tokenizers, and re-measures the reference rows. A join of results alone needs
none of that, as long as the files agree on what the references measured: the same settings
and the same truth and copy-last rows (both are deterministic given the settings). Rows are
taken by paradigm, the first file that holds a finished row wins, and the paradigms keep the
benchmark's order.
"""

from __future__ import annotations

import sys
from pathlib import Path

from arvideo.bench.paradigms.budget import PARADIGMS
from arvideo.bench.paradigms.report import write_paradigm_report
from arvideo.bench.paradigms.reuse import carry_samples, read_results, rows_of_results
from arvideo.bench.report import command_line

# must be equal in every joined file: the rows are scored against them
REFERENCE_KEYS = ("truth", "baseline", "action_directions")


def join_paradigm_results(files: list[str] | None = None, out: str = "benchmarks/results") -> dict:
    """One paradigms.md/.json/.png in `out` from the rows of earlier results files.

    Args:
        files: paradigms.json (or paradigms.partial.json) files of runs with the same
            settings; for each paradigm the first file with a finished row wins.
        out: results folder of the joined report (the reused rows' sample GIFs are copied
            to `<out>/samples`).
    """
    if not files:
        raise ValueError(f"files={files}: name at least one results file")
    results = {str(path): read_results(path) for path in files}
    first_path, first = next(iter(results.items()))
    rows = rows_of_results(results, first.get("settings", {}))  # other settings raise
    for path, other in results.items():
        _check_references(first, other, first_path, path)
    paradigms = [rows[p.name] for p in PARADIGMS if p.name in rows]
    missing = [p.name for p in PARADIGMS if p.name not in rows]
    if missing:
        print(f"join: no finished row for {', '.join(missing)}", file=sys.stderr)
    result = {**first, "paradigms": paradigms, "tokenizers": _tokenizer_rows(results.values())}
    result["command"] = command_line()
    result["joined_from"] = list(results)
    carry_samples(paradigms, Path(out) / "samples")
    write_paradigm_report(out, result)
    return result


def _check_references(first: dict, other: dict, first_path: str, other_path: str) -> None:
    for key in REFERENCE_KEYS:
        if first.get(key) != other.get(key):
            raise ValueError(
                f"{other_path!r} and {first_path!r} scored against different {key} rows: "
                "their paradigm rows are not comparable"
            )


def _tokenizer_rows(results) -> list[dict]:
    """Each tokenizer's row, from the first file that measured it (a split run measures
    only the tokenizers its paradigms read), in the order of the file that measured most."""
    tables = [result.get("tokenizers", []) for result in results]
    rows: dict[str, dict] = {}
    for table in tables:
        for row in table:
            rows.setdefault(row["tokenizer"], row)
    order = [row["tokenizer"] for row in max(tables, key=len)]
    return sorted(rows.values(), key=lambda row: _position(order, row["tokenizer"]))


def _position(order: list[str], name: str) -> int:
    return order.index(name) if name in order else len(order)
