"""The game's ground truth carried from clip shards into token shards, one row per latent frame.

Clip shards keep per frame the reward, the episode end (dones, truncated) and the console's
RAM (shards.py). A tokenizer with temporal compression r makes latent frame 0 of frame 0 and
latent frame j >= 1 of frames (j-1)·r+1 .. j·r (encode.py). A latent frame then gets:

* rewards: the sum over its frames (every reward of the clip's used frames is kept once);
* dones, truncated: true when any of its frames is (an episode end is never lost);
* ram: the RAM at its last frame, j·r, the frame whose action encode.py keeps.

With r = 1 every field is copied unchanged. Knows arrays and this rule only.
"""

from __future__ import annotations

import numpy as np

RAM_BYTES = 128  # the Atari 2600's RAM
GROUND_TRUTH_FIELDS = ("rewards", "dones", "truncated", "ram")


def latent_frame_starts(temporal_compression: int, latent_frames: int) -> np.ndarray:
    """Index of the first frame of each latent frame: 0, 1, r+1, 2r+1, ..."""
    if temporal_compression < 1 or latent_frames < 1:
        raise ValueError(
            f"temporal_compression and latent_frames must be >= 1, got "
            f"{temporal_compression}, {latent_frames}"
        )
    later = np.arange(latent_frames - 1) * temporal_compression + 1
    return np.concatenate([[0], later]).astype(np.int64)


def latent_ground_truth(clip: dict, temporal_compression: int, latent_frames: int) -> dict:
    """Token-shard fields ('rewards.npy', ...) for the ground-truth fields `clip` holds."""
    r, used = temporal_compression, 1 + (latent_frames - 1) * temporal_compression
    starts = latent_frame_starts(r, latent_frames)
    out = {}
    for name in GROUND_TRUTH_FIELDS:
        if name not in clip:
            continue
        values = np.asarray(clip[name])
        if values.shape[0] < used:
            raise ValueError(
                f"clip field {name!r} has {values.shape[0]} rows, fewer than the {used} "
                "frames the tokens cover"
            )
        values = values[:used]
        if name == "ram":
            out["ram.npy"] = values[::r].astype(np.uint8)
        elif name == "rewards":
            out["rewards.npy"] = np.add.reduceat(values.astype(np.float32), starts)
        else:
            out[f"{name}.npy"] = np.logical_or.reduceat(values.astype(bool), starts)
    return out
