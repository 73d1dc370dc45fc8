"""Training-step time of the main job's generator with the chunked linear cross-entropy
(lm/heads/linear_cross_entropy.py) against the logits written out, as the head computed
them before: the same model, batch and weights, steps interleaved, medians and their ratio.

usage: loss_speed.py TOKENS [TOKENS ...] [--frames F ...] [--steps S] [--compile]

Per token data set (`arvideo encode`), clips of F frames (one F per data set, default 8),
batch 8, the lm of configs/demo/generator.yaml. Run on an idle machine: it times.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml

from arvideo.data.datamodule import TokenDataModule
from arvideo.lm.heads.categorical import CategoricalHead
from arvideo.lm.model import VideoLMConfig
from arvideo.training.generator_module import GeneratorModule

GENERATOR_YAML = Path(__file__).parents[2] / "configs/demo/generator.yaml"


def written_out_row_losses(head: CategoricalHead, z_BND: torch.Tensor, target: torch.Tensor):
    """The head's loss before the change: the whole logits tensor, cross-entropy, argmax."""
    logits = head.logits(z_BND).float()
    ce = F.cross_entropy(logits.flatten(0, -2), target.flatten(), reduction="none")
    ce_BNQ = ce.view(*z_BND.shape[:2], head.depth)
    correct = (logits.argmax(-1).view_as(ce_BNQ) == target.view_as(ce_BNQ)).float()
    return ce_BNQ, correct


def time_step(module: GeneratorModule, optimizer, batch, written_out: bool) -> float:
    head = module.model.head
    if written_out:
        head._row_losses = lambda z, t: written_out_row_losses(head, z, t)
    start = time.perf_counter()
    loss = module.model.loss(module.prepare(batch)).loss
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if written_out:
        del head._row_losses
    return time.perf_counter() - start


def compare(tokens: str, frames: int, steps: int, compile_backbone: bool) -> str:
    lm = yaml.safe_load(GENERATOR_YAML.read_text())["model"]["init_args"]["lm"]
    data = TokenDataModule(path=tokens, batch_size=8, num_frames=frames)
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    torch.manual_seed(0)
    module = GeneratorModule(
        tokens, lm=VideoLMConfig(**lm), num_frames=frames, compile_backbone=compile_backbone
    )
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-3)
    times = {False: [], True: []}
    for step in range(steps + 2):  # two warm-up pairs (compiling, allocator)
        for written_out in (step % 2 == 0, step % 2 == 1):
            seconds = time_step(module, optimizer, batch, written_out)
            if step >= 2:
                times[written_out].append(seconds)
    chunked, written = (statistics.median(times[k]) for k in (False, True))
    tokens_per_step = batch.codes.numel() if batch.codes is not None else 0
    return (
        f"| {Path(tokens).name} | {frames} | {tokens_per_step:,} | {compile_backbone} | "
        f"{written * 1e3:.0f} | {chunked * 1e3:.0f} | {written / chunked:.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tokens", nargs="+")
    parser.add_argument("--frames", type=int, nargs="+", default=None)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()
    frames = args.frames or [8] * len(args.tokens)
    if len(frames) != len(args.tokens):
        parser.error(f"--frames takes one count per data set ({len(args.tokens)})")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.steps} steps each")
    print("| data | frames | codes per batch | compiled | written-out ms | chunked ms | ratio |")
    print("|---|---|---|---|---|---|---|")
    for path, count in zip(args.tokens, frames):
        print(compare(path, count, args.steps, args.compile), flush=True)


if __name__ == "__main__":
    main()
