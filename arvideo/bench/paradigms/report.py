"""The paradigm comparison's outputs: paradigms.md, paradigms.json and two PNG plots.

Takes the result dict built by run.py (rows of plain numbers) and writes it with the
shared helpers of report.py; plots use matplotlib's Agg backend (no display). Knows the row
keys; knows nothing about how they were measured.
"""

from __future__ import annotations

from pathlib import Path

from arvideo.bench.paradigms.long_rollouts import reported_horizons
from arvideo.bench.report import Column, markdown_table, run_header, write_results

ORDER_FD = "order FD ↓"
# order FD is shown only when its classifier learnt its task: held-out accuracy at least
# this far above chance; otherwise its features are an untrained space and the column noise
ORDER_FD_MARGIN = 0.1
MAIN_COLUMNS = [
    Column("paradigm"), Column("tokenizer"),
    Column("psnr", "PSNR dB"), Column("foreground_psnr", "fg PSNR dB"),
    Column("foreground_psnr_ci95", "fg ± 95%"),
    Column("ssim", "SSIM", 3), Column("tokenizer_foreground_psnr", "tokenizer recon fg PSNR"),
    Column("ball_within_2px", "ball ≤ 2 px", 3), Column("ball_within_2px_ci95", "ball ± 95%", 3),
    Column("ball_error_px", "ball err px"),
    Column("agent_paddle_within_1px", "paddle ≤ 1 px", 3),
    Column("right_paddle_error_px", "agent paddle err px"),
    Column("action_following", "action-follow", 3),
    Column("order_fd", ORDER_FD, 3), Column("diversity", "diversity", 4),
    Column("forward_passes_per_frame", "fwd/frame", 1),
    Column("ms_per_frame", "ms/frame"), Column("frames_per_s", "frames/s", 1),
]  # fmt: skip
NULL_COLUMNS = [
    Column("paradigm"), Column("psnr", "PSNR dB"), Column("foreground_psnr", "fg PSNR dB"),
    Column("ssim", "SSIM", 3), Column("action_following", "action-follow", 3),
    Column("order_fd", ORDER_FD, 3), Column("diversity", "diversity", 4),
]  # fmt: skip
TRAIN_COLUMNS = [
    Column("paradigm"), Column("params", digits=0), Column("train_steps", "steps", 0),
    Column("train_wall_s", "wall s", 1), Column("train_tokens_per_s", "tokens/s", 0),
    Column("mfu", "MFU %", 3), Column("peak_memory_mb", "peak mem MB", 0),
    Column("final_loss", "final loss", 3),
]  # fmt: skip
TOKENIZER_COLUMNS = [
    Column("tokenizer"), Column("used_by"), Column("psnr", "recon PSNR dB"),
    Column("foreground_psnr", "recon fg PSNR dB"), Column("ssim", "recon SSIM", 3),
    Column("still_kept", "still cells keep", 3), Column("codes_per_patch", "codes / patch", 2),
    Column("steps", digits=0), Column("wall_s", "wall s", 1), Column("source"),
]  # fmt: skip

NOTES = """Notes:
- Metrics are means over the predicted frames (horizon steps 1..H) of the held-out windows and
  all seeds; per-step values are in paradigms.json and paradigms_psnr.png.
- fg PSNR: pixels that differ from the training frames' median background. "tokenizer recon
  fg PSNR" is the ceiling set by the paradigm's tokenizer (decode(encode(truth))).
- Tokenizers: trained here with configs/tokenizer/<recipe>_<kind>.yaml (steps, wall s), or
  loaded from the folder in "source" (trained elsewhere: steps and wall time not known here).
  "still cells keep": over the evaluation windows' cells whose pixels did not change since the
  previous frame, the share that keep their code (msvq: its finest scale) or continuous latent
  (within 0.05); "codes / patch": distinct codes per distinct cell content (1 = identical
  content, identical token). Tokens that flicker ask a generator to predict noise.
- ball / agent paddle err: distance in px (64×64 frames) between positions found by colour,
  where both frames show the object. ball ≤ 2 px: share of the frames showing the real ball
  where the rollout draws one within 2 px (a missing ball is a miss); paddle ≤ 1 px: the same
  for the agent's paddle, within 1 px on both axes (the world-model issue's targets).
- fg ± 95%: half-width of a 95% interval of fg PSNR's mean over the held-out windows (each
  window averaged over seeds and steps first; 1.96 standard errors).
- action-follow: fraction of transitions taken with a directed action (direction per action
  measured on real training frames) where the agent's paddle moved that way; the truth row is
  its ceiling (paddle inertia and walls).
- order FD: Fréchet distance on penultimate features of a tiny frame-order CNN trained here
  on real training windows (are 3 consecutive frames in order, or were two neighbours
  swapped? it sees only frame differences, so it scores coherent motion), over every such
  run of the truth against every run of the rollout, each feature standardised by the
  truth's mean and std. Its held-out accuracy (val episodes) is printed under the first
  table; the column is dropped when it is within 0.1 of chance. Not FVD; compare within this
  run only.
- Actions dropped to null: the same rollouts with every action replaced by the null action
  (scored against the truth, action-follow against the actions the model did not see).
- diversity: mean per-pixel std across seeds of the same window (0 = deterministic).
- ms/frame: sampling + decoding wall time per generated frame, amortised over the batch
  (windows × seeds); fwd/frame: transformer calls per generated frame.
- MFU: (≈ 6·params + attention) FLOPs per token × training tokens/s over the measured fp32
  matmul peak (median of 5, n=1024; bench/common.py, as the speed benchmark computes it, in
  percent here); training wall time includes Lightning start-up (dominant at smoke budget).
- peak mem: CUDA allocator peak, or on CPU the process's peak RSS so far (monotone).
"""


def _by_mode(result: dict, mode: str) -> list[dict]:
    rows = []
    for row in [result["truth"], result["baseline"], *result["paradigms"]]:
        if mode in row:
            rows.append({**row, **row[mode]})
        else:
            rows.append({"paradigm": row["paradigm"], "tokenizer": row.get("status")})
    return rows


def horizon_table(result: dict, key: str = "psnr_by_step") -> str:
    """One row per rollout, one column per horizon step (true actions)."""
    rows = [r for r in [result["baseline"], *result["paradigms"]] if "actions" in r]
    if not rows:
        return "(no rollouts)"
    steps = len(rows[0]["actions"][key])
    table = [
        {"paradigm": r["paradigm"], **{f"t+{i + 1}": v for i, v in enumerate(r["actions"][key])}}
        for r in rows
    ]
    return markdown_table(table, ["paradigm", *[f"t+{i + 1}" for i in range(steps)]])


def _ball_section(result: dict) -> list[str]:
    """Ball within 2 px per horizon step, where the rows measured it (Pong)."""
    rows = [r for r in [result["baseline"], *result["paradigms"]] if "actions" in r]
    if not rows or "ball_within_2px_by_step" not in rows[0]["actions"]:
        return []
    title = "## Ball within 2 px per horizon step (true actions; share of frames showing it)"
    return [title, horizon_table(result, "ball_within_2px_by_step")]


def long_table(result: dict) -> str | None:
    """PSNR / foreground PSNR at the long rollouts' reported horizons (None: none ran)."""
    rows = [r for r in [result["baseline"], *result["paradigms"]] if "long" in r]
    done = [r["long"] for r in rows if "psnr_by_step" in r["long"]]
    if not done:
        return None
    horizons = reported_horizons(len(done[0]["psnr_by_step"]))
    columns = [Column("paradigm")]
    for h in horizons:
        columns += [Column(f"psnr_h{h}", f"PSNR h{h}"), Column(f"fg_h{h}", f"fg PSNR h{h}")]
    table = []
    for row in rows:
        long = row["long"]
        if "psnr_by_step" not in long:
            table.append({"paradigm": f"{row['paradigm']} ({long['status']})"})
            continue
        cells = {"paradigm": row["paradigm"]}
        for h in horizons:
            cells[f"psnr_h{h}"] = long["psnr_by_step"][h - 1]
            cells[f"fg_h{h}"] = long["foreground_psnr_by_step"][h - 1]
        table.append(cells)
    windows = done[0]["windows"]
    said = (
        f"{windows} held-out windows, one seed, true actions; dB at the horizon step (frames "
        "after the context). Past the trained clip, orders that stream attend to a sliding "
        "window; full_sequence_flow continues in half-overlapping windows."
    )
    seams = [_seam_line(row) for row in rows if "seam" in row["long"]]
    return "\n\n".join([said, markdown_table(table, columns), *seams])


def _seam_line(row: dict) -> str:
    """A tiled rollout's seams: frame-to-frame PSNR across window boundaries vs inside."""
    seam = row["long"]["seam"]
    number = lambda value: "–" if value is None else f"{value:.2f} dB"  # noqa: E731
    return (
        f"Seams of {row['paradigm']} ({_frames(seam['seams'])}; medians over windows): "
        f"consecutive frames across a boundary {number(seam['boundary_psnr_db'])}, "
        f"inside windows {number(seam['within_psnr_db'])}, jump {number(seam['jump_db'])} "
        f"(the truth's jump at the same frames: {number(seam['truth_jump_db'])}; about 0 "
        "means no visible seam)."
    )


def _frames(seams: list[int]) -> str:
    """Where windows begin, short: 'windows begin at frame 8, then every 4 (31 seams)'."""
    steps = {b - a for a, b in zip(seams, seams[1:])}
    if len(seams) > 2 and len(steps) == 1:
        return f"windows begin at frame {seams[0]}, then every {steps.pop()} ({len(seams)} seams)"
    return f"windows begin at frames {', '.join(map(str, seams))}"


def paradigms_markdown(result: dict) -> str:
    header = run_header(
        "Paradigm comparison (world-model rollouts)",
        result["command"],
        result["machine"],
        result["settings"],
    )
    failed = [f"- {row['paradigm']}: {row['status']}" for row in result["paradigms"]
               if row["status"] != "ok"]  # fmt: skip
    classifier = result.get("classifier", {})
    main, null = (shown_columns(columns, classifier) for columns in (MAIN_COLUMNS, NULL_COLUMNS))
    sections = [
        header,
        "## With the true actions", markdown_table(_by_mode(result, "actions"), main),
        classifier_line(classifier),
        "## PSNR dB per horizon step (true actions)", horizon_table(result),
        "## Foreground PSNR dB per horizon step (true actions)",
        horizon_table(result, "foreground_psnr_by_step"),
        *_ball_section(result),
        "## Actions dropped to null", markdown_table(_by_mode(result, "no_actions"), null),
        *(["## Long rollouts: who drifts", long] if (long := long_table(result)) else []),
        "## Training (equal steps and batch)",
        markdown_table([r for r in result["paradigms"] if r["status"] == "ok"], TRAIN_COLUMNS),
        "## Tokenizers (reconstruction of the evaluation windows)",
        markdown_table(result["tokenizers"], TOKENIZER_COLUMNS),
    ]  # fmt: skip
    if failed:
        sections += ["## Failed (traceback in the run's log)", "\n".join(failed)]
    if sources := _row_sources(result["paradigms"]):
        sections += ["## Rows reused from earlier runs (with the same settings)", sources]
    sections += [NOTES, "Plots: paradigms_psnr.png, paradigms_speed.png"]
    return "\n\n".join(sections)


def _row_sources(rows: list[dict]) -> str:
    """One line per results file that rows were taken from, naming those rows."""
    by_file: dict[str, list[str]] = {}
    for row in rows:
        if "reused_from" in row:
            by_file.setdefault(row["reused_from"], []).append(row["paradigm"])
    return "\n".join(f"- `{file}`: {', '.join(names)}" for file, names in by_file.items())


def order_fd_meaningful(classifier: dict) -> bool:
    accuracy = classifier.get("held_out_accuracy")
    return accuracy is not None and accuracy >= classifier["chance"] + ORDER_FD_MARGIN


def shown_columns(columns: list[Column], classifier: dict) -> list[Column]:
    if order_fd_meaningful(classifier):
        return columns
    return [c for c in columns if c.key != "order_fd"]


def classifier_line(classifier: dict) -> str:
    """The frame-order classifier's held-out accuracy, said beside the distance it makes."""
    if not classifier:
        return "Order FD: no classifier in this result."
    said = (
        f"Order FD's classifier ({classifier['task']}): held-out accuracy "
        f"{classifier['held_out_accuracy']:.2f} on {classifier['held_out_examples']} examples "
        f"of the val episodes (chance {classifier['chance']:.2f}; train "
        f"{classifier['train_accuracy']:.2f}), {classifier['steps']} steps."
    )
    if order_fd_meaningful(classifier):
        return said
    return f"{said} Near chance: its features are noise, so the order FD column is dropped."


def plot_psnr(result: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5))
    for row in [result["baseline"], *result["paradigms"]]:
        if "actions" in row:
            values = row["actions"]["psnr_by_step"]
            style = "k--" if row is result["baseline"] else "-o"
            axis.plot(range(1, len(values) + 1), values, style, label=row["paradigm"], ms=3)
    axis.set_xlabel("horizon step (frames after the context)")
    axis.set_ylabel("PSNR dB (true actions)")
    axis.legend(fontsize=7)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def plot_speed(result: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4.5))
    for row in result["paradigms"]:
        if "actions" in row:
            point = (row["actions"]["ms_per_frame"], row["actions"]["foreground_psnr"])
            axis.scatter(*point)
            axis.annotate(row["paradigm"], point, fontsize=7)
    axis.axhline(result["baseline"]["actions"]["foreground_psnr"], color="k", ls="--", lw=1)
    axis.set_xscale("log")
    axis.set_xlabel("ms per generated frame (log)")
    axis.set_ylabel("foreground PSNR dB (dashed: copy last frame)")
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def write_paradigm_report(out_dir: str | Path, result: dict) -> dict[str, Path]:
    out_dir = Path(out_dir)
    paths = write_results(out_dir, "paradigms", result, paradigms_markdown(result))
    paths["psnr_png"] = plot_psnr(result, out_dir / "paradigms_psnr.png")
    paths["speed_png"] = plot_speed(result, out_dir / "paradigms_speed.png")
    return paths
