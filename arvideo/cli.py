"""The `arvideo` console script: a thin dispatcher.

Each subcommand maps to one typed function (its signature and docstring become the options,
through jsonargparse), imported only when chosen so `arvideo --help` stays fast. The Lightning
subcommands (fit / validate / test / predict) go to LightningCLI with `--config` YAMLs.
"""

from __future__ import annotations

import importlib
import sys

LIGHTNING_SUBCOMMANDS = ("fit", "validate", "test", "predict")

# subcommand path -> "module:function". Nested groups are dicts.
COMMANDS: dict[str, str | dict[str, str]] = {
    "collect": {
        "atari": "arvideo.data.atari:collect_atari",
        "shapes": "arvideo.data.shapes:collect_shapes",
        "prompt_shapes": "arvideo.data.prompt_shapes:collect_prompt_shapes",
        "videos": "arvideo.data.video_files:collect_videos",
    },
    "data": {"info": "arvideo.data.info:data_info"},
    "tokenizer": {"export": "arvideo.training.export:export_tokenizer"},
    "encode": "arvideo.training.encode:encode",
    "export": "arvideo.training.generator_export:export_generator",
    "generate": "arvideo.generate_cli:generate",
    "play": "arvideo.play:play",
    "serve": "arvideo.serve.cli:serve",
    "bench": {
        "tokenizer": "arvideo.bench.tokenizers:bench_tokenizer",
        "paradigms": "arvideo.bench.paradigms.run:bench_paradigms",
        "paradigms_join": "arvideo.bench.paradigms.join:join_paradigm_results",
        "speed": "arvideo.bench.speed:bench_speed",
        "learning": "arvideo.bench.learning:bench_learning",
        "sampling": "arvideo.bench.sampling:bench_sampling",
        "games": "arvideo.bench.games:bench_games",
        "prompts": "arvideo.bench.prompts.run:bench_prompts",
        "peers": "arvideo.bench.peers:bench_peers",
    },
    "demo": "arvideo.main_job:main_job",
}


def _usage(commands: dict, prefix: str) -> str:
    lines = [f"usage: {prefix} <command> [options]", "", "commands:"]
    for name, target in commands.items():
        sub = " | ".join(target) if isinstance(target, dict) else ""
        lines.append(f"  {name:<10} {sub}")
    if prefix == "arvideo":
        lines.append(
            f"  {' | '.join(LIGHTNING_SUBCOMMANDS)}   --config configs/...yaml (LightningCLI)"
        )
    return "\n".join(lines)


def _load(target: str):
    module_name, function_name = target.split(":")
    return getattr(importlib.import_module(module_name), function_name)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in ("-h", "--help"):  # --help stays fast: no torch import
        from arvideo.threads import set_torch_threads

        set_torch_threads()
    if argv and argv[0] in LIGHTNING_SUBCOMMANDS:
        from arvideo.training.cli import run_lightning_cli

        run_lightning_cli(argv)
        return
    commands, prefix = COMMANDS, "arvideo"
    while True:
        if not argv or argv[0] in ("-h", "--help"):
            print(_usage(commands, prefix))
            return
        name = argv.pop(0)
        if name not in commands:
            print(
                f"{prefix}: unknown command {name!r}\n\n{_usage(commands, prefix)}", file=sys.stderr
            )
            raise SystemExit(2)
        target, prefix = commands[name], f"{prefix} {name}"
        if isinstance(target, str):
            break
        commands = target
    from jsonargparse import auto_cli

    auto_cli(_load(target), args=argv, as_positional=True, prog=prefix)


if __name__ == "__main__":
    main()
