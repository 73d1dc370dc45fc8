"""Token sequences as the backbone sees them: per-slot layout metadata and forward inputs.

* `TokenLayout`: what an order assigns to every video slot (group, frame, in-frame slot,
  position). Sliced with `layout[start:stop]`, moved later in time with `shifted`, joined
  with `TokenLayout.cat`.
* `SequenceInputs`: everything one backbone forward needs (input embeddings, positions,
  per-token conditioning, group/frame ids, validity, prefix length). Joined along the
  sequence with `cat`, doubled along the batch with `stack` (conditional and unconditional
  runs of classifier-free guidance), thinned with `select`.

This module knows nothing about orders, heads, caches, conditioning or the backbone.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class TokenLayout:
    """Per-slot metadata of the video tokens of `num_frames` frames, in sequence order."""

    group_N: torch.Tensor  # int64, non-decreasing
    frame_N: torch.Tensor  # int64, the frame each slot predicts
    slot_N: torch.Tensor  # int64, index within a frame (for the slot embedding)
    positions_N4: torch.Tensor  # float32: t, h, w, scale
    num_frames: int

    @property
    def num_groups(self) -> int:
        return int(self.group_N[-1]) + 1

    def __len__(self) -> int:
        return int(self.group_N.shape[0])

    def __getitem__(self, index: slice) -> TokenLayout:
        """The slots `index` (a slice) of the sequence; `num_frames` is kept."""
        if not isinstance(index, slice):
            raise TypeError(f"a TokenLayout is sliced with start:stop, got {index!r}")
        return TokenLayout(
            self.group_N[index],
            self.frame_N[index],
            self.slot_N[index],
            self.positions_N4[index],
            self.num_frames,
        )

    def to(self, device: torch.device | str) -> TokenLayout:
        return TokenLayout(
            self.group_N.to(device),
            self.frame_N.to(device),
            self.slot_N.to(device),
            self.positions_N4.to(device),
            self.num_frames,
        )

    def shifted(self, frames: int) -> TokenLayout:
        """The same slots `frames` frames later: frame, time position and group ids move by
        whole frames (a layout of whole frames with equal groups per frame)."""
        positions = self.positions_N4.clone()
        positions[:, 0] += frames
        groups = frames * (self.num_groups // self.num_frames)
        return TokenLayout(
            self.group_N + groups,
            self.frame_N + frames,
            self.slot_N,
            positions,
            self.num_frames + frames,
        )

    @staticmethod
    def cat(layouts: list[TokenLayout]) -> TokenLayout:
        """Consecutive layouts as one sequence (num_frames of the last)."""
        return TokenLayout(
            torch.cat([part.group_N for part in layouts]),
            torch.cat([part.frame_N for part in layouts]),
            torch.cat([part.slot_N for part in layouts]),
            torch.cat([part.positions_N4 for part in layouts]),
            layouts[-1].num_frames,
        )


@dataclass
class SequenceInputs:
    """Everything the backbone needs for one forward over prefix + video slots."""

    x_BND: torch.Tensor
    positions: torch.Tensor  # N×4
    cond_BND: torch.Tensor
    group_N: torch.Tensor
    frame_N: torch.Tensor
    valid_BN: torch.Tensor
    prefix_len: int

    @staticmethod
    def cat(first: SequenceInputs, second: SequenceInputs) -> SequenceInputs:
        """Two token runs along the sequence (the uncached baseline's history + new run)."""
        return SequenceInputs(
            torch.cat([first.x_BND, second.x_BND], 1),
            torch.cat([first.positions, second.positions]),
            torch.cat([first.cond_BND, second.cond_BND], 1),
            torch.cat([first.group_N, second.group_N]),
            torch.cat([first.frame_N, second.frame_N]),
            torch.cat([first.valid_BN, second.valid_BN], 1),
            0,
        )

    @staticmethod
    def stack(runs: list[SequenceInputs]) -> SequenceInputs:
        """Runs over the same slots as one batch (conditional first); one run is returned
        as it is."""
        if len(runs) == 1:
            return runs[0]
        first = runs[0]
        return SequenceInputs(
            torch.cat([run.x_BND for run in runs]),
            first.positions,
            torch.cat([run.cond_BND for run in runs]),
            first.group_N,
            first.frame_N,
            torch.cat([run.valid_BN for run in runs]),
            first.prefix_len,
        )

    def select(self, keep_N: torch.Tensor) -> SequenceInputs:
        """The slots where keep_N (bool N) is True; the prefix length is reset to 0."""
        return SequenceInputs(
            self.x_BND[:, keep_N],
            self.positions[keep_N],
            self.cond_BND[:, keep_N],
            self.group_N[keep_N],
            self.frame_N[keep_N],
            self.valid_BN[:, keep_N],
            0,
        )
