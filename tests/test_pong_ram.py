"""Pong positions from RAM agree with the positions read from colour on real frames."""

from __future__ import annotations

import numpy as np
import pytest

from arvideo.data.reader import ShardDataset, expand_shards
from arvideo.pong_objects import OBJECTS, locate_objects, ram_objects


def test_ram_positions_agree_with_colour(pong_dir):
    seen = dict.fromkeys(OBJECTS, 0)
    for clip in ShardDataset(expand_shards(str(pong_dir / "*.tar")), rank=0, world_size=1):
        from_ram = ram_objects(clip["ram"], 64, 64)
        for frame, ram in zip(clip["frames"][1:], from_ram[1:]):  # frame 0: no lag known
            colour = locate_objects(frame)
            for name in OBJECTS:
                a, b = getattr(colour, name), getattr(ram, name)
                if a is not None and b is not None:
                    assert abs(a.x - b.x) <= 1.5 and abs(a.y - b.y) <= 1.5, (name, a, b)
                    seen[name] += 1
    assert min(seen.values()) > 50  # every object was compared on many frames


def test_ram_objects_checks_its_input():
    with pytest.raises(ValueError, match="T×128"):
        ram_objects(np.zeros((4, 64), dtype=np.uint8))
