"""arvideo: autoregressive video generation on visual tokens.

Importing this package is cheap and has no side effects: the public classes are resolved
lazily on first attribute access.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_PUBLIC = {
    "VideoTokenizer": "arvideo.tokenizer.model",
    "VideoLM": "arvideo.lm.model",
    "VideoGenerator": "arvideo.generate",
    "GenerationOutput": "arvideo.generate",
    "VideoBatch": "arvideo.data.batch",
    "VideoDataModule": "arvideo.data.datamodule",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'arvideo' has no attribute {name!r}")
