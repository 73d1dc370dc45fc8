"""Malformed dataset.json files (issue 18, item 12): each must raise ManifestError naming the
file and the field. Shared by test_bad_manifests.py and the table."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from arvideo.data.clips import read_manifest

GOOD = {
    "format": "arvideo-clips/1", "clip_length": 8, "size": [64, 64], "complete": True,
    "clips": 2, "frames": 16, "sample_keys": ["frames.npy"],
    "action_space": {"n": 6, "meanings": ["NOOP"] * 6},
    "splits": {"train": {"shards": [{"name": "train-000000.tar", "samples": 2, "frames": 16,
                                     "episodes": [0]}],
                         "clips": 2, "frames": 16, "episodes": [0]}},
}  # fmt: skip


@dataclass
class BadManifest:
    what: str
    text: str | bytes  # the file's contents
    field: str | None  # the field the error must name (None: only the file)


def with_field(path: str, value) -> str:
    """GOOD with one (dotted) field replaced, as JSON text."""
    manifest = json.loads(json.dumps(GOOD))
    *parents, last = path.split(".")
    node = manifest
    for name in parents:
        node = node[int(name)] if isinstance(node, list) else node[name]
    node[int(last) if isinstance(node, list) else last] = value
    return json.dumps(manifest)


BAD_MANIFESTS = [
    BadManifest("not JSON", '{"format": "arvideo-clips/1",', None),
    BadManifest("not UTF-8", b'{"game": "\xff"}', None),
    BadManifest("a list", "[1, 2, 3]", None),
    BadManifest("a string", '"dataset"', None),
    BadManifest("clip_length a string", with_field("clip_length", "8"), "clip_length"),
    BadManifest("clip_length 0", with_field("clip_length", 0), "clip_length"),
    BadManifest("size one number", with_field("size", 64), "size"),
    BadManifest("size of three", with_field("size", [64, 64, 3]), "size"),
    BadManifest("complete a string", with_field("complete", "yes"), "complete"),
    BadManifest("sample_keys a string", with_field("sample_keys", "frames.npy"), "sample_keys"),
    BadManifest("clips negative", with_field("clips", -1), "clips"),
    BadManifest("splits a list", with_field("splits", []), "splits"),
    BadManifest("a split a number", with_field("splits.train", 3), "splits.train"),
    BadManifest("shards not a list", with_field("splits.train.shards", "x"), "shards"),
    BadManifest("a shard's samples a string", with_field("splits.train.shards.0.samples", "2"),
                "splits.train.shards[0].samples"),
    BadManifest("a shard's name a number", with_field("splits.train.shards.0.name", 7),
                "splits.train.shards[0].name"),
    BadManifest("action_space.n a float", with_field("action_space.n", 6.5), "action_space.n"),
    BadManifest("action_space a list", with_field("action_space", [6]), "action_space"),
    BadManifest("latent_grid a list", with_field("latent_grid", [2, 4, 4]), "latent_grid"),
    BadManifest("kind unknown", with_field("kind", "pixels"), "kind"),
    BadManifest("fps zero", with_field("fps", 0), "fps"),
    BadManifest("tokenizer a number", with_field("tokenizer", 3), "tokenizer"),
]  # fmt: skip


def refusal(case: BadManifest, folder: Path) -> str | None:
    """None when reading raised a ValueError naming the file (and the field), else what
    happened instead."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "dataset.json"
    data = case.text if isinstance(case.text, bytes) else case.text.encode("utf-8")
    path.write_bytes(data)
    try:
        read_manifest(folder)
    except ValueError as error:
        named = str(path) in str(error) and (case.field is None or case.field in str(error))
        return None if named else f"unnamed: {error}"
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return "accepted"
