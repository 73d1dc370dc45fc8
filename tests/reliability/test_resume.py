"""Item 2: `--ckpt_path last` resumes the latest run under the same root (or stops with an
error), and a resumed run trains with the values its hyperparameters record: optimizer
hyperparameters from the command line, moments and step counts from the checkpoint."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import torch

from arvideo.cli import main
from arvideo.training.optim import lr_factor

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "tokenizer" / "debug_fsq.yaml"
YAML_LR, WARMUP = 1e-3, 5  # debug_fsq.yaml's optimizer


def fit(data: Path, root: Path, *extra: str) -> Path:
    """A tiny `arvideo fit` in this process (validation and a checkpoint every 2 steps);
    returns the run folder it wrote."""
    before = set((root / "lightning_logs").glob("version_*"))
    main(
        ["fit", "--config", str(CONFIG), "--data.init_args.path", str(data),
         "--trainer.default_root_dir", str(root), "--trainer.enable_progress_bar=false",
         "--trainer.enable_model_summary=false", "--trainer.val_check_interval=2",
         "--trainer.limit_val_batches=1", "--trainer.log_every_n_steps=1",
         "--data.init_args.batch_size=2", "--data.init_args.num_frames=2", *extra]
    )  # fmt: skip
    (run,) = set((root / "lightning_logs").glob("version_*")) - before
    return run


def logged_steps(run: Path) -> list[int]:
    with open(run / "metrics.csv") as file:
        return [int(row["step"]) for row in csv.DictReader(file) if row.get("train/loss")]


def last_state(run: Path) -> dict:
    return torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)


@pytest.fixture(scope="module")
def first_run(clips, tmp_path_factory) -> Path:
    """2 steps with usage_window=7; the root folder holding the run (read-only)."""
    root = tmp_path_factory.mktemp("runs")
    fit(clips, root, "--trainer.max_steps=2", "--model.init_args.usage_window=7")
    return root


def test_last_without_a_checkpoint_is_an_error(clips, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"--ckpt_path last.*no .*last.*ckpt"):
        fit(clips, tmp_path, "--trainer.max_steps=2", "--ckpt_path=last")
    assert not list(tmp_path.rglob("*.ckpt")), "it trained from scratch"


def test_last_resumes_the_latest_run_of_the_root(first_run, clips, tmp_path):
    root = Path(shutil.copytree(first_run, tmp_path / "runs"))
    run = fit(clips, root, "--trainer.max_steps=4", "--ckpt_path=last")
    assert last_state(run)["global_step"] == 4
    assert len(logged_steps(run)) == 2, "steps 0 and 1 ran again"
    again = fit(clips, root, "--trainer.max_steps=6", "--ckpt_path=last")  # the newest run
    assert last_state(again)["global_step"] == 6 and len(logged_steps(again)) == 2


def test_the_logged_optimizer_values_are_the_ones_that_run(first_run, clips, tmp_path):
    root = Path(shutil.copytree(first_run, tmp_path / "runs"))
    (checkpoint,) = root.glob("lightning_logs/version_*/checkpoints/last.ckpt")
    run = fit(clips, root, "--trainer.max_steps=3", f"--ckpt_path={checkpoint}",
              "--model.init_args.optimizer.lr=0.0005")  # fmt: skip
    state = last_state(run)
    hparams = state["hyper_parameters"]
    assert hparams["optimizer"]["lr"] == 0.0005  # the command line wins ...
    assert hparams["usage_window"] == 7  # ... and the checkpoint fills what it left out
    (schedule,) = state["lr_schedulers"]
    assert schedule["base_lrs"] == [0.0005, 0.0005] and schedule["last_epoch"] == 3
    (optimizer,) = state["optimizer_states"]
    expected = 0.0005 * lr_factor(3, WARMUP, 3, 0.1)
    assert [group["lr"] for group in optimizer["param_groups"]] == pytest.approx([expected] * 2)
    # the moments went on from the checkpoint: AdamW has taken all 3 steps
    assert {int(s["step"]) for s in optimizer["state"].values()} == {3}
