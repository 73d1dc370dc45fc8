"""Token orders by name: `VideoLMConfig.order` is looked up in `ORDERS`.

A new order is one file here (a `TokenOrder` subclass declaring `from_config` and its
capabilities, see base.py) plus its entry below; callers ask the class or the instance,
never the name.
"""

from __future__ import annotations

from .base import TokenOrder
from .frame_flows import DiffusionForcingOrder, FullSequenceFlowOrder, NextFrameFlowOrder
from .next_block import NextBlockOrder
from .next_scale import NextScaleOrder
from .next_token import NextTokenOrder

ORDERS: dict[str, type[TokenOrder]] = {
    "next_token": NextTokenOrder,
    "next_block": NextBlockOrder,
    "next_scale": NextScaleOrder,
    "full_sequence_flow": FullSequenceFlowOrder,
    "next_frame_flow": NextFrameFlowOrder,
    "diffusion_forcing": DiffusionForcingOrder,
}


def order_class(name: str) -> type[TokenOrder]:
    """The order class registered as `name`."""
    if name not in ORDERS:
        raise ValueError(f"order must be one of {sorted(ORDERS)}, got {name!r}")
    return ORDERS[name]
