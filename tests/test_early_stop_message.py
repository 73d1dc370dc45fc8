"""The main job tells an early stop (patience ran out) from a safety cap (max_time)."""

from __future__ import annotations

from types import SimpleNamespace

from lightning.pytorch.callbacks import EarlyStopping

from arvideo.main_job import early_stop_message


def fake_trainer(callback: EarlyStopping, should_stop: bool):
    return SimpleNamespace(callbacks=[callback], should_stop=should_stop)


def test_patience_run_out_is_an_early_stop():
    callback = EarlyStopping(monitor="val/foreground_psnr", mode="max", patience=2)
    callback.wait_count = 2
    message = early_stop_message(fake_trainer(callback, should_stop=True))
    assert message is not None and "val/foreground_psnr" in message


def test_a_cap_or_a_finished_plan_is_not():
    callback = EarlyStopping(monitor="val/foreground_psnr", mode="max", patience=2)
    callback.wait_count = 1  # the Timer set should_stop; patience is not used up
    assert early_stop_message(fake_trainer(callback, should_stop=True)) is None
    callback.wait_count = 2
    assert early_stop_message(fake_trainer(callback, should_stop=False)) is None
