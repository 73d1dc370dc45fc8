"""`arvideo bench tokenizer` at the smoke budget on tiny Pong (vq and continuous: a codebook
and no codebook), and the pieces it is built from."""

from __future__ import annotations

import json
import math

import lightning as L
import numpy as np
import pytest
import torch
from PIL import Image

from arvideo.bench.tokenizers import (
    BUDGETS,
    COLUMNS,
    bench_tokenizer,
    comparison_grid,
    eval_frames,
    usage_summary,
)
from arvideo.tokenizer import BottleneckConfig, TokenizerConfig, VideoTokenizer
from arvideo.training.budgeted import Budget, train_module
from arvideo.training.tokenizer_runs import load_config

KINDS = ("vq", "continuous")
FINITE = ("psnr", "ssim", "foreground_psnr", "encode_fps", "decode_fps", "train_s")
RATES = ("ball_hit", "left_paddle_hit", "right_paddle_hit")


@pytest.fixture(autouse=True)
def _two_threads():
    torch.set_num_threads(2)


@pytest.fixture(scope="module")
def smoke(pong_dir, tmp_path_factory):
    torch.set_num_threads(2)
    root = tmp_path_factory.mktemp("bench_tokenizer")
    payload = bench_tokenizer(
        data=str(pong_dir), budget="smoke", bottlenecks=",".join(KINDS),
        out=str(root / "results"), run_dir=str(root / "runs"),
    )  # fmt: skip
    return root, payload


def test_smoke_writes_json_with_every_metric(smoke):
    root, _ = smoke
    data = json.loads((root / "results" / "tokenizer.json").read_text())
    assert data["budget"]["budget"] == "smoke" and data["machine"]["torch"] == torch.__version__
    assert [r["kind"] for r in data["results"]] == list(KINDS)
    for result in data["results"]:
        assert result["steps"] == BUDGETS["smoke"].max_steps
        assert result["parameters"] > 0 and result["eval_frames"] > 0
        for key in FINITE:
            assert isinstance(result[key], float) and math.isfinite(result[key]), key
        assert 0 < result["ssim"] <= 1 and 0 < result["psnr"] < 100
        for key in RATES:
            assert 0 <= result[key] <= 1, key
        assert len(result["psnr_per_frame"]) == result["eval_frames"] // 2  # 2 val clips
    vq, continuous = data["results"]
    assert 0 < vq["fraction_used"] <= 1 and vq["perplexity"] >= 1
    assert vq["dead_codes"] == round(64 * (1 - vq["fraction_used"]))  # debug_vq: 64 codes
    assert continuous["fraction_used"] is None and continuous["dead_codes"] is None


def test_smoke_writes_markdown_picture_and_reusable_tokenizers(smoke):
    root, payload = smoke
    markdown = (root / "results" / "tokenizer.md").read_text()
    for column in COLUMNS:
        assert column.title in markdown
    for kind in KINDS:
        assert f"| {kind} |" in markdown
    image = np.asarray(Image.open(root / "results" / "tokenizer.png"))
    assert image.shape[0] == 3 * 64 + 2 * 2  # real, vq, continuous rows with 2 px gaps
    for result in payload["results"]:
        tokenizer = VideoTokenizer.from_pretrained(result["tokenizer_dir"])
        video = torch.zeros(1, 3, 1, 64, 64)
        assert tokenizer.decode(tokenizer.encode(video).latents).shape == video.shape


def test_reuse_measures_saved_tokenizers_without_training(smoke, pong_dir, monkeypatch):
    from arvideo.training import tokenizer_runs as bench  # trains and loads the tokenizers

    root, first = smoke

    def no_training(*args, **kwargs):
        raise AssertionError("reuse trained again")

    monkeypatch.setattr(bench, "train_module", no_training)
    again = bench_tokenizer(
        data=str(pong_dir), budget="smoke", bottlenecks="continuous,vq",
        out=str(root / "reused"), run_dir=str(root / "runs"), reuse=True,
    )  # fmt: skip
    by_kind = {r["kind"]: r for r in first["results"]}
    for result in again["results"]:  # measured again; steps and wall time from the record
        before = by_kind[result["kind"]]
        assert result["reused"] and not before["reused"]
        for key in ("steps", "train_s", "tokenizer_dir", "parameters", "psnr", "ball_hit"):
            assert result[key] == pytest.approx(before[key]), key
    assert "| continuous |" in (root / "reused" / "tokenizer.md").read_text()
    with pytest.raises(ValueError, match="not 'vq'"):
        bench.load_trained(root / "runs" / "continuous", "vq")
    assert bench.load_trained(root / "runs" / "missing", "vq") is None


def test_bad_arguments_are_named(pong_dir, tmp_path):
    with pytest.raises(ValueError, match="budget"):
        bench_tokenizer(data=str(pong_dir), budget="huge")
    with pytest.raises(FileNotFoundError, match="nope"):
        bench_tokenizer(data=str(pong_dir), bottlenecks="nope", out=str(tmp_path))
    with pytest.raises(ValueError, match="max_steps"):
        Budget(max_steps=0)


def test_template_placeholders_are_refused(tmp_path):
    (tmp_path / "pong_vq.yaml").write_text(
        "model:\n  init_args:\n    tokenizer:\n      widths: WIDTHS\n"
    )
    with pytest.raises(ValueError, match="WIDTHS"):
        load_config("vq", "pong", tmp_path)


def test_usage_summary_counts_codes_per_group():
    config = TokenizerConfig(
        widths=(8, 8, 8, 8), latent_dim=4, norm_groups=8,
        bottleneck=BottleneckConfig(kind="rvq", codebook_size=8, rvq_depth=2),
    )  # fmt: skip
    tokenizer = VideoTokenizer(config)
    codes = torch.zeros(1, 1, 2, 2, 2, dtype=torch.long)  # B×T×H×W×depth
    codes[..., 0] = torch.tensor([[0, 1], [2, 3]])  # depth 0: 4 codes, uniform
    summary = usage_summary(tokenizer, [codes])  # depth 1: code 0 only
    assert summary["groups"]["depth_0"]["fraction_used"] == 0.5
    assert summary["groups"]["depth_1"]["dead_codes"] == 7
    assert summary["dead_codes"] == 4 + 7
    assert summary["perplexity"] == pytest.approx((4 + 1) / 2)


def test_usage_summary_of_msvq_counts_the_shared_codebook_once():
    config = TokenizerConfig(
        widths=(8, 8, 8, 8), latent_dim=4, norm_groups=8,
        bottleneck=BottleneckConfig(kind="msvq", codebook_size=8, scales=(1, 2)),
    )  # fmt: skip
    codes = torch.tensor([[[0, 1, 2, 3, 4]]])  # B×T×(1 + 4): scale 1 uses 0, scale 2 uses 1-4
    summary = usage_summary(VideoTokenizer(config), [codes])
    assert summary["groups"]["scale_1"]["dead_codes"] == 7
    assert summary["dead_codes"] == 3 and summary["fraction_used"] == 5 / 8


def test_eval_frames_and_grid_shape():
    tokenizer = VideoTokenizer(TokenizerConfig(widths=(8, 8, 8, 8), temporal_compression=2))
    assert eval_frames(tokenizer, 8) == 7 and eval_frames(tokenizer, 9) == 9
    real = torch.zeros(2, 3, 3, 16, 16)
    grid = comparison_grid(real, {"a": real, "b": real})
    assert grid.shape == (3 * 16 + 2 * 2, 3 * 16 + 2 * 2, 3) and grid.dtype == np.uint8


class _Line(L.LightningModule):
    """y = 3x fitted by one weight: a module that trains in milliseconds."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(()))

    def _loss(self, batch):
        x, y = batch
        return (self.weight * x - y).pow(2).mean()

    def training_step(self, batch, batch_idx):
        loss = self._loss(batch)
        self.log("train/loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        self.log("val/loss", self._loss(batch))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.5)


class _Data(L.LightningDataModule):
    def _loader(self):
        x = torch.linspace(-1, 1, 64)
        dataset = torch.utils.data.TensorDataset(x, 3 * x)
        return torch.utils.data.DataLoader(dataset, batch_size=8)

    def train_dataloader(self):
        return self._loader()

    def val_dataloader(self):
        return self._loader()


def test_train_module_stops_at_the_step_budget_and_validates(tmp_path):
    run = train_module(_Line(), _Data(), Budget(max_steps=20, max_minutes=1.0), tmp_path)
    assert run.steps == 20  # 8 batches per epoch: the budget, not the epoch, ended it
    assert run.metrics["val/loss"] < 0.05 and run.wall_s > 0
    assert not run.module.training and "train/loss" in run.metrics
    assert "train/loss" in (run.log_dir / "metrics.csv").read_text()
