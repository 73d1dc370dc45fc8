"""`arvideo bench games`: the main job's recipe on several Atari games, in one table.

For each game the main job runs as a user would run it (`arvideo demo --game G`, its stages
reused when a folder already holds them), then the bench measures on the game's held-out
episodes:
- the tokenizer: PSNR, foreground PSNR, token stability (still cells that keep their code,
  codes per distinct patch) and dead codes;
- the world model: rollout PSNR and foreground PSNR beside copy-last-frame, per horizon;
- a sheet of real | reconstructed | generated frames, one block per game.

A game's row is saved as soon as it is measured (`<runs>/<game>/games_row.json`), so an
interrupted bench resumes where it stopped, and `report_only` redraws the table from them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from arvideo.bench.report import (
    Column,
    command_line,
    machine_info,
    markdown_table,
    run_header,
    write_png,
    write_results,
)
from arvideo.rollout_score import PairedGap

HORIZONS_CHECKED = 4  # the target: fg PSNR >= copy-last at horizons 1-4
SHEET_CONTEXT, SHEET_HORIZON = 4, 4


@dataclass
class GameRow:
    game: str
    frames: int  # collected
    episodes: int
    moving_share: float  # frames where something moved
    tokenizer_steps: int | None  # None: stage reused from an earlier run
    generator_steps: int | None
    job_seconds: float  # the main job's wall time in this run (reused stages cost ~0)
    psnr: float  # tokenizer, held-out clips
    foreground_psnr: float
    stable_kept: float  # share of still cells that keep their code
    codes_per_patch: float
    dead_codes: int | None
    model_psnr: float  # world-model rollout, held-out windows
    copy_last_psnr: float
    model_fg_psnr: float
    copy_last_fg_psnr: float
    model_fg_by_step: list[float]
    copy_last_fg_by_step: list[float]
    windows: int
    # the world model with every frame decoded (no kept still cells: still_cells.py); None
    # for a model that does not keep them, or a row measured before they existed
    model_fg_psnr_plain: float | None = None
    cell: int | None = None  # the tokenizer's cell side (pixels); None: a row from before
    # model minus copy-last fg PSNR per horizon step, paired by window: rollout_score.PairedGap
    # fields (None: a row scored before per-window scores were kept)
    fg_gaps: list[dict] | None = None

    @property
    def beats_copy_early(self) -> bool:
        """Foreground PSNR at least copy-last's at every horizon 1-4."""
        pairs = zip(self.model_fg_by_step[:HORIZONS_CHECKED], self.copy_last_fg_by_step)
        return all(model >= copy for model, copy in pairs)


def parse_games(games: str | list[str] | tuple[str, ...]) -> list[str]:
    from arvideo.data.atari_games import resolve_game

    names = games.strip("[]").split(",") if isinstance(games, str) else list(games)
    resolved = [resolve_game(name.strip()) for name in names if str(name).strip()]
    if not resolved:
        raise ValueError(f"games={games!r} names no game")
    return resolved


def bench_games(
    games: str = "Pong,Breakout,SpaceInvaders,MsPacman",
    runs: str = "runs/games",
    out: str = "benchmarks/results",
    frames: int = 43_200,
    windows: int = 32,
    seed: int = 0,
    quick: bool = False,
    report_only: bool = False,
    rescore: bool = False,
) -> dict[str, str]:
    """Run the main job on each game (or reuse its folder) and compare them in one table.

    Args:
        games: comma-separated ALE game names (close matches are suggested for typos).
        runs: one main-job folder per game (<runs>/<game>), reused stage by stage.
        out: folder of games.{md,json,png}.
        frames: frames collected per game (the main job's budget).
        windows: held-out windows on which each world model is scored.
        seed: collection, training and sampling seed.
        quick: the main job's seconds-long form (tests).
        report_only: write the table from the rows already measured; train nothing.
        rescore: score the world models of the rows already measured again (after a change
            in how they generate or are scored), keeping their training columns.
    """
    names = parse_games(games)
    rows: list[GameRow] = []
    for game in names:
        folder = Path(runs) / game.lower()
        row = _load_row(folder)
        if row is not None and rescore:
            row = _rescored(row, folder, windows, seed)
        if row is None and not report_only:
            row = _measure_game(game, folder, frames, windows, seed, quick)
        if row is not None:
            rows.append(row)
    if not rows:
        raise FileNotFoundError(f"no game measured under {runs}: run without --report_only")
    sheet = _sheet(Path(runs), [row.game for row in rows], seed)
    return _write(rows, names, Path(out), sheet)


def _load_row(folder: Path) -> GameRow | None:
    path = folder / "games_row.json"
    return GameRow(**json.loads(path.read_text())) if path.is_file() else None


def _measure_game(game, folder, frames, windows, seed, quick) -> GameRow:
    from arvideo.main_job import main_job

    summary = main_job(
        workdir=str(folder), game=game, frames=frames, quick=quick, seed=seed,
        eval_windows=windows,
    )  # fmt: skip
    stats = json.loads((folder / "data" / game.lower() / "dataset.json").read_text())["stats"]
    steps = {s.name: s.steps for s in summary.stages.stages}
    tokenizer = _tokenizer_numbers(folder, game)
    row = GameRow(
        game=game,
        frames=stats["frames"],
        episodes=len(stats["episode_lengths"]),
        moving_share=stats["moving_share"],
        tokenizer_steps=steps.get("tokenizer"),
        generator_steps=steps.get("generator"),
        job_seconds=summary.seconds,
        psnr=tokenizer["psnr"],
        foreground_psnr=tokenizer["foreground_psnr"],
        stable_kept=tokenizer["stable_kept"],
        codes_per_patch=tokenizer["codes_per_patch"],
        dead_codes=tokenizer["dead_codes"],
        **_world_model_fields(summary.score),
        cell=_tokenizer_cell(folder),
    )
    (folder / "games_row.json").write_text(json.dumps(asdict(row), indent=2))
    return row


def _world_model_fields(score) -> dict:
    """GameRow's world-model columns from a `WorldModelScore`."""
    plain, gaps = score.model_plain, score.foreground_gaps()
    return dict(
        model_psnr=score.model.psnr_db,
        copy_last_psnr=score.copy_last.psnr_db,
        model_fg_psnr=score.model.foreground_psnr_db,
        copy_last_fg_psnr=score.copy_last.foreground_psnr_db,
        model_fg_by_step=list(score.model.foreground_psnr_by_step_db),
        copy_last_fg_by_step=list(score.copy_last.foreground_psnr_by_step_db),
        windows=score.model.windows,
        model_fg_psnr_plain=None if plain is None else plain.foreground_psnr_db,
        fg_gaps=None if gaps is None else [asdict(gap) for gap in gaps],
    )


def _rescored(row: GameRow, folder: Path, windows: int, seed: int) -> GameRow:
    """The row with its world model scored again as the main job scores it (saved)."""
    import inspect

    from arvideo.generate import VideoGenerator
    from arvideo.main_job import main_job
    from arvideo.rollout_score import score_world_model

    job = {k: v.default for k, v in inspect.signature(main_job).parameters.items()}
    context, horizon = job["context_frames"], job["num_frames"] - job["context_frames"]
    generator = VideoGenerator.from_pretrained(folder / "model")
    data = str(folder / "data" / row.game.lower())
    score = score_world_model(
        generator, data, context, horizon, windows=windows, seed=seed, per_window=True,
        temperature=job["temperature"], top_k=job["top_k"],
    )  # fmt: skip
    row = GameRow(**{**asdict(row), **_world_model_fields(score)})
    (folder / "games_row.json").write_text(json.dumps(asdict(row), indent=2))
    return row


def _tokenizer_cell(folder: Path) -> int:
    """The main job's tokenizer cell side (its `capacity` choice)."""
    config = json.loads((folder / "tokenizer" / "config.json").read_text())
    return int(config["spatial_compression"])


def _tokenizer_numbers(folder: Path, game: str, clips: int = 64) -> dict:
    """The tokenizer bench's numbers for the main job's tokenizer on held-out clips."""
    from arvideo.bench.tokenizers import eval_frames, evaluate_tokenizer
    from arvideo.metrics import median_background
    from arvideo.tokenizer import VideoTokenizer
    from arvideo.training.tokenizer_runs import val_clips

    data = str(folder / "data" / game.lower())
    tokenizer = VideoTokenizer.from_pretrained(folder / "tokenizer")
    real = val_clips(data, None, clips)
    real = real[:, :, : eval_frames(tokenizer, real.shape[2])]
    background = median_background(val_clips(data, 1, 64, "train"))
    numbers, _ = evaluate_tokenizer(tokenizer, real, background)
    return numbers


@torch.no_grad()
def _game_sheet(folder: Path, game: str, seed: int) -> np.ndarray:
    """Three rows for one held-out window: real, reconstructed by the tokenizer, and the
    world model's continuation of the first SHEET_CONTEXT real frames."""
    from arvideo.generate import VideoGenerator
    from arvideo.rollout_score import held_out_windows
    from arvideo.training.previews import to_uint8_frames

    generator = VideoGenerator.from_pretrained(folder / "model")
    data = str(folder / "data" / game.lower())
    window = held_out_windows(data, SHEET_CONTEXT + SHEET_HORIZON, 1)
    real = to_uint8_frames(window.video_BCTHW)[0]
    tokenizer = generator.tokenizer.eval()
    encoded = tokenizer.encode(window.video_BCTHW, torch.Generator().manual_seed(seed))
    reconstructed = to_uint8_frames(tokenizer.decode(encoded.latents).clamp(-1, 1))[0]
    length = SHEET_CONTEXT + SHEET_HORIZON
    context = min(SHEET_CONTEXT, generator.max_context_frames)  # 4x4 cells: 3-frame window
    output = generator(
        context=real[None, :context], actions=window.actions_BT[:, : length - 1].numpy(),
        num_frames=length - context, seed=seed, progress=False, top_k=1,
    )  # fmt: skip
    return np.stack([real, reconstructed[: len(real)], output.video[0]])


def _sheet(runs: Path, games: list[str], seed: int) -> np.ndarray:
    from arvideo.training.previews import frame_grid

    rows = [row for game in games for row in _game_sheet(runs / game.lower(), game, seed)]
    return frame_grid(rows, gap=2)


COLUMNS = [
    Column("game", "game"),
    Column("episodes", "episodes"),
    Column("moving_share", "moving share", 3),
    Column("cell", "cells (px)"),
    Column("psnr", "tok PSNR dB"),
    Column("foreground_psnr", "tok fg PSNR dB"),
    Column("stable_kept", "still cells keep code", 3),
    Column("codes_per_patch", "codes per patch", 2),
    Column("dead_codes", "dead codes"),
    Column("model_psnr", "WM PSNR dB"),
    Column("copy_last_psnr", "copy-last PSNR dB"),
    Column("model_fg_psnr", "WM fg PSNR dB"),
    Column("model_fg_psnr_plain", "WM fg PSNR, no kept cells"),
    Column("copy_last_fg_psnr", "copy-last fg PSNR dB"),
    Column("fg_h1_4", "WM / copy-last fg PSNR at h1-4"),
    Column("beats_copy_early", "WM >= copy-last at h1-4"),
    Column("fg_gaps_h1_4", "WM - copy-last fg at h1-4, ± 95% over windows"),
    Column("tokenizer_steps", "tok steps"),
    Column("generator_steps", "WM steps"),
    Column("job_seconds", "job s", 0),
]


def _table_row(row: GameRow) -> dict:
    pairs = zip(row.model_fg_by_step[:HORIZONS_CHECKED], row.copy_last_fg_by_step)
    fg = " · ".join(f"{m:.1f}/{c:.1f}" for m, c in pairs)
    gaps = (
        "–"
        if row.fg_gaps is None
        else " · ".join(PairedGap(**gap).describe() for gap in row.fg_gaps[:HORIZONS_CHECKED])
    )
    return {
        **asdict(row), "fg_h1_4": fg, "beats_copy_early": row.beats_copy_early,
        "fg_gaps_h1_4": gaps,
    }  # fmt: skip


def _one_or_all(values) -> int | str:
    distinct = sorted(set(values))
    return distinct[0] if len(distinct) == 1 else " / ".join(f"{v:,}" for v in distinct)


def _write(rows, names, out: Path, sheet) -> dict[str, str]:
    machine, command = machine_info(), command_line()
    # what the rows were measured at (a report_only run's own defaults may differ)
    frames = _one_or_all(row.frames for row in rows)
    windows = _one_or_all(row.windows for row in rows)
    settings = {"games": ",".join(names), "frames": frames, "windows": windows}
    out.mkdir(parents=True, exist_ok=True)
    image = write_png(out / "games.png", sheet)
    markdown = "\n\n".join([
        run_header("The main job on several games", command, machine, settings),
        "Each game: `arvideo demo --game G` (its YAMLs under configs/demo/), scored on the "
        "game's held-out episodes. The tokenizer's cell size is the main job's choice from the "
        "game's patch census (`arvideo/tokenizer_capacity.py`). Tokenizer columns: 64 "
        "held-out clips; stability: share of cells whose pixels did not change that keep "
        "their code. World model (WM): "
        f"{windows} held-out windows, 4 real frames then 12 generated (3 then 13 for a model "
        "trained on 4-frame clips) with the true actions, "
        "greedy; fg: pixels that differ from the training split's median frame. Generated "
        "cells whose codes did not change keep the frame before's pixels (the default, "
        "`arvideo/still_cells.py`); 'no kept cells' decodes every cell.",
        markdown_table([_table_row(row) for row in rows], COLUMNS),
        f"Sheet (`{image.name}`): per game, real | tokenizer reconstruction | world model "
        f"(frames {SHEET_CONTEXT + 1}-{SHEET_CONTEXT + SHEET_HORIZON} generated from the "
        f"first {SHEET_CONTEXT}; from the first 3 for a model trained on 4-frame clips).",
    ])  # fmt: skip
    payload = {"benchmark": "games", "command": command, "machine": machine,
               "settings": settings, "results": [_table_row(row) for row in rows]}  # fmt: skip
    paths = write_results(out, "games", payload, markdown)
    return {name: str(path) for name, path in {**paths, "png": image}.items()}
