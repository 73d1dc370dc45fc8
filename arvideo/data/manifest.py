"""dataset.json checked on read: bad JSON, a non-object, or a field of the wrong type raises
`ManifestError` naming the file and the field, before any reader trusts a value.

The fields are written by clips.py (clip sets) and training/encode.py (token sets); sources
may add fields of their own, which pass unchecked. This module knows the manifest's field
types; it knows nothing about shards or samples.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path


class ManifestError(ValueError):
    """A dataset.json that cannot be trusted (names the file and the field)."""


Check = Callable[[object], bool]


def is_int(low: int = 0) -> Check:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low


def list_of(check: Check) -> Check:
    return lambda v: isinstance(v, list) and all(check(x) for x in v)


def optional(check: Check) -> Check:
    return lambda v: v is None or check(v)


def is_str(v) -> bool:
    return isinstance(v, str)


def is_dict(v) -> bool:
    return isinstance(v, dict)


COUNT = (is_int(), "an int >= 0")
EPISODES = (list_of(is_int()), "a list of episode ints")
SHARD_FIELDS = {"name": (is_str, "a string"), "samples": COUNT, "frames": COUNT,
                "episodes": EPISODES}  # fmt: skip
SPLIT_FIELDS = {"shards": (list_of(is_dict), "a list of shard objects"), "clips": COUNT,
                "frames": COUNT, "episodes": EPISODES}  # fmt: skip
ACTION_FIELDS = {"n": COUNT, "meanings": (optional(list_of(is_str)), "a list of strings")}

FIELDS: dict[str, tuple[Check, str]] = {
    "format": (is_str, "a string"),
    "complete": (lambda v: isinstance(v, bool), "true or false"),
    "clips": (is_int(), "an int >= 0"),
    "frames": (is_int(), "an int >= 0"),
    "clip_length": (is_int(1), "an int >= 1"),
    "stride": (is_int(1), "an int >= 1"),
    "size": (lambda v: list_of(is_int(1))(v) and len(v) == 2, "[height, width] ints >= 1"),
    "sample_keys": (list_of(is_str), "a list of strings"),
    "game": (optional(is_str), "a string or null"),
    "source": (optional(is_str), "a string or null"),
    "source_data": (is_str, "a string (a folder)"),
    "tokenizer": (is_str, "a string (a folder)"),
    "kind": (lambda v: v in ("codes", "latents"), '"codes" or "latents"'),
    "action_space": (optional(is_dict), "an object {n, meanings} or null"),
    "splits": (is_dict, "an object {split: {shards, clips, frames, episodes}}"),
    "latent_grid": (is_dict, "an object of ints"),
    "vocab_size": (optional(is_int()), "an int >= 0 or null"),
    "code_depth": (optional(is_int(1)), "an int >= 1 or null"),
    "latent_dim": (optional(is_int(1)), "an int >= 1 or null"),
    "temporal_compression": (is_int(1), "an int >= 1"),
    "spatial_compression": (is_int(1), "an int >= 1"),
    "frames_used": (is_int(1), "an int >= 1"),
    "scales": (optional(list_of(is_int(1))), "a list of ints >= 1 or null"),
    "fps": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0,
            "a number > 0"),
    "config": (is_dict, "an object"),
    "seed": (optional(is_int(-(2**63))), "an int or null"),
}  # fmt: skip


def parse_manifest(path: Path) -> dict:
    """The checked contents of `path` (a dataset.json)."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ManifestError(f"{str(path)!r} is not valid JSON: {error}") from error
    if not isinstance(manifest, dict):
        raise ManifestError(
            f"{str(path)!r} must hold a JSON object, got a {type(manifest).__name__}"
        )
    for name, (check, expected) in FIELDS.items():
        if name in manifest and not check(manifest[name]):
            raise ManifestError(bad_field(path, name, manifest[name], expected))
    check_nested(path, manifest)
    return manifest


def check_nested(path: Path, manifest: dict) -> None:
    """splits.<split>.* and their shards, action_space.*, latent_grid.*."""
    for split, record in manifest.get("splits", {}).items():
        where = f"splits.{split}"
        check_object(path, where, record, SPLIT_FIELDS)
        for index, shard in enumerate(record.get("shards", [])):
            check_object(path, f"{where}.shards[{index}]", shard, SHARD_FIELDS)
    if manifest.get("action_space") is not None:
        check_object(path, "action_space", manifest["action_space"], ACTION_FIELDS)
    for axis, value in manifest.get("latent_grid", {}).items():
        if not is_int(1)(value):
            raise ManifestError(bad_field(path, f"latent_grid.{axis}", value, "an int >= 1"))


def check_object(path: Path, where: str, value, fields: dict[str, tuple[Check, str]]) -> None:
    if not isinstance(value, dict):
        raise ManifestError(bad_field(path, where, value, "an object"))
    for name, (check, expected) in fields.items():
        if name in value and not check(value[name]):
            raise ManifestError(bad_field(path, f"{where}.{name}", value[name], expected))


def bad_field(path: Path, field: str, value, expected: str) -> str:
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return f"{str(path)!r}: field {field!r} must be {expected}, got {shown}"
