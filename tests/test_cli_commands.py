"""Every `arvideo` command's function can receive each of its parameters from the command line.

jsonargparse keeps `--config` for a file of a command's arguments, so a function parameter
named `config` would be unreachable: `--config x.yaml` is read as that file, and keys that
are no arguments are dropped without a word (bench learning's generator YAML was, once).
"""

from __future__ import annotations

import inspect

import pytest

from arvideo.cli import COMMANDS, _load


def _targets(commands: dict, prefix: str = "arvideo"):
    for name, target in commands.items():
        if isinstance(target, dict):
            yield from _targets(target, f"{prefix} {name}")
        else:
            yield f"{prefix} {name}", target


def test_no_command_has_a_parameter_the_parser_keeps_for_itself():
    reserved = {"config", "print_config", "help"}
    clashes = {
        command: sorted(reserved & set(inspect.signature(_load(target)).parameters))
        for command, target in _targets(COMMANDS)
    }
    assert not {command: names for command, names in clashes.items() if names}


def test_bench_learning_reads_its_generator_yaml_from_the_command_line(tmp_path, monkeypatch):
    import arvideo.bench.learning as learning
    from arvideo.cli import main

    seen = {}

    def fake_train(size, tokens, steps, every_steps, config, curve_file, *rest):
        (*_, seen["compile"], seen["keep_models"]), seen["config"] = rest, config
        curve_file.parent.mkdir(parents=True)
        curve_file.write_text("")

    monkeypatch.setattr(learning, "_train", fake_train)
    monkeypatch.setattr(learning, "plot_curves", lambda curves, path: path)
    yaml = tmp_path / "gen.yaml"
    yaml.write_text("trainer: {}\n")
    main(
        [
            "bench",
            "learning",
            "--tokens",
            "t",
            "--generator_config",
            str(yaml),
            "--sizes",
            "[8x1]",
            "--steps",
            "2",
            "--runs",
            str(tmp_path / "runs"),
            "--out",
            str(tmp_path),
            "--compile_backbone",
            "true",
            "--keep_models",
            "true",
        ]
    )
    assert seen["config"] == str(yaml) and seen["compile"] is True
    assert seen["keep_models"] is True


@pytest.mark.parametrize("compile_backbone", [None, True, False])
def test_bench_learning_passes_compile_to_fit_only_when_given(
    tmp_path, monkeypatch, compile_backbone
):
    import arvideo.bench.learning as learning
    import arvideo.training.cli as training_cli

    calls = []
    monkeypatch.setattr(training_cli, "run_lightning_cli", calls.append)
    curve = tmp_path / "w8_d1" / "curve.jsonl"
    learning._train(learning.ModelSize(8, 1), "t", 2, 1, None, curve, 4, 4, 8, 0, compile_backbone)
    args = calls[0]
    flag = "--model.init_args.compile_backbone"
    if compile_backbone is None:
        assert flag not in args
    else:
        assert args[args.index(flag) + 1] == str(compile_backbone).lower()
