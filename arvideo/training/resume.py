"""`--ckpt_path last`: the newest last checkpoint of the runs under one root folder.

Every `arvideo fit` logs to a new version folder (root/lightning_logs/version_N), and
Lightning looks for "last" only in the new run's own, still empty, checkpoints folder: it
warned and trained from step 0. Here "last" means the newest ``last*.ckpt`` of any run under
``trainer.default_root_dir``, and finding none is an error, never a fresh start. Knows the
run folder layout; knows nothing about what a checkpoint holds.
"""

from __future__ import annotations

from pathlib import Path

LAST = "last"
# where ModelCheckpoint puts last.ckpt: the logger's version folder, or the root without one
PATTERNS = ("*/version_*/checkpoints/last*.ckpt", "checkpoints/last*.ckpt")


def find_last_checkpoint(root: str | Path) -> Path:
    """The most recently written last checkpoint of the runs under `root`."""
    root = Path(root)
    found = [path for pattern in PATTERNS for path in root.glob(pattern) if path.is_file()]
    if not found:
        raise FileNotFoundError(
            f"--ckpt_path last: no last*.ckpt in the runs under {str(root)!r} "
            "(trainer.default_root_dir); nothing to resume. Give a checkpoint path, or leave "
            "--ckpt_path out to start a new run"
        )
    return max(found, key=lambda path: (path.stat().st_mtime, str(path)))
