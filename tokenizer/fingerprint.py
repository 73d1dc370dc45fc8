"""A tokenizer folder's identity: the SHA-256 of its files' contents.

A token set records the tokenizer by path, and a path can later hold another tokenizer (a
re-export, a copy). The fingerprint, written into the token set's manifest by `encode`,
lets a generator's export check that the folder still holds the tokenizer that made the
codes. Knows the folder's file names; knows nothing about the model inside.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .model import CONFIG_NAME, WEIGHTS_NAME

FILES = (CONFIG_NAME, WEIGHTS_NAME)  # what `save_pretrained` writes
CHUNK = 1 << 20


def tokenizer_fingerprint(directory: str | Path) -> str:
    """Hex SHA-256 over the names and bytes of the folder's config and weights."""
    digest = hashlib.sha256()
    for name in FILES:
        path = Path(directory) / name
        if not path.is_file():
            raise FileNotFoundError(f"tokenizer folder {str(directory)!r} has no {name}")
        # name and size first: the two files' bytes can never shift into each other
        digest.update(f"{name} {path.stat().st_size}\n".encode())
        with open(path, "rb") as file:
            while chunk := file.read(CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def check_fingerprint(directory: str | Path, expected: str, recorded_in: str | Path) -> None:
    """Raise ValueError when the folder no longer holds the tokenizer `recorded_in` (a token
    set's manifest) was made with; the error names both fingerprints and both paths."""
    found = tokenizer_fingerprint(directory)
    if found != expected:
        raise ValueError(
            f"{str(recorded_in)!r} was encoded with the tokenizer of content hash {expected}, "
            f"but the tokenizer folder {str(directory)!r} now has content hash {found}: it "
            "holds another tokenizer; re-encode the tokens or restore that tokenizer"
        )
