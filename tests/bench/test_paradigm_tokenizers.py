"""The paradigm benchmark's tokenizers: `tokenizers=<folder>` loads the folders `arvideo bench
tokenizer` saves (<folder>/<kind>/tokenizer), frozen, and refuses a missing kind, a wrong
bottleneck or a latent grid the others do not share; next_scale takes msvq's scales for both
heads. Tiny random tokenizers saved in tmp_path stand in for trained ones."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from arvideo.bench.paradigms import models
from arvideo.bench.paradigms.run import (
    bench_paradigms,
    budget_preset,
    measure_tokenizers,
    prepare,
)
from arvideo.threads import cpu_threads
from arvideo.tokenizer import VideoTokenizer
from arvideo.tokenizer.config import BottleneckConfig, TokenizerConfig

FRAME_HW = (64, 64)
PONG_SCALES = (1, 2, 3, 4, 6, 8)  # configs/tokenizer/pong_msvq.yaml


def tiny_tokenizer(kind: str, spatial_compression: int = 8) -> VideoTokenizer:
    torch.manual_seed(0)
    bottleneck = BottleneckConfig(kind=kind, codebook_size=16, scales=PONG_SCALES, refine_convs=2)
    widths = (8,) * (1 + {8: 3, 16: 4}[spatial_compression])
    config = TokenizerConfig(
        widths=widths, latent_dim=4, norm_groups=8, spatial_compression=spatial_compression,
        time_kernel=1, bottleneck=bottleneck,
    )  # fmt: skip
    return VideoTokenizer(config).eval()


def save_tokenizers(root: Path, **replace: VideoTokenizer | None) -> Path:
    """<root>/<kind>/tokenizer for every kind; `replace` swaps (or, None, leaves out) one."""
    for kind in models.KINDS:
        tokenizer = replace[kind] if kind in replace else tiny_tokenizer(kind)
        if tokenizer is not None:
            tokenizer.save_pretrained(root / kind / "tokenizer")
    return root


def load(root: Path) -> dict[str, models.TrainedTokenizer]:
    plan = budget_preset("smoke").tokenizer_plan()  # unused when a folder is given
    return models.get_tokenizers(list(models.KINDS), root, "unused", plan, root / "x", 0)


def test_given_folders_are_loaded_frozen_with_their_path(tmp_path):
    loaded = load(save_tokenizers(tmp_path))
    assert list(loaded) == list(models.KINDS)
    for kind, trained in loaded.items():
        assert trained.source == str(tmp_path / kind / "tokenizer")
        assert trained.steps is None and trained.wall_s is None  # not trained here
        assert not trained.tokenizer.training
        assert not any(p.requires_grad for p in trained.tokenizer.parameters())
        saved = tiny_tokenizer(kind).state_dict()
        for name, value in trained.tokenizer.state_dict().items():
            assert torch.equal(value, saved[name]), (kind, name)
    assert models.shared_latent_grid(loaded, FRAME_HW) == (8, 8)


def test_a_missing_kind_is_refused_naming_the_folder(tmp_path):
    save_tokenizers(tmp_path, msvq=None)
    with pytest.raises(FileNotFoundError, match="no msvq tokenizer") as error:
        load(tmp_path)
    assert str(tmp_path / "msvq" / "tokenizer") in str(error.value)


def test_a_wrong_bottleneck_is_refused(tmp_path):
    save_tokenizers(tmp_path, vq=tiny_tokenizer("continuous"))
    with pytest.raises(ValueError, match="'continuous' tokenizer; the paradigms need 'vq'"):
        load(tmp_path)


def test_a_mismatched_latent_grid_is_refused_naming_the_folder(tmp_path):
    save_tokenizers(tmp_path, continuous=tiny_tokenizer("continuous", spatial_compression=16))
    loaded = load(tmp_path)
    with pytest.raises(ValueError, match="different latent grids") as error:
        models.shared_latent_grid(loaded, FRAME_HW)
    message = str(error.value)
    assert f"{tmp_path / 'continuous' / 'tokenizer'}: 4×4" in message
    assert f"{tmp_path / 'vq' / 'tokenizer'}: 8×8" in message
    with pytest.raises(ValueError, match="cannot encode the frames"):  # 60 is not a multiple of 8
        models.shared_latent_grid(loaded, (60, 60))


def test_bench_refuses_a_bad_tokenizers_argument(tmp_path):
    with pytest.raises(ValueError, match="is not a folder"):
        bench_paradigms(tokenizers=str(tmp_path / "nowhere"), out=str(tmp_path))
    with pytest.raises(ValueError, match="tokenizer_steps unused"):
        bench_paradigms(tokenizers=str(tmp_path), tokenizer_steps=5, out=str(tmp_path))


def test_next_scale_takes_msvq_scales_for_both_heads():
    """Next-scale diffusion splits continuous latents at msvq's scales, not at its own."""
    tokenizers = {kind: tiny_tokenizer(kind) for kind in models.KINDS}
    sizes = budget_preset("smoke").sizes
    latents_BTHWC = torch.randn(2, 3, 8, 8, 4)
    for head in ("categorical", "diffusion"):
        paradigm = models.Paradigm("next_scale", head)
        config = models.lm_config(paradigm, tokenizers, sizes, (3, 8, 8), 6)
        assert tuple(config.order_options["scales"]) == PONG_SCALES
        model = models.build_lm(paradigm, tokenizers[paradigm.tokenizer_kind], config)
        assert model.order.tokens_per_frame == sum(s * s for s in PONG_SCALES)
    pyramid = model.from_tokenizer_values(latents_BTHWC)  # the diffusion model, last
    assert pyramid.shape == (2, 3, sum(s * s for s in PONG_SCALES), 4)
    torch.testing.assert_close(model.to_tokenizer_values(pyramid), latents_BTHWC)
    with pytest.raises(ValueError, match="msvq tokenizer"):
        models.order_options(paradigm, None)


@pytest.mark.slow
def test_prepare_uses_the_given_tokenizers(pong_dir, tmp_path):
    folder = save_tokenizers(tmp_path / "tokenizers")
    with cpu_threads(1):  # as the smoke run: faster on a shared machine
        bench = prepare(pong_dir, budget_preset("smoke"), tmp_path / "work", 0, folder)
        rows = measure_tokenizers(bench)
    assert {k: t.source for k, t in bench.tokenizers.items()} == {
        kind: str(folder / kind / "tokenizer") for kind in models.KINDS
    }
    assert not (tmp_path / "work" / "tokenizers").exists()  # nothing trained
    assert [row["tokenizer"] for row in rows] == list(models.KINDS)
    for row in rows:
        assert row["source"] == str(folder / row["tokenizer"] / "tokenizer")
        assert row["steps"] is None and row["psnr"] > 0
    bad = save_tokenizers(tmp_path / "bad", vq=tiny_tokenizer("vq", spatial_compression=16))
    with pytest.raises(ValueError, match="different latent grids"):
        prepare(pong_dir, budget_preset("smoke"), tmp_path / "work", 0, bad)
