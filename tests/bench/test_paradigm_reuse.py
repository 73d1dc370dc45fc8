"""Splitting the paradigm benchmark across runs (bench/paradigms/reuse.py): paradigms are
chosen by name, and finished rows of earlier results are taken only from runs with the same
settings (the smoke run in test_paradigms_bench.py joins a real split run)."""

from __future__ import annotations

import json

import pytest

from arvideo.bench.paradigms.budget import PARADIGMS
from arvideo.bench.paradigms.reuse import reusable_rows, select_paradigms


def test_paradigms_are_chosen_by_either_name_in_the_benchmarks_order():
    chosen = select_paradigms(["diffusion_forcing_velocity", "next_token × categorical"])
    assert [p.name for p in chosen] == ["next_token × categorical", "diffusion_forcing × velocity"]
    assert select_paradigms(None) == PARADIGMS


@pytest.mark.parametrize("names", [["next_token_velocity"], []])
def test_an_unknown_or_empty_choice_is_refused(names):
    with pytest.raises(ValueError, match="paradigms="):
        select_paradigms(names)


def _results(tmp_path, name: str, settings: dict, rows: list[dict]):
    path = tmp_path / name
    path.write_text(json.dumps({"settings": settings, "paradigms": rows}))
    return str(path)


def test_finished_rows_of_the_same_settings_are_reused(tmp_path):
    settings = {"seed": 0, "generator_steps": 2400, "out": "a"}
    first = _results(tmp_path, "a.json", settings, [
        {"paradigm": "next_token × categorical", "status": "ok", "psnr": 1.0},
        {"paradigm": "next_block × diffusion", "status": "failed: boom"},
    ])  # fmt: skip
    second = _results(tmp_path, "b.json", {**settings, "out": "b"}, [
        {"paradigm": "next_token × categorical", "status": "ok", "psnr": 2.0},
        {"paradigm": "next_block × categorical", "status": "ok", "psnr": 3.0},
    ])  # fmt: skip
    rows = reusable_rows([first, second], {**settings, "out": "c"})
    assert sorted(rows) == ["next_block × categorical", "next_token × categorical"]
    assert rows["next_token × categorical"]["psnr"] == 1.0  # the first file wins
    assert rows["next_block × categorical"]["reused_from"] == second


def test_rows_of_other_settings_or_a_missing_file_are_refused(tmp_path):
    path = _results(tmp_path, "a.json", {"seed": 0, "generator_steps": 600}, [])
    with pytest.raises(ValueError, match="generator_steps: 600 there, 2400 here"):
        reusable_rows([path], {"seed": 0, "generator_steps": 2400})
    with pytest.raises(FileNotFoundError, match="missing.json"):
        reusable_rows([str(tmp_path / "missing.json")], {})
