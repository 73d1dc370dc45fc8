"""How far a 64-window ball figure can move: one greedy rollout of W held-out windows, the ball
score over all of them and over each of K interleaved subsets (windows i, i+K, i+2K, ...),
beside the bench's own W/K evenly spaced picks when they are among the W.

usage: window_subsets.py CLIPS MODEL [--windows 256] [--subsets 4] [--context 4] [--horizon 8]
"""

import argparse

from arvideo.ball_score import ball_score
from arvideo.bench.paradigms.episodes import (
    evaluation_windows,
    evenly_spaced_indices,
    load_episodes,
    window_starts,
)
from arvideo.generate import VideoGenerator
from arvideo.metrics import video_to_frames
from arvideo.rollout_score import rollout_windows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips")
    parser.add_argument("model")
    parser.add_argument("--windows", type=int, default=256)
    parser.add_argument("--subsets", type=int, default=4)
    parser.add_argument("--context", type=int, default=4)
    parser.add_argument("--horizon", type=int, default=8)
    args = parser.parse_args()
    C, H = args.context, args.horizon
    episodes = load_episodes(args.clips, "val")
    windows = evaluation_windows(episodes, C + H, args.windows)
    generator = VideoGenerator.from_pretrained(args.model)
    fake = rollout_windows(generator, windows, C, top_k=1)
    truth = video_to_frames(windows.video_BCTHW[:, :, C:])

    def line(name: str, rows) -> str:
        score = ball_score(truth[rows], fake[rows])
        return f"{name}: {len(rows)} windows, ball ≤2px {score.within_2px:.3f}"

    count = truth.shape[0]
    print(line("all", list(range(count))))
    for i in range(args.subsets):
        print(line(f"subset {i}", list(range(i, count, args.subsets))))
    candidates = len(window_starts(episodes, C + H))
    picked = evenly_spaced_indices(candidates, args.windows)
    bench = set(evenly_spaced_indices(candidates, args.windows // args.subsets).tolist())
    shared = [row for row, start in enumerate(picked) if start in bench]
    print(f"{candidates} non-overlapping windows to pick from")
    print(line(f"the bench's {len(bench)} picks, {len(shared)} of them among these", shared))


if __name__ == "__main__":
    main()
