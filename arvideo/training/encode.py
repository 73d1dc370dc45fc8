"""`arvideo encode`: clip shards -> token shards with a frozen tokenizer.

Reads every clip shard of each split in order (no shuffling, one reader), encodes batches of
clips under ``torch.no_grad`` (bf16 autocast on CUDA only; quantisers run in fp32 anyway)
and writes token shards with the same split names and sample keys (schema: shards.py):

* ``codes.npy``: int16 when the vocabulary fits (<= 32767) else int32, per clip the layout
  of `TokenizerOutput.codes`: T'×H'×W' (T'×H'×W'×D for rvq, T'×L for msvq); or
  ``latents.npy``: float16 T'×H'×W'×C for a continuous tokenizer (its normalised latents,
  the posterior mean: the tokenizer is in eval mode).
* ``actions.npy``: one action per *latent* frame. With temporal compression r, latent frame
  0 covers frame 0 and latent frame j >= 1 covers frames (j-1)·r+1 .. j·r; it gets the
  action of the last real frame it covers, frame j·r (the action that leads out of it).
* ``rewards.npy``, ``dones.npy``, ``truncated.npy``, ``ram.npy``: the clip's ground truth,
  one row per latent frame (the rule is in data/ground_truth.py).
* ``meta.json``: the clip's meta plus ``frames_used`` and the tokenizer folder;
  ``caption.txt`` when the clip has one.

A clip of T frames with (T - 1) % r != 0 is cut to its first 1 + ⌊(T - 1)/r⌋·r frames
(``frames_used``). ``dataset.json`` records the tokenizer and its constants, the source
manifest's fields (game, action space, ...) and per-split counts; it is rewritten after
every completed shard, and an interruption (Ctrl-C included) leaves only complete shards and
``"complete": false``, as the collectors do.

Clips are read as training reads them (`VideoDataModule`'s checks through the safe reader):
a sample that is corrupt, truncated or lacks a field is skipped with a warning, counted per
split in the summary and in ``dataset.json`` (``splits.<split>.skipped``), and reported.
A split without shards (``collect --episodes 1`` has no val split) is encoded as empty and
reported. What can be checked before work begins is: the arguments, an output folder that
already holds a data set, a source marked ``"complete": false`` (refused unless
``allow_incomplete``; the tokens then record ``"source_complete": false``) and shards its
manifest lists but the folder lacks. Knows shards and the tokenizer's public API; knows
nothing about training or the generator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from arvideo.data.clips import (
    SPLITS,
    manifest_with_splits,
    progress_bar,
    write_manifest,
)
from arvideo.data.completeness import check_shards_present
from arvideo.data.datamodule import VideoDataModule
from arvideo.data.ground_truth import latent_ground_truth
from arvideo.data.reader import ShardDataset, expand_shards
from arvideo.data.shards import ShardWriter
from arvideo.tokenizer import StabilityMeter, TokenStability, VideoTokenizer
from arvideo.tokenizer.fingerprint import tokenizer_fingerprint

FORMAT_VERSION = "arvideo-tokens/1"
SOURCE_FIELDS = ("source", "game", "action_space", "size", "clip_length", "stride", "fps")
INT16_MAX_VOCAB = 32767


@dataclass
class EncodeSummary:
    """What `encode` wrote (dataset.json holds the details)."""

    out: str
    clips: int
    latent_frames: int
    shards: int
    complete: bool
    # per split: do cells whose pixels stand still keep their code (latent)? (stability.py)
    stability: dict[str, TokenStability] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)  # bad samples per split
    empty_splits: list[str] = field(default_factory=list)  # splits without any shard


def frames_used(frames: int, temporal_compression: int) -> int:
    """The longest prefix 1 + k·r of a T-frame clip that the tokenizer can encode."""
    if frames < 1:
        raise ValueError(f"a clip needs at least one frame, got {frames}")
    return 1 + (frames - 1) // temporal_compression * temporal_compression


def latent_actions(actions_T: np.ndarray, temporal_compression: int, latent_frames: int):
    """Action of the last real frame of each latent frame: actions[j·r] for j < T'."""
    return np.asarray(actions_T)[::temporal_compression][:latent_frames].astype(np.int64)


def codes_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.int16 if vocab_size <= INT16_MAX_VOCAB else np.int32)


def check_out(out: Path) -> None:
    """Refuse an output folder that already holds shards or a manifest."""
    stale = sorted(p.name for p in out.glob("*.tar")) + [p.name for p in out.glob("*.json")]
    if stale:
        raise FileExistsError(f"out={str(out)!r} already holds {stale[:3]}; use an empty one")


class TokenShardWriter:
    """Train/val ShardWriters plus dataset.json, rewritten atomically after every shard."""

    def __init__(self, out: Path, info: dict):
        self.out, self.info, self.complete = out, info, False
        self.token_shape: list[int] | None = None
        self.skipped = {split: 0 for split in SPLITS}
        check_out(out)
        out.mkdir(parents=True, exist_ok=True)
        self.writers = {s: ShardWriter(out, s, info["shard_size"], self._done) for s in SPLITS}

    def _done(self, record) -> None:
        self.write_manifest()

    def finish(self, ok: bool) -> None:
        for writer in self.writers.values():
            writer.close() if ok else writer.abort()
        self.complete = ok
        self.write_manifest()

    def manifest(self) -> dict:
        splits = {
            split: {
                "shards": [asdict(r) for r in writer.records],
                "clips": sum(r.samples for r in writer.records),
                "frames": sum(r.frames for r in writer.records),  # latent frames
                "skipped": self.skipped[split],  # bad source samples left out
            }
            for split, writer in self.writers.items()
        }
        fields = {**self.info, "token_shape": self.token_shape}
        return manifest_with_splits(FORMAT_VERSION, fields, splits, self.complete)

    def write_manifest(self) -> None:
        write_manifest(self.out, self.manifest())


def tokenizer_info(model: VideoTokenizer, folder: Path, clip: tuple[int, int, int]) -> dict:
    """Manifest fields describing the tokenizer; `clip` is a source clip's (T, H, W)."""
    frames = frames_used(clip[0], model.temporal_compression)
    grid = model.latent_grid(frames, clip[1], clip[2])
    return {
        "tokenizer": str(folder.resolve()),
        # the folder's content: a later export checks the path still holds this tokenizer
        "tokenizer_sha256": tokenizer_fingerprint(folder),
        "kind": "latents" if model.is_continuous else "codes",
        "bottleneck": model.config.bottleneck.kind,
        "vocab_size": model.vocab_size,
        "code_depth": model.code_depth,
        "scales": None if model.scales is None else list(model.scales),
        "latent_grid": asdict(grid),
        "latent_dim": model.latent_dim,
        "temporal_compression": model.temporal_compression,
        "spatial_compression": model.spatial_compression,
        "codes_dtype": None if model.is_continuous else codes_dtype(model.vocab_size).name,
        "frames_used": frames,
    }


@torch.no_grad()
def encode_clips(
    model: VideoTokenizer,
    frames_BTHWC: np.ndarray,
    device: torch.device,
    meter: StabilityMeter | None = None,
):
    """uint8 clips -> per-clip token arrays (codes or float16 latents, channels last).

    `meter`, when given, is updated with the clips and their tokens."""
    video_BCTHW = torch.from_numpy(frames_BTHWC).to(device).permute(0, 4, 1, 2, 3)
    video_BCTHW = video_BCTHW.float() / 127.5 - 1.0
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        encoded = model.encode(video_BCTHW)
    if meter is not None:
        latents = encoded.latents.float() if encoded.codes is None else None
        meter.update(video_BCTHW, encoded.codes, latents)
    if model.is_continuous:
        latents_BTHWC = encoded.latents.float().permute(0, 2, 3, 4, 1)
        return list(latents_BTHWC.cpu().numpy().astype(np.float16))
    return list(encoded.codes.cpu().numpy().astype(codes_dtype(model.vocab_size)))


def token_sample(clip: dict, tokens: np.ndarray, model: VideoTokenizer, meta: dict) -> dict:
    """The token-shard sample of one clip; `meta` is added to the clip's meta.json."""
    sample = {("latents.npy" if model.is_continuous else "codes.npy"): tokens}
    if "actions" in clip:
        sample["actions.npy"] = latent_actions(
            clip["actions"], model.temporal_compression, tokens.shape[0]
        )
    sample.update(latent_ground_truth(clip, model.temporal_compression, tokens.shape[0]))
    sample["meta.json"] = {**clip.get("meta", {}), **meta}
    if "caption" in clip:
        sample["caption.txt"] = clip["caption"]
    return sample


def encode_split(
    model: VideoTokenizer,
    clips: ShardDataset,
    writer: ShardWriter,
    batch_size: int,
    device: torch.device,
    on_clip: Callable[[], None],
    meta: dict,
    meter: StabilityMeter | None = None,
) -> None:
    """Encode the clips of one split in order (a batch holds clips of one shape); `meta` is
    added to every clip's meta.json; `meter` measures token stability. Bad samples are
    skipped by the reader and counted in `clips.stats`."""
    batch: list[dict] = []

    def flush() -> None:
        used = frames_used(batch[0]["frames"].shape[0], model.temporal_compression)
        frames = np.stack([clip["frames"][:used] for clip in batch])
        for clip, tokens in zip(batch, encode_clips(model, frames, device, meter)):
            sample = token_sample(clip, tokens, model, {**meta, "frames_used": used})
            writer.write(clip["__key__"], sample, episode=clip.get("meta", {}).get("episode"))
            on_clip()
        batch.clear()

    for clip in clips:
        if batch and clip["frames"].shape != batch[0]["frames"].shape:
            flush()
        batch.append(clip)
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()


@dataclass
class EncodeSource:
    """The clip data set, checked: its reader and the shards of each split."""

    module: VideoDataModule  # the training reader's sample checks
    shards: dict[str, list[str]]  # split -> shard paths (empty: the split has none)
    manifest: dict

    def first_clip(self) -> np.ndarray:
        """Frames of the first readable clip (it fixes the token shape)."""
        for split, shards in self.shards.items():
            if shards:
                clip = next(iter(self.module.dataset(split)), None)
                if clip is not None:
                    return clip["frames"]
        raise ValueError(f"data={self.module.path!r}: no shard holds a readable clip")


def open_source(data: str, allow_incomplete: bool) -> EncodeSource:
    """Check the clip data set before any work: complete (or allowed), listed shards all
    present, at least one shard."""
    module = VideoDataModule(
        path=data, shuffle_buffer=0, rank=0, world_size=1, allow_incomplete=allow_incomplete
    )
    shards = {s: expand_shards(str(Path(data) / f"{s}-*.tar")) for s in SPLITS}
    for split in SPLITS:
        check_shards_present(data, module.manifest, split)
    if not any(shards.values()):
        raise ValueError(f"data={data!r} holds no train-*.tar or val-*.tar shards")
    return EncodeSource(module, shards, module.manifest or {})


def check_arguments(batch_size: int, shard_size: int, out: str) -> None:
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    check_out(Path(out))


def encode(
    *,  # keyword-only: `arvideo encode --tokenizer DIR --data DIR --out DIR`
    tokenizer: str,
    data: str,
    out: str,
    batch_size: int = 16,
    device: str = "cpu",
    shard_size: int = 256,
    progress: bool = True,
    allow_incomplete: bool = False,
) -> EncodeSummary:
    """Encode a clip dataset into token shards with a frozen tokenizer.

    Args:
        tokenizer: a tokenizer folder (config.json + model.safetensors; see
            `arvideo tokenizer export`).
        data: a clip dataset folder (dataset.json, train-*.tar, val-*.tar).
        out: output folder for the token shards; must not hold a dataset yet.
        batch_size: clips encoded at once.
        device: torch device, e.g. cpu or cuda (bf16 autocast on CUDA).
        shard_size: clips per token shard.
        progress: show a progress bar.
        allow_incomplete: encode a clip set whose collection was interrupted.
    """
    check_arguments(batch_size, shard_size, out)
    source = open_source(data, allow_incomplete)
    torch_device = torch.device(device)
    model = VideoTokenizer.from_pretrained(tokenizer, device=torch_device).eval()
    model.requires_grad_(False)
    first = source.first_clip()
    info = {
        **{k: source.manifest[k] for k in SOURCE_FIELDS if k in source.manifest},
        "source_data": str(Path(data).resolve()),
        "source_complete": source.manifest.get("complete"),
        "shard_size": shard_size,
        **tokenizer_info(model, Path(tokenizer), first.shape[:3]),
    }
    writer = TokenShardWriter(Path(out), info)
    used = info["frames_used"]
    writer.token_shape = list(encode_clips(model, first[None, :used], torch_device)[0].shape)
    bar, task = progress_bar(progress, "encode", source.manifest.get("clips"))
    on_clip = lambda: bar.update(task, advance=1)
    splits = [split for split, shards in source.shards.items() if shards]
    meters = {s: StabilityMeter.of(model) for s in splits}
    try:
        with bar:
            for split in splits:
                clips = source.module.dataset(split)
                encode_split(
                    model, clips, writer.writers[split], batch_size, torch_device,
                    on_clip, {"tokenizer": info["tokenizer"]}, meters[split],
                )  # fmt: skip
                writer.skipped[split] = clips.stats.skipped
    except BaseException:
        writer.finish(ok=False)
        raise
    stability = {s: meter.result() for s, meter in meters.items() if meter.updates}
    writer.info["token_stability"] = {s: asdict(result) for s, result in stability.items()}
    writer.finish(ok=True)
    summary = summarize(writer, stability, [s for s in SPLITS if s not in splits])
    report(summary)
    return summary


def summarize(
    writer: TokenShardWriter, stability: dict[str, TokenStability], empty: list[str]
) -> EncodeSummary:
    manifest = writer.manifest()
    return EncodeSummary(
        str(writer.out.resolve()), manifest["clips"], manifest["frames"],
        sum(len(s["shards"]) for s in manifest["splits"].values()), writer.complete, stability,
        dict(writer.skipped), empty,
    )  # fmt: skip


def report(summary: EncodeSummary) -> None:
    """Say what was left out: nothing silent."""
    for split in summary.empty_splits:
        print(f"encode: the {split} split has no shards; its token split is empty")
    for split, count in summary.skipped.items():
        if count:
            print(f"encode: skipped {count} bad {split} samples (see the warnings above)")
