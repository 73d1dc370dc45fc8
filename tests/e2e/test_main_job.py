"""The README's main job in its quick form: real Pong, tiny models, a video out."""

from __future__ import annotations

import json
import math

import av
import pytest
from PIL import Image

from arvideo.main_job import main_job


@pytest.mark.slow
def test_quick_main_job_writes_readable_videos(tmp_path):
    summary = main_job(workdir=str(tmp_path / "demo"), quick=True, num_frames=8)
    with av.open(summary.mp4) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert len(frames) == 8
    height, width, _ = frames[0].shape
    assert height == 64 and width >= 2 * 64  # truth | model, side by side
    with Image.open(summary.gif) as gif:
        assert gif.n_frames >= 2  # Pillow merges identical frames; read_video restores them
    assert math.isfinite(summary.psnr_db) and math.isfinite(summary.copy_last_psnr_db)
    score = summary.score  # held-out windows, model beside copy-last-frame
    assert score.model.windows == score.copy_last.windows >= 1
    assert score.model.ball is not None and 0 <= score.model.ball.within_2px <= 1
    assert "copy-last-frame" in summary.report()
    assert "model minus copy-last, foreground PSNR per step" in summary.report()
    from arvideo.lm.model import VideoLM  # the folder samples as the main job scored it

    saved = VideoLM.from_pretrained(tmp_path / "demo" / "model" / "generator")
    assert saved.config.sampling == {"top_k": 1}

    again = main_job(workdir=str(tmp_path / "demo"), quick=True, num_frames=8)
    assert again.psnr_db == summary.psnr_db  # stages were skipped, sampling is seeded
    stages = {stage.name: stage for stage in summary.stages.stages}
    assert list(stages) == ["collect", "tokenizer", "encode", "generator", "generate and score"]
    assert stages["tokenizer"].steps == stages["tokenizer"].planned_steps == 6
    assert all(stage.seconds > 0 and not stage.skipped for stage in stages.values())
    assert {s.name for s in again.stages.stages if s.skipped} == {
        "collect",
        "tokenizer",
        "encode",
        "generator",
    }
    capacity = json.loads((tmp_path / "demo" / "capacity.json").read_text())
    assert capacity["cell"] == 8 and not capacity["forced"]  # few patches: 8x8 cells
    assert 1 < capacity["census"]["distinct_patches"] <= 10 * capacity["codebook_size"]
    written = json.loads((tmp_path / "demo" / "summary.json").read_text())
    assert written["stages"][-1]["name"] == "generate and score" and written["seconds"] > 0
    # the early-stopping signal of the tokenizer stage is logged at every validation
    logs = (tmp_path / "demo" / "runs" / "tokenizer").rglob("metrics.csv")
    rows = [line.split(",") for line in next(logs).read_text().splitlines()]
    column = rows[0].index("val/foreground_psnr")
    values = [float(row[column]) for row in rows[1:] if row[column]]
    assert values and all(0 < value < 100 for value in values)


@pytest.mark.slow
def test_main_job_with_4x4_cells_trains_and_generates_on_the_finer_grid(tmp_path):
    from arvideo.tokenizer import VideoTokenizer

    summary = main_job(workdir=str(tmp_path / "demo"), quick=True, num_frames=6, capacity="4")
    tokenizer = VideoTokenizer.from_pretrained(tmp_path / "demo" / "tokenizer")
    assert tokenizer.spatial_compression == 4
    tokens = json.loads((tmp_path / "demo" / "data" / "pong-tokens" / "dataset.json").read_text())
    assert tokens["spatial_compression"] == 4
    assert (tokens["latent_grid"]["height"], tokens["latent_grid"]["width"]) == (16, 16)
    assert math.isfinite(summary.psnr_db) and summary.score.model.windows >= 1
    config = next((tmp_path / "demo" / "runs" / "generator").rglob("config.yaml")).read_text()
    assert "num_frames: 4" in config  # 4x4 cells: 4-frame clips (generator_overrides)


def test_a_bad_capacity_is_refused_before_any_folder_is_made(tmp_path):
    with pytest.raises(ValueError, match="capacity='2' must be one of auto, 8, 4"):
        main_job(workdir=str(tmp_path / "demo"), quick=True, capacity="2")
    assert not (tmp_path / "demo").exists()
