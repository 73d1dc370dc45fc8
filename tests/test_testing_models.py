"""arvideo.testing: tiny models are reproducible from their seed and load as a model folder."""

from __future__ import annotations

import torch

from arvideo.generate import VideoGenerator
from arvideo.testing import FRAME, tiny_lm, tiny_model_folder


def test_the_seed_fixes_the_weights():
    same = [dict(tiny_lm(seed=1).state_dict()) for _ in range(2)]
    other = tiny_lm(seed=2).state_dict()
    assert all(torch.equal(same[0][k], same[1][k]) for k in same[0])
    assert not all(torch.equal(same[0][k], other[k]) for k in other)
    plain = tiny_lm(seed=1, perturb=0.0).state_dict()
    assert not all(torch.equal(same[0][k], plain[k]) for k in plain)


def test_a_tiny_folder_loads_and_generates(tmp_path):
    gen = VideoGenerator.from_pretrained(tiny_model_folder(tmp_path / "tiny", sample_clip=True))
    assert (tmp_path / "tiny").is_dir() and any((tmp_path / "tiny").rglob("*sample*"))
    out = gen(num_frames=2, seed=0, progress=False)
    assert out.video.shape[-3:] == (FRAME, FRAME, 3)
