"""The speed bench's targets and its markdown report (speed.py measures)."""

from __future__ import annotations

from arvideo.bench.report import Column, key_values, markdown_table, run_header
from arvideo.bench.speed_denoisers import denoisers_markdown
from arvideo.bench.speed_heads import heads_markdown

TARGETS = {
    "session_fps": 30.0,  # interactive next-block world model at 64×64, decode included
    "kv_speedup_next_token": 10.0,  # cached vs uncached, 16-frame rollout
    "train_mfu": 0.40,  # of the measured fp32 matmul peak, base config
    "train_mfu_compiled": 0.55,  # issue 17: next-block with compiled blocks
}


def check_targets(data: dict) -> list[dict]:
    by_order = {r["order"]: r for r in data["orders"]}
    found = {
        "session_fps": data.get("session", {}).get("steps_per_s"),
        "kv_speedup_next_token": by_order.get("next_token", {}).get("kv_speedup"),
        "train_mfu": by_order.get("next_block", data["orders"][0] if data["orders"] else {}).get(
            "mfu"
        ),
        "train_mfu_compiled": by_order.get("next_block", {}).get("compiled_mfu"),
    }
    return [
        {"target": name, "goal": goal, "measured": found[name],
         "met": None if found[name] is None else found[name] >= goal}
        for name, goal in TARGETS.items()
    ]  # fmt: skip


ORDER_COLUMNS = [
    Column("order"),
    Column("parameters", "params"),
    Column("cached_fps", "KV-cached fr/s"),
    Column("uncached_fps", "uncached fr/s", 3),
    Column("kv_speedup", "KV speed-up ×", 1),
    Column("vs_next_token", "fr/s vs next-token ×", 1),
    Column("passes_per_frame", "forwards / frame", 1),
    Column("train_step_s", "train step s", 3),
    Column("train_tokens_per_s", "train tok/s", 0),
    Column("train_gflops", "train GFLOP/s", 1),
    Column("matmul_peak_gflops", "peak GFLOP/s", 1),
    Column("mfu", "MFU", 3),
    Column("compiled_step_s", "compiled step s", 3),
    Column("compiled_vs_eager", "compiled vs eager ×", 2),
    Column("compile_s", "compile s", 0),
    Column("compiled_mfu", "compiled MFU", 3),
]


def speed_markdown(data: dict) -> str:
    config = data["config"]
    parts = [
        run_header("Speed benchmark", data["command"], data["machine"], {"preset": data["preset"]}),
        "Config (random weights):\n\n" + key_values(config),
        f"Tokenizer: {data['tokenizer_source']}.",
        "fp32 matmul peak (measured at the start of this run; each MFU uses its own): "
        f"{data['matmul_peak']['gflops']:.1f} GFLOP/s (n={data['matmul_peak']['n']}).",
        f"Sampling: {config['rollout_frames']}-frame rollouts from nothing, batch 1, medians of "
        f"{config['repeats']} (uncached next-token: {config['uncached_repeats']}). Training: "
        f"batch {config['train_batch']} × {config['clip_frames']} latent frames, forward + "
        "backward + AdamW; train GFLOP/s counted by FlopCounterMode; MFU = model FLOPs per "
        "token (6 · params + attention) × tokens/s / the matmul peak measured just before "
        "that order's training timing (its own column; bench/common.py). Compiled: the same "
        "step with `Transformer.compile_blocks` (torch.compile of each block's body), in "
        "rounds interleaved with the eager step; 'compiled vs eager' is the median of the "
        "paired ratios; the compile (the first two compiled steps) is timed apart.",
        markdown_table(data["orders"], ORDER_COLUMNS),
        heads_markdown(data["heads"], config),
        denoisers_markdown(data["denoisers"], config),
        "Tokenizer (frames/s):\n\n" + key_values(data["tokenizer"], 1),
    ]
    if "session" in data:
        parts.append(
            "Interactive session (next-block world model, decode included):\n\n"
            + key_values(data["session"], 2)
        )
    verdict = {True: "MET", False: "MISSED", None: "not measured"}
    targets = [{**t, "met": verdict[t["met"]]} for t in data["targets"]]
    parts.append("Targets:\n\n" + markdown_table(targets, [
        Column("target"), Column("goal", digits=2), Column("measured", digits=3), Column("met"),
    ]))  # fmt: skip
    return "\n\n".join(parts)
