"""The seed's three frame-denoising paradigms: one `FrameDenoisingOrder` each, differing only
in noise layout, mask and default schedule (frame_denoising.py has the machine)."""

from __future__ import annotations

from .frame_denoising import FrameDenoisingOrder


class FullSequenceFlowOrder(FrameDenoisingOrder):
    name = "full_sequence_flow"
    noise_layout = "shared"
    attention = "full"
    default_schedule = "full_sequence"
    tiles = True
    stream_obstacle = (
        "full attention over the clip: every frame sees every other, so no frame is final "
        "before the whole clip is; longer videos come from overlapping windows"
    )


class NextFrameFlowOrder(FrameDenoisingOrder):
    name = "next_frame_flow"
    noise_layout = "next_frame"
    attention = "block_causal"
    default_schedule = "autoregressive"
    streams = True


class DiffusionForcingOrder(FrameDenoisingOrder):
    name = "diffusion_forcing"
    noise_layout = "per_frame"
    attention = "block_causal"
    default_schedule = "autoregressive"
    streams = True
