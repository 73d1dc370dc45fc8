"""The motion beat of clip data sets (arvideo/data/motion_beat.py): gaps between big
changes, in frames, and the clip length whose last frame sees a whole beat back.

    python benchmarks/experiments/motion_beat.py <clips> [<clips> ...]
"""

from __future__ import annotations

import sys

from arvideo.data.motion_beat import dataset_beat

if __name__ == "__main__":
    for data in sys.argv[1:]:
        beat = dataset_beat(data)  # measured once, then read from <data>/motion_beat.json
        print(f"{data}: {beat.report()}; median changed pixels {beat.median_changed_pixels:g}")
        print("  gaps:", ", ".join(f"{gap}: {count}" for gap, count in beat.gaps.items()))
