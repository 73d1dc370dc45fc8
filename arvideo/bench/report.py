"""Writing benchmark results: the machine they ran on, markdown tables, JSON and PNG files.

Every benchmark ends with `write_results(out_dir, name, data, markdown)`: name.json holds the
numbers (strict JSON: inf / nan become null, so any parser reads it), name.md the same numbers
for people. This module knows nothing about what is measured; values are plain numbers,
strings, lists and dicts (dataclasses are converted).
"""

from __future__ import annotations

import json
import math
import os
import platform
import shlex
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image


@dataclass
class Column:
    key: str  # the row dict's key
    title: str | None = None  # header shown; the key when None
    digits: int = 2  # decimals of floats in this column


def machine_info() -> dict:
    """Where the numbers come from: CPU count, threads, torch, GPU, Python, OS."""
    cuda = torch.cuda.is_available()
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cuda_device": torch.cuda.get_device_name(0) if cuda else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command that produced a result, shell-quoted (sys.argv by default)."""
    argv = sys.argv if argv is None else argv
    if not argv:
        return ""
    program = Path(argv[0]).name
    return " ".join([program, *(shlex.quote(a) for a in argv[1:])])


def to_jsonable(value):
    """Dataclasses, tensors, numpy values, paths, tuples -> JSON types; inf/nan -> None."""
    if is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if torch.is_tensor(value):
        return to_jsonable(value.detach().cpu().tolist())
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | Path, data) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_jsonable(data), indent=2, allow_nan=False) + "\n")
    return path


def format_value(value, digits: int = 2) -> str:
    """A table cell: floats with `digits` decimals, inf/nan spelled out, None as '–'."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:,.{digits}f}"
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def markdown_table(rows: Sequence[dict], columns: Sequence[Column | str]) -> str:
    """Rows of dicts -> a GitHub markdown table; missing keys show '–'."""
    if not columns:
        raise ValueError("columns must name at least one column")
    columns = [c if isinstance(c, Column) else Column(c) for c in columns]
    header = "| " + " | ".join(c.title or c.key for c in columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = [
        "| " + " | ".join(format_value(row.get(c.key), c.digits) for c in columns) + " |"
        for row in rows
    ]
    return "\n".join([header, rule, *body])


def key_values(values: dict, digits: int = 3) -> str:
    """A dict as a markdown bullet list (`- **key**: value`)."""
    return "\n".join(f"- **{k}**: {format_value(v, digits)}" for k, v in values.items())


def run_header(title: str, command: str, machine: dict, extra: dict | None = None) -> str:
    """The top of every results page: title, command, machine and other settings."""
    lines = [f"# {title}", "", f"Command: `{command}`", "", "Machine:", "", key_values(machine)]
    if extra:
        lines += ["", key_values(extra)]
    return "\n".join(lines)


def write_png(path: str | Path, image_HWC: np.ndarray) -> Path:
    """An H×W×3 uint8 image -> PNG."""
    image_HWC = np.asarray(image_HWC)
    if image_HWC.ndim != 3 or image_HWC.shape[-1] != 3 or image_HWC.dtype != np.uint8:
        raise ValueError(f"image_HWC must be H×W×3 uint8, got {image_HWC.shape} {image_HWC.dtype}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image_HWC).save(path)
    return path


def write_results(out_dir: str | Path, name: str, data: dict, markdown: str) -> dict[str, Path]:
    """out_dir/name.json and out_dir/name.md; returns their paths by extension."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path = out_dir / f"{name}.md"
    md_path.write_text(markdown.rstrip() + "\n")
    return {"json": write_json(out_dir / f"{name}.json", data), "md": md_path}
