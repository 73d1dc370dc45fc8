"""Fault injection: a training process killed with SIGKILL at a random step resumes with
`--ckpt_path last` and ends where an uninterrupted run would: the final step count, the
optimizer's step counts and the schedule continue the killed run, and only the missing
steps run. Fixed seed, bounded in time."""

from __future__ import annotations

import csv
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from arvideo.cli import main

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "tokenizer" / "debug_fsq.yaml"
STEPS = 6
DEADLINE_S = 120  # the killed run must reach its kill step within this
EVERY_STEP = """trainer:
  callbacks:
    - class_path: lightning.pytorch.callbacks.ModelCheckpoint
      init_args: {every_n_train_steps: 1, save_last: true, filename: "step{step}"}
"""


def fit_args(data: Path, root: Path, every_step: Path) -> list[str]:
    return [
        "fit", "--config", str(CONFIG), "--config", str(every_step),
        "--data.init_args.path", str(data), "--trainer.default_root_dir", str(root),
        f"--trainer.max_steps={STEPS}", "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false", "--trainer.log_every_n_steps=1",
        "--data.init_args.batch_size=2", "--data.init_args.num_frames=2",
        "--trainer.limit_val_batches=0", "--trainer.num_sanity_val_steps=0",  # train only
    ]  # fmt: skip


def saved_steps(root: Path) -> list[int]:
    names = [path.name for path in root.glob("lightning_logs/version_*/checkpoints/step*.ckpt")]
    return [int(m.group(1)) for name in names if (m := re.search(r"step=?(\d+)", name))]


def kill_at(args: list[str], root: Path, step: int) -> None:
    """Run `arvideo fit` in a subprocess and SIGKILL it once a checkpoint of `step` exists."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen(
        [sys.executable, "-m", "arvideo.cli", *args],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + DEADLINE_S
    try:
        while max(saved_steps(root), default=-1) < step:
            assert child.poll() is None, child.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, f"no checkpoint of step {step} in time"
            time.sleep(0.02)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL, "it finished before it was killed"


def logged_steps(run: Path) -> list[int]:
    with open(run / "metrics.csv") as file:
        return [int(row["step"]) for row in csv.DictReader(file) if row.get("train/loss")]


def test_a_killed_run_resumes_where_it_died(clips, tmp_path):
    every_step = tmp_path / "every_step.yaml"
    every_step.write_text(EVERY_STEP)
    root = tmp_path / "runs"
    args = fit_args(clips, root, every_step)
    kill_step = random.Random(18).randint(2, STEPS - 2)
    kill_at(args, root, kill_step)
    (killed,) = root.glob("lightning_logs/version_*/checkpoints/last.ckpt")
    died_at = torch.load(killed, weights_only=True)["global_step"]
    # last.ckpt is written just after the step file: the kill may fall between the two
    assert kill_step - 1 <= died_at < STEPS

    main([*args, "--ckpt_path=last"])
    (resumed,) = set(root.glob("lightning_logs/version_*")) - {killed.parents[1]}
    state = torch.load(resumed / "checkpoints" / "last.ckpt", weights_only=True)
    assert state["global_step"] == STEPS
    assert len(logged_steps(resumed)) == STEPS - died_at  # only the missing steps ran
    (optimizer,) = state["optimizer_states"]
    assert {int(s["step"]) for s in optimizer["state"].values()} == {STEPS}  # moments went on
    (schedule,) = state["lr_schedulers"]
    assert schedule["last_epoch"] == STEPS
