"""The sample grid: one row per prompt, its caption on the left, then the generated frames
left to right (frames enlarged `zoom` times, nearest neighbour, so 32×32 pixels stay sharp)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

LABEL_WIDTH, GAP = 300, 2


@dataclass
class SheetRow:
    label: str  # e.g. "next_block_categorical | unseen | a blue square moving up"
    frames_THWC: np.ndarray  # uint8


def sheet(rows: list[SheetRow], zoom: int = 2) -> np.ndarray:
    """H×W×3 uint8: labelled rows of frames (every row the same frame count and size)."""
    if not rows:
        raise ValueError("the sheet needs at least one row")
    count, height, width, _ = rows[0].frames_THWC.shape
    h, w = height * zoom, width * zoom
    image = Image.new("RGB", (LABEL_WIDTH + count * (w + GAP), len(rows) * (h + GAP)), "white")
    draw = ImageDraw.Draw(image)
    for r, row in enumerate(rows):
        top = r * (h + GAP)
        for line, text in enumerate(_wrap(row.label, 2)):
            draw.text((4, top + 4 + 14 * line), text, fill="black")
        for t, frame in enumerate(row.frames_THWC):
            tile = Image.fromarray(frame).resize((w, h), Image.NEAREST)
            image.paste(tile, (LABEL_WIDTH + t * (w + GAP), top))
    return np.asarray(image)


def _wrap(text: str, parts: int) -> list[str]:
    """The label's '|'-separated fields on at most `parts` lines."""
    fields = [f.strip() for f in text.split("|")]
    head = " | ".join(fields[: len(fields) - 1]) if len(fields) > 1 else ""
    return [line for line in (head, fields[-1]) if line][:parts]
