"""Every `arvideo` command's function can receive each of its parameters from the command line.

jsonargparse keeps `--config` for a file of a command's arguments, so a function parameter
named `config` would be unreachable: `--config x.yaml` is read as that file, and keys that
are no arguments are dropped without a word (bench learning's generator YAML was, once).
"""

from __future__ import annotations

import inspect

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
        seen["config"] = config
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
        ]
    )
    assert seen["config"] == str(yaml)
