"""`arvideo bench peers`: our samplers beside what users would otherwise pick, in one process.

Two parts, random weights (speed needs no training), fp32 on CPU, `threads` torch threads:

1. Next-token decoding: our next-token VideoLM (KV-cached `generate`, categorical head)
   against `transformers`' LlamaForCausalLM of the same width, depth, heads, SwiGLU hidden
   size and vocabulary (peers_llama.py), timed through `generate` and through a hand-written
   KV-cache loop. Same prompt tokens, same number of new tokens, prefill included.
2. World models at IRIS's Atari size (16 frame tokens + 1 action token per frame, vocabulary
   512, tokenizer excluded): an IRIS-style GPT loop (peers_iris.py) against our
   action-conditioned next-token and next-block VideoLMs, a 1-frame prefill then the rest.

The contenders of a setting run interleaved, round by round (peers_timing.py): medians over
rounds, ratios paired by round, FLOPs and forward passes counted on an untimed warm-up run.
This module chooses the sizes, builds the contenders and collects the rows; the models live
in arvideo.lm, peers_llama.py and peers_iris.py, the page is peers_report.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from arvideo.bench.peers_iris import IrisConfig, IrisWorldModel, iris_rollout
from arvideo.bench.peers_llama import generate, kv_loop, llama_like
from arvideo.bench.peers_report import peers_markdown
from arvideo.bench.peers_timing import Contender, interleave, seeded, speed_ratio
from arvideo.bench.report import command_line, machine_info, write_results
from arvideo.lm.conditioning import Conditions
from arvideo.lm.model import VideoLM, VideoLMConfig
from arvideo.threads import cpu_threads


@dataclass(frozen=True)
class Size:
    width: int
    depth: int
    heads: int
    grid_hw: tuple[int, int]  # tokens of one frame, H × W
    new_frames: int  # frames generated after one context (prompt) frame

    @property
    def tokens_per_frame(self) -> int:
        return self.grid_hw[0] * self.grid_hw[1]

    @property
    def frames(self) -> int:
        return 1 + self.new_frames

    def label(self) -> str:
        return f"{self.width}×{self.depth}, {self.heads} heads"


@dataclass(frozen=True)
class PeersConfig:
    decoding: tuple[Size, ...]  # part 1: prompt = one frame of tokens
    decoding_batches: tuple[int, ...]
    world: Size  # part 2
    world_batches: tuple[int, ...]
    vocab_size: int = 512
    num_actions: int = 6  # Pong's action space


FULL = PeersConfig(
    # our base backbone (configs/lm): prompt 64 + 256 new tokens; IRIS's: prompt 16 + 64 new
    decoding=(Size(256, 6, 8, (8, 8), 4), Size(256, 10, 4, (4, 4), 4)),
    decoding_batches=(1, 16),
    world=Size(256, 10, 4, (4, 4), 19),  # IRIS: 20-frame sequences of 4×4 tokens
    world_batches=(1, 64),
)
# a test: tiny models through the same code; numbers mean nothing
QUICK = PeersConfig(
    decoding=(Size(32, 2, 2, (2, 2), 2), Size(32, 1, 4, (2, 2), 3)),
    decoding_batches=(1, 2),
    world=Size(32, 2, 2, (2, 2), 2),
    world_batches=(1, 2),
    vocab_size=64,
    num_actions=3,
)
QUICK_ROUNDS = 2


def video_lm(size: Size, order: str, config: PeersConfig, num_actions: int) -> VideoLM:
    lm_config = VideoLMConfig(
        width=size.width, depth=size.depth, heads=size.heads, order=order,
        vocab_size=config.vocab_size, grid=(size.frames, *size.grid_hw), num_actions=num_actions,
    )  # fmt: skip
    with torch.random.fork_rng(devices=[]):  # construction only: weights do not matter here
        torch.manual_seed(0)
        return VideoLM(lm_config).eval()


# -- part 1: next-token decoding ------------------------------------------------------------


def decoding_contenders(size: Size, lm: VideoLM, prompt_B1HW: torch.Tensor) -> list[Contender]:
    llama = llama_like(lm, size.frames * size.tokens_per_frame)
    prompt_BN = prompt_B1HW.flatten(1)
    new = size.new_frames * size.tokens_per_frame
    ours = lambda g, compile=False: lm.generate(
        prompt_B1HW, None, size.frames, generator=g, compile=compile
    )
    return [
        Contender("arvideo next_token", ours, lm.backbone, lm.backbone.blocks, lm),
        compiled_twin("arvideo next_token", ours, lm),
        Contender(
            "transformers generate", lambda g: generate(llama, prompt_BN, new, g),
            llama.model, llama.model.layers, llama,
        ),
        Contender(
            "transformers KV loop", lambda g: kv_loop(llama, prompt_BN, new, g),
            llama.model, llama.model.layers, llama,
        ),
    ]  # fmt: skip


def decoding_rows(config: PeersConfig, rounds: int) -> list[dict]:
    rows = []
    for size in config.decoding:
        lm = video_lm(size, "next_token", config, num_actions=0)
        new = size.new_frames * size.tokens_per_frame
        for batch in config.decoding_batches:
            prompt = torch.randint(config.vocab_size, (batch, 1, *size.grid_hw), generator=seeded())
            label = f"decoding {size.label()}, batch {batch}"
            measured = interleave(
                decoding_contenders(size, lm, prompt), rounds, label, batch * new, "tok/s"
            )
            setting = {"size": size.label(), "batch": batch, "prompt": size.tokens_per_frame}
            generate_row = next(m for m in measured if m.name == "transformers generate")
            for result in measured:
                rows.append({
                    **setting, "new": new, "contender": result.name,
                    "parameters": result.parameters, "layer_parameters": result.layer_parameters,
                    "forwards": result.forwards, "tokens_per_s": batch * new / result.median_s,
                    "vs_generate": speed_ratio(result, generate_row),
                    "first_run_s": result.first_s,
                    "mflop_per_token": result.flops / (batch * new) / 1e6,
                })  # fmt: skip
    return rows


# -- part 2: world models -------------------------------------------------------------------


def world_contenders(config: PeersConfig, batch: int) -> list[Contender]:
    size = config.world
    iris_config = IrisConfig(
        size.width, size.depth, size.heads, config.vocab_size, config.num_actions,
        size.tokens_per_frame, max_frames=size.frames,
    )  # fmt: skip
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        iris = IrisWorldModel(iris_config).eval()
    context_B1HW = torch.randint(config.vocab_size, (batch, 1, *size.grid_hw), generator=seeded())
    # actions_BT[:, t] is taken at frame t and leads to frame t + 1 (conditioning.py)
    actions_BT = torch.randint(config.num_actions, (batch, size.frames), generator=seeded(1))
    contenders = [
        Contender(
            "IRIS-style loop",
            lambda g: iris_rollout(iris, context_B1HW.flatten(1), actions_BT[:, :-1], g),
            iris, iris.blocks, iris,
        )
    ]  # fmt: skip
    for order in ("next_token", "next_block"):
        lm = video_lm(size, order, config, config.num_actions)
        run = _lm_rollout(lm, context_B1HW, actions_BT, size.frames)
        contenders.append(Contender(f"arvideo {order}", run, lm.backbone, lm.backbone.blocks, lm))
        contenders.append(compiled_twin(f"arvideo {order}", run, lm))
    return contenders


def compiled_twin(name: str, run, lm: VideoLM) -> Contender:
    """`run` with compile=True (DecodeOptions.compile); counted as the eager run (a compiled
    graph fires no hooks); its untimed first run holds the compile."""
    compiled = lambda g: run(g, compile=True)
    return Contender(f"{name}, compiled", compiled, lm.backbone, lm.backbone.blocks, lm, run)


def _lm_rollout(lm: VideoLM, context_B1HW, actions_BT, frames: int):
    conditions = Conditions(actions_BT)
    return lambda g, compile=False: lm.generate(
        context_B1HW, conditions, frames, generator=g, compile=compile
    )


def world_rows(config: PeersConfig, rounds: int) -> list[dict]:
    rows, new = [], config.world.new_frames
    for batch in config.world_batches:
        label = f"world model batch {batch}"
        measured = interleave(world_contenders(config, batch), rounds, label, batch * new, "fr/s")
        for result in measured:
            rows.append({
                "batch": batch, "contender": result.name, "parameters": result.parameters,
                "layer_parameters": result.layer_parameters,
                "forwards_per_frame": result.forwards / new,
                "frames_per_s": batch * new / result.median_s,
                "vs_baseline": speed_ratio(result, measured[0]),
                "first_run_s": result.first_s,
                "mflop_per_frame": result.flops / (batch * new) / 1e6,
            })  # fmt: skip
    return rows


def bench_peers(
    out: str = "benchmarks/results", rounds: int = 7, threads: int = 1, quick: bool = False
) -> dict:
    """Our next-token sampler against transformers' Llama, and our world models against an
    IRIS-style loop, interleaved round by round in one process.

    Args:
        out: folder of peers.{md,json}.
        rounds: timed rounds per setting (each runs every contender once); medians reported.
        threads: torch CPU threads while measuring (1: steadier on a shared machine).
        quick: tiny sizes and at most 2 rounds, for tests; the numbers mean nothing.
    """
    if rounds < 1:
        raise ValueError(f"rounds={rounds} must be >= 1")
    if threads < 1:
        raise ValueError(f"threads={threads} must be >= 1")
    config = QUICK if quick else FULL
    rounds = min(rounds, QUICK_ROUNDS) if quick else rounds
    with cpu_threads(threads):
        data = {
            "benchmark": "peers", "command": command_line(), "machine": machine_info(),
            "rounds": rounds, "threads": threads, "quick": quick, "config": asdict(config),
            "decoding": decoding_rows(config, rounds), "world_models": world_rows(config, rounds),
        }  # fmt: skip
    write_results(out, "peers", data, peers_markdown(data))
    return data
