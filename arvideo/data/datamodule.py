"""LightningDataModules over shards: clip shards -> VideoBatch, token shards -> TokenBatch.

Both use the same safe reader (reader.py) and differ only in how samples are checked and
collated. Constructor arguments are plain typed values so LightningCLI can build them from
YAML. They know shards, manifests and batches; they know nothing about models.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
import torch

from .batch import TokenBatch, VideoBatch
from .clips import read_manifest
from .completeness import check_complete, check_shards_present
from .reader import ShardDataset, expand_shards
from .tar_samples import ShardLimits

PER_FRAME_FIELDS = ("actions", "rewards", "dones", "truncated")  # one value per frame
ROW_FIELDS = (*PER_FRAME_FIELDS, "ram")  # one row per frame (ram: 128 bytes), cropped alike


class EpochDataLoader(torch.utils.data.DataLoader):
    """A DataLoader that tells its ShardDataset the epoch (reshuffle, new crops) each pass."""

    def __iter__(self):
        epoch = getattr(self, "_epoch", 0)
        self.dataset.set_epoch(epoch)
        self._epoch = epoch + 1
        return super().__iter__()


TIME_FIELDS = ("frames", "codes", "latents")  # arrays whose first axis is time


def temporal_crop(sample: dict, num_frames: int, generator: torch.Generator | None) -> dict:
    """Keep `num_frames` consecutive frames of every per-frame array (random start when a
    generator is given, else the first ones)."""
    time_field = next(name for name in TIME_FIELDS if name in sample)
    total = sample[time_field].shape[0]
    start = 0
    if generator is not None and total > num_frames:
        start = int(torch.randint(total - num_frames + 1, (1,), generator=generator))
    cropped = dict(sample)
    for name in (time_field, *ROW_FIELDS):
        if name in sample:
            cropped[name] = sample[name][start : start + num_frames]
    cropped["meta"] = {**sample.get("meta", {}), "crop_start": start}
    return cropped


class ShardDataModule(L.LightningDataModule):
    """Common part: where the shards are, how they are split, shuffled, cropped, batched."""

    def __init__(
        self,
        path: str | None = None,
        train_shards: str | None = None,
        val_shards: str | None = None,
        batch_size: int = 8,
        num_workers: int = 0,
        shuffle_buffer: int = 256,
        seed: int = 0,
        num_frames: int | None = None,
        rank: int | None = None,
        world_size: int | None = None,
        limits: ShardLimits | None = None,
        allow_incomplete: bool = False,
    ):
        """
        Args:
            path: a dataset folder (with dataset.json, train-*.tar, val-*.tar).
            train_shards: glob or brace pattern of training shards (overrides path).
            val_shards: glob or brace pattern of validation shards (overrides path).
            batch_size: clips per batch.
            num_workers: DataLoader worker processes (shards are split between them).
            shuffle_buffer: samples held for shuffling (0 = read in order).
            seed: seed of shard order, sample shuffle and crops.
            num_frames: crop clips to this many frames (random start in training).
            rank: this process's rank (None: from torch.distributed / RANK env).
            world_size: number of ranks (None: from torch.distributed / WORLD_SIZE env).
            limits: shard member size cap (256 MiB) and compressed tars (refused by default).
            allow_incomplete: use a data set whose manifest says ``"complete": false`` (an
                interrupted collection or encode); refused otherwise.
        """
        super().__init__()
        if path is None and train_shards is None:
            raise ValueError("give path (a dataset folder) or train_shards (a shard glob)")
        if batch_size < 1 or num_workers < 0 or shuffle_buffer < 0:
            raise ValueError("batch_size must be >= 1, num_workers and shuffle_buffer >= 0")
        self.path = path
        self.manifest = read_manifest(path) if path is not None else None
        check_complete(path, self.manifest, allow_incomplete)
        self.train_shards = train_shards or str(Path(path) / "train-*.tar")
        self.val_shards = val_shards or (str(Path(path) / "val-*.tar") if path else None)
        self.batch_size, self.num_workers = batch_size, num_workers
        self.shuffle_buffer, self.seed, self.num_frames = shuffle_buffer, seed, num_frames
        self.rank, self.world_size = rank, world_size
        self.limits = limits

    def dataset(self, split: str) -> ShardDataset:
        spec = self.train_shards if split == "train" else self.val_shards
        if self.path is not None and spec == str(Path(self.path) / f"{split}-*.tar"):
            check_shards_present(self.path, self.manifest, split)  # the glob would not tell
        shards = expand_shards(spec) if spec else []
        if not shards:
            raise ValueError(f"{split}_shards={spec!r} matches no shard files")
        train = split == "train"
        return ShardDataset(
            shards,
            rank=self.rank,
            world_size=self.world_size,
            shuffle_buffer=self.shuffle_buffer if train else 0,
            seed=self.seed,
            validate=self.validate,
            transform=self._crop if train else self._crop_start,
            limits=self.limits,
        )

    def _crop(self, sample: dict, generator: torch.Generator | None) -> dict:
        if self.num_frames is None:
            return sample
        return temporal_crop(sample, self.num_frames, generator)

    def _crop_start(self, sample: dict, generator: torch.Generator) -> dict:
        return self._crop(sample, None)

    def loader(self, split: str) -> EpochDataLoader:
        return EpochDataLoader(
            self.dataset(split),
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            collate_fn=self.collate,
        )

    def train_dataloader(self) -> EpochDataLoader:
        return self.loader("train")

    def val_dataloader(self) -> EpochDataLoader:
        return self.loader("val")

    def validate(self, sample: dict) -> str | None:
        raise NotImplementedError

    def collate(self, samples: list[dict]):
        raise NotImplementedError

    def _check_common(self, sample: dict, array: np.ndarray) -> str | None:
        """Checks shared by clips and tokens: per-frame lengths, meta, caption, crop length."""
        frames = array.shape[0]
        for name in PER_FRAME_FIELDS:
            if name in sample and np.shape(sample[name]) != (frames,):
                return f"{name} has shape {np.shape(sample[name])}, expected ({frames},)"
        if "ram" in sample and np.shape(sample["ram"])[:1] != (frames,):
            return f"ram has shape {np.shape(sample['ram'])}, expected ({frames}, 128)"
        if not isinstance(sample.get("meta", {}), dict):
            return "meta.json is not an object"
        if "caption" in sample and not isinstance(sample["caption"], str):
            return "caption is not text"
        if self.num_frames is not None and frames < self.num_frames:
            return f"{frames} frames < num_frames={self.num_frames}"
        return None


def _stack_optional(samples: list[dict], name: str, dtype: torch.dtype) -> torch.Tensor | None:
    if not all(name in s for s in samples):
        return None
    return torch.stack([torch.from_numpy(np.asarray(s[name])) for s in samples]).to(dtype)


def _meta(sample: dict) -> dict:
    return {**sample.get("meta", {}), "key": sample.get("__key__"), "shard": sample.get("__url__")}


class VideoDataModule(ShardDataModule):
    """Clip shards -> `VideoBatch` (video B×C×T×H×W float in [-1, 1])."""

    def _expected(self) -> dict:
        manifest = self.manifest or {}
        keys = [k.rsplit(".", 1)[0] for k in manifest.get("sample_keys", ["frames.npy"])]
        return {"keys": keys, "size": manifest.get("size"), "length": manifest.get("clip_length")}

    def validate(self, sample: dict) -> str | None:
        expected = self._expected()
        missing = [k for k in expected["keys"] if k not in sample]
        if missing:
            return f"missing fields {missing}"
        frames = sample["frames"]
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            return f"frames {frames.dtype} {frames.shape} is not uint8 T×H×W×3"
        if expected["size"] is not None and list(frames.shape[1:3]) != list(expected["size"]):
            return f"frames are {frames.shape[1:3]}, the manifest says {expected['size']}"
        if expected["length"] is not None and frames.shape[0] != expected["length"]:
            return f"{frames.shape[0]} frames, the manifest says {expected['length']}"
        return self._check_common(sample, frames)

    def collate(self, samples: list[dict]) -> VideoBatch:
        frames_BTHWC = torch.stack([torch.from_numpy(s["frames"]) for s in samples])
        video_BCTHW = frames_BTHWC.permute(0, 4, 1, 2, 3).float() / 127.5 - 1.0
        captions = [s["caption"] for s in samples] if all("caption" in s for s in samples) else None
        return VideoBatch(
            video=video_BCTHW,
            actions=_stack_optional(samples, "actions", torch.int64),
            captions=captions,
            meta=[_meta(s) for s in samples],
        )


class TokenDataModule(ShardDataModule):
    """Token shards (codes or latents, actions, captions, labels) -> `TokenBatch`.

    Crops (num_frames) apply to the first (latent-frame) axis of the tokens and actions.
    """

    def validate(self, sample: dict) -> str | None:
        if ("codes" in sample) == ("latents" in sample):
            return "a token sample holds exactly one of codes.npy / latents.npy"
        tokens = sample.get("codes", sample.get("latents"))
        if "codes" in sample and not np.issubdtype(tokens.dtype, np.integer):
            return f"codes have dtype {tokens.dtype}, expected an integer type"
        if "latents" in sample and not np.issubdtype(tokens.dtype, np.floating):
            return f"latents have dtype {tokens.dtype}, expected a float type"
        if tokens.ndim < 2:
            return f"tokens have shape {tokens.shape}, expected T×..."
        return self._check_common(sample, tokens)

    def collate(self, samples: list[dict]) -> TokenBatch:
        labels = None
        if all("label" in s.get("meta", {}) for s in samples):
            labels = torch.tensor([int(s["meta"]["label"]) for s in samples], dtype=torch.int64)
        captions = [s["caption"] for s in samples] if all("caption" in s for s in samples) else None
        return TokenBatch(
            codes=_stack_optional(samples, "codes", torch.int64),
            latents=_stack_optional(samples, "latents", torch.float32),
            actions=_stack_optional(samples, "actions", torch.int64),
            labels=labels,
            captions=captions,
            meta=[_meta(s) for s in samples],
        )
