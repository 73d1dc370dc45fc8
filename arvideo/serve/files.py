"""The only files the server hands out: its own page, and what its results folder lists.

A client never names a path on the server. It asks for a page by name (a fixed table) or for
an entry of the results folder's listing (`ResultsFolder.files`, scanned here, relative,
with a known suffix); any other name -- `..`, an absolute path, a symlink out of the
folder, a file type not listed -- is refused as not found, so nothing outside the folder is
ever opened. Knows paths; nothing about models.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

STATIC = {  # name -> media type: the whole page, shipped in the package
    "play.html": "text/html",
    "compare.html": "text/html",
    "generate.html": "text/html",
    "play.js": "text/javascript",
    "compare.js": "text/javascript",
    "generate.js": "text/javascript",
    "style.css": "text/css",
}
RESULT_TYPES = {
    ".json": "application/json",
    ".png": "image/png",
    ".gif": "image/gif",
    ".mp4": "video/mp4",
    ".md": "text/markdown",
}
MAX_RESULT_FILES = 2000  # a results folder, not a disk: stop listing past this


def static_file(name: str) -> bytes | None:
    """The shipped page file called `name`, or None when there is none."""
    if name not in STATIC:
        return None
    return resources.files("arvideo.serve").joinpath("static", name).read_bytes()


@dataclass
class ResultsFolder:
    root: Path

    def __post_init__(self):
        self.root = Path(self.root).resolve()
        if not self.root.is_dir():
            raise FileNotFoundError(f"results={str(self.root)!r} is not a folder")

    def files(self) -> list[str]:
        """Relative POSIX names of the listable files, sorted."""
        names = []
        for path in sorted(self.root.rglob("*")):
            if len(names) >= MAX_RESULT_FILES:
                break
            if path.suffix in RESULT_TYPES and self.resolve(path.relative_to(self.root).as_posix()):
                names.append(path.relative_to(self.root).as_posix())
        return names

    def resolve(self, name: str) -> Path | None:
        """The file `name` names inside the folder, or None (outside, missing, unlisted type)."""
        if not name or "\\" in name or "\x00" in name or name.startswith("/"):
            return None
        if any(part in ("", ".", "..") for part in name.split("/")):
            return None
        path = (self.root / name).resolve()  # follows symlinks: the target must be inside
        if not path.is_relative_to(self.root) or not path.is_file():
            return None
        return path if path.suffix in RESULT_TYPES else None
