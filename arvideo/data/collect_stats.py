"""What a collection gave, per game: frames, how often something moves, episode lengths.

A frame "moves" when any pixel differs from the frame before it in the same episode (the
emulator is deterministic, so a waiting screen repeats exactly); the first frame of an
episode has no predecessor and is not counted either way. Printed by the collector, stored
under "stats" in dataset.json and shown by `arvideo data info`. Knows episodes' arrays only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass
class GameStats:
    game: str
    frames: int = 0  # frames played, every episode whole or cut (clips may drop a tail)
    moving_frames: int = 0  # frames that differ from their predecessor
    compared_frames: int = 0  # frames that have a predecessor
    episode_lengths: list[int] = field(default_factory=list)  # frames per episode, in order
    ended: int = 0  # episodes the game ended (dones)
    truncated: int = 0  # episodes cut by a step cap or the frame budget
    returns: list[float] = field(default_factory=list)  # summed reward per episode

    def add(self, frames_THWC: np.ndarray, rewards_T: np.ndarray, done: bool) -> None:
        """Count one episode; `done`: the game ended it (else it was cut)."""
        changed_T = np.any(frames_THWC[1:] != frames_THWC[:-1], axis=(1, 2, 3))
        self.frames += len(frames_THWC)
        self.moving_frames += int(changed_T.sum())
        self.compared_frames += len(changed_T)
        self.episode_lengths.append(len(frames_THWC))
        self.ended += int(done)
        self.truncated += int(not done)
        self.returns.append(float(np.sum(rewards_T)))

    @property
    def moving_share(self) -> float:
        return self.moving_frames / self.compared_frames if self.compared_frames else 0.0

    def record(self) -> dict:
        return {**asdict(self), "moving_share": round(self.moving_share, 4)}

    def report(self) -> str:
        return format_stats(self.record())


def format_stats(record: dict) -> str:
    """One line per game from a stored record (dataset.json 'stats')."""
    lengths = record["episode_lengths"] or [0]
    return (
        f"{record['game']}: {record['frames']} frames in {len(record['episode_lengths'])} "
        f"episodes ({record['ended']} ended by the game, {record['truncated']} cut), "
        f"something moves in {record['moving_share']:.1%} of frames; episode length "
        f"min {min(lengths)} / median {int(np.median(lengths))} / max {max(lengths)} frames"
    )
