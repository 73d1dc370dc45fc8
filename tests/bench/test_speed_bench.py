"""`arvideo bench speed` at the smoke preset (tiny random models), the timing helpers, and the
shared report helpers (JSON, markdown, PNG) every benchmark writes with."""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from arvideo.bench.report import (
    Column,
    command_line,
    format_value,
    machine_info,
    markdown_table,
    to_jsonable,
    write_json,
    write_png,
    write_results,
)
from arvideo.bench.speed import PRESETS, bench_speed, matmul_peak, median_time
from arvideo.bench.speed_denoisers import DENOISER_COLUMNS, DENOISERS
from arvideo.bench.speed_heads import HEAD_COLUMNS, CallCounter, counting
from arvideo.bench.speed_report import ORDER_COLUMNS, TARGETS

POSITIVE = ("cached_fps", "uncached_fps", "kv_speedup", "train_step_s", "train_gflops", "mfu")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    torch.set_num_threads(2)
    out = tmp_path_factory.mktemp("bench_speed")
    return out, bench_speed(preset="smoke", out=str(out))


def test_smoke_writes_every_number(smoke):
    out, _ = smoke
    data = json.loads((out / "speed.json").read_text())
    assert data["config"]["width"] == 32 and data["machine"]["torch"] == torch.__version__
    assert data["matmul_peak"]["gflops"] > 0
    orders = [row["order"] for row in data["orders"]]
    assert orders[:2] == ["next_token", "next_block"]
    for row in data["orders"]:
        for key in POSITIVE:
            assert math.isfinite(row[key]) and row[key] > 0, (row["order"], key)
    for row in data["orders"]:  # MFU against the peak measured beside its own timing
        rate = row["train_flops_per_token"] * row["train_tokens_per_s"]
        assert row["mfu"] == pytest.approx(rate / (row["matmul_peak_gflops"] * 1e9))
    token, block = data["orders"][:2]
    assert token["vs_next_token"] == 1.0
    assert token["passes_per_frame"] == 16  # 4×4 grid, one forward per token
    assert block["passes_per_frame"] == 1  # one forward per frame (refine_steps=1)
    session = data["session"]
    assert session["steps"] == 3 and session["steps_per_s"] > 0
    assert session["decode_window"] >= 1 and session["decode_window_ms"] > 0
    assert data["tokenizer"]["encode_fps"] > 0 and data["tokenizer"]["decode_fps"] > 0
    assert [t["target"] for t in data["targets"]] == list(TARGETS)
    measured = {t["target"]: t["met"] for t in data["targets"]}
    assert measured.pop("train_mfu_compiled") is None  # the smoke preset compiles nothing
    assert all(isinstance(met, bool) for met in measured.values())


def test_smoke_markdown_shows_table_and_targets(smoke):
    out, _ = smoke
    markdown = (out / "speed.md").read_text()
    for column in ORDER_COLUMNS:
        assert (column.title or column.key) in markdown
    assert "| next_block |" in markdown and "Targets" in markdown
    assert "MET" in markdown or "MISSED" in markdown


def test_smoke_heads_rows_count_passes_and_evaluations(smoke):
    out, _ = smoke
    data = json.loads((out / "speed.json").read_text())
    heads = data["heads"]
    steps = heads["diffusion"]["steps"]
    assert steps == PRESETS["smoke"].diffusion_steps == 2 and heads["diffusion"]["cfg_scale"] == 1
    assert heads["diffusion"]["latent_dim"] == 4  # configs/tokenizer/pong_continuous.yaml
    orders = [row["order"] for row in data["orders"]]
    assert [(r["order"], r["head"]) for r in heads["rows"]] == [
        (order, head) for order in orders for head in ("categorical", "diffusion")
    ]
    by = {(r["order"], r["head"]): r for r in heads["rows"]}
    passes = {"next_token": 16, "next_block": 1, "next_scale": 3}  # 4×4 grid; scales 1, 2, 4
    for order in orders:
        categorical, diffusion = by[order, "categorical"], by[order, "diffusion"]
        for row in (categorical, diffusion):
            assert row["backbone_passes_per_frame"] == passes[order], row
            assert math.isfinite(row["fps"]) and row["fps"] > 0
        assert categorical["head_evals_per_frame"] == passes[order]  # one logits map per pass
        assert diffusion["head_evals_per_frame"] == steps * passes[order]  # Euler: 1 per step
        assert categorical["vs_categorical"] == 1.0
        assert diffusion["vs_categorical"] == pytest.approx(diffusion["fps"] / categorical["fps"])
        cached = next(r for r in data["orders"] if r["order"] == order)
        assert categorical["fps"] == cached["cached_fps"]  # the same rollout, not a re-run
        assert cached["passes_per_frame"] == passes[order]  # generate's count agrees
    assert by["next_scale", "diffusion"]["tokens_per_frame"] == 1 + 4 + 16
    markdown = (out / "speed.md").read_text()
    assert "Heads (same backbone" in markdown and "| next_token | diffusion |" in markdown
    for column in HEAD_COLUMNS:
        assert (column.title or column.key) in markdown


def test_smoke_denoiser_rows_count_their_passes(smoke):
    """Streaming orders: steps + 1 forwards a frame (the last commits it); full-sequence
    flow here (2 frames, clip 3): one whole-clip forward per step for the 2 frames."""
    out, _ = smoke
    data = json.loads((out / "speed.json").read_text())
    steps = PRESETS["smoke"].denoising_steps
    by = {row["order"]: row for row in data["denoisers"]}
    assert list(by) == list(DENOISERS)
    for order in ("next_frame_flow", "diffusion_forcing"):
        assert by[order]["backbone_passes_per_frame"] == steps + 1
    assert by["full_sequence_flow"]["backbone_passes_per_frame"] == steps / 2
    for row in by.values():
        assert row["denoising_steps"] == steps
        for key in ("fps", "ms_per_frame", "train_step_s"):
            assert math.isfinite(row[key]) and row[key] > 0, (row["order"], key)
        assert row["ms_per_frame"] == pytest.approx(1e3 / row["fps"])
    markdown = (out / "speed.md").read_text()
    assert "Frame denoisers" in markdown and "| next_frame_flow |" in markdown
    for column in DENOISER_COLUMNS:
        assert (column.title or column.key) in markdown


def test_speed_bench_names_orders_it_cannot_time(tmp_path):
    with pytest.raises(ValueError, match=r"\['next_frame_flow'\] are not token orders"):
        bench_speed(preset="smoke", out=str(tmp_path), orders="next_block,next_frame_flow")


def test_counting_counts_forward_calls_and_removes_its_hook():
    layer = torch.nn.Linear(2, 2)
    with counting(layer) as counter:
        layer(torch.zeros(1, 2))
        layer(torch.zeros(3, 2))
    layer(torch.zeros(1, 2))
    assert isinstance(counter, CallCounter) and counter.calls == 2
    assert not layer._forward_hooks


def test_median_time_takes_the_median():
    delays = iter([0.0, 0.03, 0.001, 0.001])  # warm-up, then 3 timed calls
    timing = median_time(lambda: time.sleep(next(delays)), repeats=3)
    assert len(timing.runs_s) == 3
    assert timing.median_s < 0.02 <= max(timing.runs_s)
    with pytest.raises(ValueError, match="repeats"):
        median_time(lambda: None, repeats=0)


def test_matmul_peak_counts_two_n_cubed():
    peak = matmul_peak(64, 1, "cpu")
    assert peak["gflops"] == pytest.approx(2 * 64**3 / peak["seconds"] / 1e9)


@dataclass
class _Point:
    x: float
    where: Path


def test_to_jsonable_makes_strict_json(tmp_path):
    value = {
        "a": float("inf"), "b": [float("nan"), 1.5], "t": torch.tensor([1, 2]),
        "n": np.float32(0.5), "p": _Point(2.0, Path("x/y")), "tuple": (1, 2),
    }  # fmt: skip
    expected = {"a": None, "b": [None, 1.5], "t": [1, 2], "n": 0.5,
                "p": {"x": 2.0, "where": "x/y"}, "tuple": [1, 2]}  # fmt: skip
    assert to_jsonable(value) == expected
    path = write_json(tmp_path / "deep" / "r.json", value)
    assert json.loads(path.read_text()) == expected  # strict: no Infinity / NaN tokens


def test_markdown_table_formats_cells():
    rows = [{"name": "a|b", "x": 1234.5678, "n": 12345}, {"name": "c", "x": float("inf")}]
    table = markdown_table(rows, [Column("name"), Column("x", "X", 1), "n"])
    assert table.splitlines() == [
        "| name | X | n |",
        "|---|---|---|",
        "| a\\|b | 1,234.6 | 12,345 |",
        "| c | inf | – |",
    ]
    assert format_value(float("nan")) == "nan" and format_value(True) == "yes"
    with pytest.raises(ValueError, match="columns"):
        markdown_table(rows, [])


def test_write_png_and_results(tmp_path):
    image = np.zeros((4, 6, 3), np.uint8)
    assert write_png(tmp_path / "a.png", image).stat().st_size > 0
    with pytest.raises(ValueError, match="image_HWC"):
        write_png(tmp_path / "b.png", np.zeros((4, 6), np.uint8))
    paths = write_results(tmp_path / "out", "x", {"v": 1.0}, "# X")
    assert json.loads(paths["json"].read_text()) == {"v": 1.0}
    assert paths["md"].read_text() == "# X\n"


def test_machine_and_command():
    info = machine_info()
    assert info["cpu_count"] >= 1 and info["torch"] == torch.__version__
    assert command_line(["/usr/bin/arvideo", "bench", "a b"]) == "arvideo bench 'a b'"


@pytest.mark.skipif(
    not any(shutil.which(c) for c in ("g++", "c++", "clang++")),
    reason="torch.compile's CPU backend needs a C++ compiler",
)
def test_compiled_training_is_timed_paired_and_leaves_the_model_eager():
    from arvideo.bench.speed import build_lm, compiled_training_speed, load_tokenizer_config
    from arvideo.tokenizer import VideoTokenizer

    config = PRESETS["smoke"]
    tokenizer = VideoTokenizer(load_tokenizer_config(config)[0]).eval()
    lm = build_lm(config, "next_block", tokenizer)
    result = compiled_training_speed(lm, config, repeats=2)
    assert result["compile_s"] > 0 and result["seconds"] > 0
    assert result["tokens_per_s"] > 0 and math.isfinite(result["vs_eager"])
    assert all(block.compiled_body is None for block in lm.backbone.blocks)
    assert not lm.training


def test_training_flops_count_the_modulation_once_per_frame():
    """adaLN modulation runs once per frame (cond_runs.py), so the model FLOPs of a token
    carry 1/tokens-per-frame of its parameters; every other parameter counts 6x a token."""
    from arvideo.bench.common import training_flops_per_token
    from arvideo.lm.model import VideoLM, VideoLMConfig

    lm = VideoLM(VideoLMConfig(width=32, depth=2, heads=2, vocab_size=16, grid=(3, 4, 4)))
    backbone = lm.backbone
    modulation = sum(
        p.numel()
        for m in [*(b.modulation for b in backbone.blocks), backbone.final_modulation]
        for p in m.parameters()
    )
    others = sum(p.numel() for p in lm.parameters()) - modulation
    sequence = 3 * 16
    expected = 6 * (others + modulation / 16) + 12 * 2 * 32 * sequence
    assert training_flops_per_token(lm, sequence) == pytest.approx(expected)
