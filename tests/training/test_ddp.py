"""Two CPU processes (DDP, gloo) train the debug tokenizer and read disjoint samples."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CONFIG = HERE.parents[1] / "configs" / "tokenizer" / "debug_fsq.yaml"


@pytest.mark.slow
def test_ddp_two_cpu_ranks_see_disjoint_samples(pong_dir, tmp_path):
    keys_folder = tmp_path / "keys"
    probe = tmp_path / "probe.yaml"
    probe.write_text(
        "trainer:\n  callbacks:\n    - class_path: ddp_probe.KeyRecorder\n"
        f"      init_args:\n        folder: {keys_folder}\n"
    )
    arvideo = Path(sys.executable).parent / "arvideo"
    env = {**os.environ, "PYTHONPATH": str(HERE), "OMP_NUM_THREADS": "1"}
    command = [
        str(arvideo), "fit", "--config", str(CONFIG), "--config", str(probe),
        "--data.init_args.path", str(pong_dir), "--data.init_args.batch_size", "2",
        "--trainer.default_root_dir", str(tmp_path / "runs"),
        "--trainer.strategy", "ddp", "--trainer.devices", "2", "--trainer.accelerator", "cpu",
        "--trainer.max_steps", "3", "--trainer.limit_val_batches", "0",
        "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    files = sorted(keys_folder.glob("*.txt"))
    assert [f.name for f in files] == ["rank0-of-2.txt", "rank1-of-2.txt"]
    rank0, rank1 = (f.read_text().split() for f in files)
    assert len(rank0) == len(rank1) == 3 * 2  # 3 steps of 2 clips on each rank
    assert not set(rank0) & set(rank1), (rank0, rank1)
