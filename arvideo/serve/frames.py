"""Frames on the wire: a 16-byte header, then the pixels as raw RGB or PNG.

    header (little-endian): format u8 (1 raw, 2 png) | action u8 (255: none) | height u16 |
                            width u16 | 2 pad bytes | step u32 | step_ms f32

Raw RGB is the default: on loopback a 64×64 frame is 12 KB and costs ~0.05 ms to pack,
where PNG saves ~6 KB for ~2 ms of zlib per frame and an async decode in the page
(benchmarks/results/serve.md). PNG stays for a link where bytes cost more than CPU. JPEG is
not offered: it smears pixel art. The page's play.js reads the same header.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Literal

import numpy as np

FrameFormat = Literal["raw", "png"]
FORMAT_CODES = {"raw": 1, "png": 2}
HEADER = struct.Struct("<BBHHxxIf")
NO_ACTION = 255


@dataclass
class FrameMeta:
    step: int  # frames generated in this session (0: the context's last frame)
    action: int | None  # the action that led to this frame
    step_ms: float  # server time of `session.step` for it


def encode_frame(frame_HWC: np.ndarray, meta: FrameMeta, fmt: FrameFormat = "raw") -> bytes:
    H, W = frame_HWC.shape[:2]
    action = NO_ACTION if meta.action is None else meta.action
    header = HEADER.pack(FORMAT_CODES[fmt], action, H, W, meta.step, meta.step_ms)
    if fmt == "raw":
        return header + np.ascontiguousarray(frame_HWC, dtype=np.uint8).tobytes()
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(frame_HWC).save(buffer, "PNG")
    return header + buffer.getvalue()


def decode_header(message: bytes) -> tuple[str, FrameMeta, tuple[int, int]]:
    """The inverse of the header, for tests and benchmarks."""
    code, action, H, W, step, step_ms = HEADER.unpack_from(message)
    fmt = {v: k for k, v in FORMAT_CODES.items()}[code]
    return fmt, FrameMeta(step, None if action == NO_ACTION else action, step_ms), (H, W)
