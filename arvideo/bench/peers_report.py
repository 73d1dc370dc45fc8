"""The page of `arvideo bench peers`: its two tables and what the comparison leaves uneven.

Turns the numbers peers.py measured (plain dicts, as in peers.json) into peers.md; knows the
row keys and the contenders' setup in words, nothing about running them.
"""

from __future__ import annotations

from arvideo.bench.report import Column, markdown_table, run_header

DECODING_COLUMNS = [
    Column("size", "width×depth"),
    Column("batch"),
    Column("prompt", "prompt tok"),
    Column("new", "new tok"),
    Column("contender"),
    Column("parameters", "params"),
    Column("layer_parameters", "block params"),
    Column("forwards"),
    Column("tokens_per_s", "tok/s", 1),
    Column("vs_generate", "× transformers generate", 2),
    Column("mflop_per_token", "MFLOP / tok", 2),
    Column("first_run_s", "compiled: first run s", 1),
]
WORLD_COLUMNS = [
    Column("batch"),
    Column("contender"),
    Column("parameters", "params"),
    Column("layer_parameters", "block params"),
    Column("forwards_per_frame", "forwards / frame", 2),
    Column("frames_per_s", "frames/s", 1),
    Column("vs_baseline", "vs IRIS-style ×", 2),
    Column("mflop_per_frame", "MFLOP / frame", 2),
    Column("first_run_s", "compiled: first run s", 1),
]

CAVEATS = [
    "Ours makes one forward more than Llama per generation: its prefill commits the prompt "
    "without predicting, so the prompt's last token is fed in the first sampling step.",
    "Llama keeps transformers' default cache (DynamicCache, grown by concatenation); a static "
    "cache or torch.compile, which a user may also choose, is not measured.",
    'Our "compiled" rows run `generate(compile=True)`: each cached step is one '
    "torch.compile'd graph over a slot KV cache (lm/slot_cache.py), with explicit attention "
    'where the others call sdpa. Their untimed first run ("compiled: first run s") holds '
    "the compile, once per step length and batch (less where inductor's on-disk cache "
    "already held a graph; a fresh machine compiles each, ~25-50 s); the timed rounds reuse "
    "the graphs. The eager and compiled rows count the same forwards and FLOPs (counted on "
    "the eager run).",
    "All contenders but our compiled rows attend with F.scaled_dot_product_attention; ours "
    "builds a boolean mask at every step and passes none when it allows every key (a step "
    "inside the window), as Llama and the IRIS-style loop pass none for one new token.",
    "The IRIS-style loop is written from the paper (arXiv 2209.00588), not IRIS's code: "
    "today's attention kernel instead of an explicit softmax, no reward / episode-end heads "
    "(likely no slower than the original; not timed against it). Its 4× GELU MLP has about "
    "as many weights as our SwiGLU.",
    "next_block samples a frame's tokens independently given the past, in one call: a "
    "different model from the token-by-token ones. Quality is not measured here, only speed.",
]


def peers_markdown(data: dict) -> str:
    settings = {"rounds": data["rounds"], "threads": data["threads"], "quick": data["quick"]}
    world = data["config"]["world"]
    return "\n\n".join([
        run_header("Peer speed benchmark", data["command"], data["machine"], settings),
        "Random weights, fp32. Contenders of a setting run interleaved round by round; speeds "
        "are medians over rounds, ratios medians of per-round ratios. Generation time includes "
        "the prefill; FLOPs are matmul FLOPs counted by FlopCounterMode (attention included, "
        "masked entries too) over one whole generation, divided by the tokens or frames made.",
        "## Next-token decoding\n\nOurs: VideoLM, order next_token, categorical head, "
        "KV-cached `generate` (prompt = one frame). Theirs: `transformers` LlamaForCausalLM "
        "of the same width, depth, heads, SwiGLU hidden size and vocabulary, through "
        "`generate(do_sample=True, top_k=0)` and through a hand-written KV-cache loop "
        "(torch.multinomial). Parameters differ: ours adds adaLN-zero modulation per block "
        "(run once per distinct condition in a session, not per token), QK-norm, slot and "
        "start embeddings and a conditioner; Llama has RMSNorm gains. \"× transformers "
        "generate\": the row's speed over `generate`'s (median of per-round ratios); > 1 is "
        "faster.",
        markdown_table(data["decoding"], DECODING_COLUMNS),
        f"## World models at IRIS's Atari size\n\n{world['width']} wide × {world['depth']} "
        f"layers, {world['heads']} heads, {world['grid_hw'][0]}×{world['grid_hw'][1]} frame "
        f"tokens, vocabulary {data['config']['vocab_size']}, tokenizer excluded: 1 context "
        f"frame prefilled, then {world['new_frames']} action-conditioned frames. IRIS-style: a "
        "plain GPT (learned positions, GELU MLP, preallocated KV cache) fed the action token "
        "then the frame's tokens one per call (peers_iris.py). Ours: VideoLM next_token (one "
        "call per token, the action as adaLN conditioning) and next_block (one call per "
        "frame). frames/s counts generated frames; \"vs IRIS-style\" > 1: faster than it.",
        markdown_table(data["world_models"], WORLD_COLUMNS),
        "## What the comparison leaves uneven\n\n" + "\n".join(f"- {note}" for note in CAVEATS),
    ])  # fmt: skip
