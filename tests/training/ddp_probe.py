"""A callback for the DDP test (imported by class path in a subprocess, not a test module):
each rank appends the sample keys of its training batches to FOLDER/rank<r>.txt."""

from __future__ import annotations

from pathlib import Path

from lightning.pytorch import Callback


class KeyRecorder(Callback):
    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"rank{trainer.global_rank}-of-{trainer.world_size}.txt"
        with open(path, "a") as file:
            file.writelines(f"{meta['key']}\n" for meta in batch.meta)
