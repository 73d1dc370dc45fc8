"""A model folder's config.json and weights header, checked before any model is built.

A config.json is untrusted input: width 10**9 tries to allocate terabytes, depth 10**6
builds modules for minutes, heads 0 divides by zero. `check_model_dir` runs before
`from_pretrained` and refuses, naming the file and the field:

1. every size field: an int (never a bool), >= its minimum, <= its stated maximum below
   (far above any model this project trains; raise them here for bigger ones);
2. the safetensors header (read alone, no tensor loaded) against the config: the model is
   built with its large tensors on torch's "meta" device, which allocates nothing, and
   every tensor's name and shape must match. A config claiming a size its weights do not
   have is refused before a single large parameter exists.

It knows config field names and the safetensors header; it knows nothing about sampling.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import safe_open
from torch.overrides import TorchFunctionMode

# field -> (minimum, maximum); a tuple/list field is checked element by element
LM_SIZES = {
    "width": (1, 16384), "depth": (1, 256), "heads": (1, 256), "vocab_size": (1, 2**20),
    "code_depth": (1, 64), "latent_dim": (0, 4096), "grid": (1, 4096),
    "window_frames": (1, 4096), "num_actions": (0, 4096), "num_labels": (0, 2**20),
    "block_rows": (1, 4096), "block_frames": (1, 4096),
}  # fmt: skip
LM_MAX_TOKENS = 2**20  # T·H·W of the training clip: masks and layouts hold N² or N entries
LM_MAX_MLP_RATIO = 64.0
OPTION_MAX = 65536  # any int inside head_options / order_options (hidden widths, scales...)
TOKENIZER_SIZES = {
    "in_channels": (1, 64), "widths": (1, 8192), "num_res_blocks": (0, 64),
    "cell_width": (1, 16384), "cell_blocks": (0, 64), "latent_dim": (1, 4096),
    "norm_groups": (1, 1024),
}  # fmt: skip
BOTTLENECK_SIZES = {
    "codebook_size": (1, 2**20), "codebook_dim": (1, 4096), "fsq_levels": (2, 2**16),
    "rvq_depth": (1, 64), "scales": (1, 4096), "refine_convs": (0, 64),
    "msvq_kmeans_iters": (0, 10_000),
}  # fmt: skip
MAX_LIST = 64  # entries of any list-valued size field


class ModelLimitError(ValueError):
    """A config.json or weights header refused before building (names file and field)."""


def read_config(path: Path) -> dict:
    config = json.loads(path.read_text())
    if not isinstance(config, dict):
        raise ModelLimitError(f"{str(path)!r} must hold a JSON object")
    return config


def check_sizes(path: Path, config: dict, sizes: dict[str, tuple[int, int]], prefix="") -> None:
    for name, (low, high) in sizes.items():
        if config.get(name) is None:
            continue
        value = config[name]
        values = value if isinstance(value, (list, tuple)) else [value]
        if len(values) > MAX_LIST:
            raise ModelLimitError(f"{str(path)!r}: field {prefix + name!r} has > {MAX_LIST}")
        for item in values:
            if isinstance(item, bool) or not isinstance(item, int) or not low <= item <= high:
                raise ModelLimitError(
                    f"{str(path)!r}: field {prefix + name!r} must be ints in [{low}, {high}], "
                    f"got {value!r}"
                )


def check_lm_config(path: Path, config: dict) -> None:
    check_sizes(path, config, LM_SIZES)
    grid = config.get("grid", (8, 8, 8))
    if isinstance(grid, (list, tuple)) and math.prod(grid) > LM_MAX_TOKENS:
        raise ModelLimitError(f"{str(path)!r}: field 'grid' {grid} holds > {LM_MAX_TOKENS} tokens")
    ratio = config.get("mlp_ratio", 4.0)
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)):
        raise ModelLimitError(f"{str(path)!r}: field 'mlp_ratio' must be a number, got {ratio!r}")
    if not 0 < ratio <= LM_MAX_MLP_RATIO:
        raise ModelLimitError(
            f"{str(path)!r}: field 'mlp_ratio' must be in (0, {LM_MAX_MLP_RATIO}], got {ratio}"
        )
    width, heads = config.get("width", 256), config.get("heads", 8)
    if width % heads:
        raise ModelLimitError(
            f"{str(path)!r}: field 'width' ({width}) must be divisible by 'heads' ({heads})"
        )
    for options in ("head_options", "order_options"):
        check_option_ints(path, options, config.get(options) or {})


def check_option_ints(path: Path, field: str, options) -> None:
    if not isinstance(options, dict):
        raise ModelLimitError(f"{str(path)!r}: field {field!r} must be an object")
    for name, value in options.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        ints = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
        if len(values) > MAX_LIST or any(not 0 <= v <= OPTION_MAX for v in ints):
            raise ModelLimitError(
                f"{str(path)!r}: field '{field}.{name}' must be ints in [0, {OPTION_MAX}] "
                f"(at most {MAX_LIST}), got {value!r}"
            )


def check_tokenizer_config(path: Path, config: dict) -> None:
    check_sizes(path, config, TOKENIZER_SIZES)
    bottleneck = config.get("bottleneck") or {}
    if not isinstance(bottleneck, dict):
        raise ModelLimitError(f"{str(path)!r}: field 'bottleneck' must be an object")
    check_sizes(path, bottleneck, BOTTLENECK_SIZES, prefix="bottleneck.")
    levels = bottleneck.get("fsq_levels") or []
    if math.prod(levels) > 2**20:
        raise ModelLimitError(f"{str(path)!r}: 'bottleneck.fsq_levels' give > 2**20 codes")


class LargeTensorsOnMeta(TorchFunctionMode):
    """Inside: factory calls for tensors above `threshold` elements land on torch's meta
    device (shape only, no memory); small ones stay real, because libraries read their
    constants back while constructing (vector-quantize-pytorch's FSQ calls .item())."""

    FACTORIES = (torch.empty, torch.zeros, torch.ones, torch.rand, torch.randn, torch.full)

    def __init__(self, threshold: int = 2**16):
        super().__init__()
        self.threshold = threshold

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self.FACTORIES and kwargs.get("device") is None:
            if _requested_numel(args) > self.threshold:
                kwargs["device"] = "meta"
        return func(*args, **kwargs)


def _requested_numel(args: tuple) -> int:
    """Elements a factory call asks for: ``empty(3, 4)``, ``empty((3, 4))``, ``full((3,), x)``."""
    size = args[0] if args and isinstance(args[0], (tuple, list, torch.Size)) else args
    dims = [d for d in size if isinstance(d, int)]
    return math.prod(dims) if dims else 0


def check_weights_header(weights: Path, build: Callable[[], torch.nn.Module]) -> None:
    """Every tensor in the safetensors header has the name and shape the config's model
    (its large tensors on the meta device: no memory) expects, and none is missing."""
    with safe_open(str(weights), framework="pt") as handle:  # reads the header only
        header = {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}
    with LargeTensorsOnMeta():
        expected = {name: tuple(t.shape) for name, t in build().state_dict().items()}
    missing = sorted(set(expected) - set(header))
    unexpected = sorted(set(header) - set(expected))
    wrong = [
        f"{name}: file {header[name]}, config {expected[name]}"
        for name in sorted(set(header) & set(expected))
        if header[name] != expected[name]
    ]
    if missing or unexpected or wrong:
        raise ModelLimitError(
            f"{str(weights)!r} does not match its config.json: "
            f"{len(wrong)} shapes differ {wrong[:3]}, missing {missing[:3]}, "
            f"unexpected {unexpected[:3]}"
        )
