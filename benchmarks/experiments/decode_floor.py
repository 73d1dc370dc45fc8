"""`python benchmarks/experiments/decode_floor.py [--rounds 7]`: how far next-token decoding on
this CPU sits above its weight-streaming floor, for us and for `transformers`' Llama.

Issue 17 asks our next-token sampler to be 1.5x Llama's `generate`. At batch 1 one decoding
step multiplies one row by every weight matrix of the model, so the step cannot be faster
than reading those weights once. The floor measured here is exactly that work: the four
block matmuls of each layer (qkv, out, SwiGLU up, down) and the output layer, with our
model's own weights, on one new token, chained so that nothing else runs. Beside it, per
generated token: our KV-cached `VideoLM.generate` and Llama's hand-written KV loop at the
same sizes (arvideo/bench/peers.py's first setting), interleaved round by round (medians;
ratios paired by round). What a contender spends above the floor is everything else:
attention, norms, rotary, modulation, sampling, Python.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from arvideo.bench.peers import FULL, video_lm
from arvideo.bench.peers_llama import kv_loop, llama_like
from arvideo.bench.peers_timing import Contender, interleave, seeded


def matmul_floor(lm, batch: int, steps: int):
    """`steps` decoding steps of the block matmuls and the output layer alone."""
    weights = [
        (b.attn.qkv.weight, b.attn.out.weight, b.mlp.up.weight, b.mlp.down.weight)
        for b in lm.backbone.blocks
    ]
    head = lm.head.get_submodule(lm.head.output_layer).weight
    width, hidden = lm.config.width, weights[0][3].shape[1]

    @torch.no_grad()
    def run(_generator):
        x = torch.zeros(batch, width)
        for _ in range(steps):
            for qkv, out, up, down in weights:
                x = x + F.linear(F.linear(x, qkv)[:, :width], out)
                gate_value = F.linear(x, up)
                x = x + F.linear(gate_value[:, :hidden] * gate_value[:, hidden:], down)
            F.linear(x, head)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16])
    args = parser.parse_args()
    torch.set_num_threads(1)
    size = FULL.decoding[0]
    lm = video_lm(size, "next_token", FULL, num_actions=0)
    llama = llama_like(lm, size.frames * size.tokens_per_frame)
    new = size.new_frames * size.tokens_per_frame
    for batch in args.batches:
        prompt = torch.randint(FULL.vocab_size, (batch, 1, *size.grid_hw), generator=seeded())
        contenders = [
            Contender("matmul floor", matmul_floor(lm, batch, new), lm.backbone, lm.backbone, lm),
            Contender(
                "arvideo next_token",
                lambda g, p=prompt: lm.generate(p, None, size.frames, generator=g),
                lm.backbone, lm.backbone.blocks, lm,
            ),
            Contender(
                "transformers KV loop",
                lambda g, p=prompt: kv_loop(llama, p.flatten(1), new, g),
                llama.model, llama.model.layers, llama,
            ),
        ]  # fmt: skip
        measured = interleave(contenders, args.rounds, f"batch {batch}", batch * new, "tok/s")
        floor = measured[0].median_s
        print(f"\n{size.label()}, batch {batch}, {new} new tokens after {size.tokens_per_frame}:")
        for result in measured:
            ms = result.median_s / new * 1e3
            print(f"  {result.name:22s} {ms:6.2f} ms/step  {result.median_s / floor:5.2f}x floor")


if __name__ == "__main__":
    main()
