"""Is a data set whole? Its manifest's ``complete`` flag and the shards it lists.

Collectors and `encode` write ``"complete": false`` until they finish, and list every
shard they completed. A set interrupted midway still reads fine, so without these checks it
trains on part of the data with no word said. Used by the data modules (refuse), `encode`
(refuse) and `arvideo data info` (report). Knows manifests and file names; knows nothing
about samples.
"""

from __future__ import annotations

from pathlib import Path

from .clips import MANIFEST_NAME, SPLITS


def listed_shards(manifest: dict | None, split: str) -> list[str]:
    """File names of the shards the manifest lists for `split` (none without a manifest)."""
    splits = (manifest or {}).get("splits") or {}
    records = (splits.get(split) or {}).get("shards") or []
    return [record["name"] for record in records if isinstance(record, dict) and "name" in record]


def missing_shards(folder: str | Path, manifest: dict | None, splits=SPLITS) -> list[str]:
    """Shards listed for `splits` that are not in `folder`."""
    names = [name for split in splits for name in listed_shards(manifest, split)]
    return [name for name in names if not (Path(folder) / name).is_file()]


def check_shards_present(folder: str | Path, manifest: dict | None, split: str) -> None:
    """Raise FileNotFoundError naming every shard of `split` the manifest lists but the
    folder lacks: a set missing files is not the set its manifest describes."""
    missing = missing_shards(folder, manifest, (split,))
    if missing:
        raise FileNotFoundError(
            f"{str(Path(folder) / MANIFEST_NAME)!r} lists {split} shards that are missing: "
            f"{missing}"
        )


def check_complete(folder: str | Path, manifest: dict | None, allow_incomplete: bool) -> None:
    """Raise ValueError for a set marked ``"complete": false`` unless `allow_incomplete`."""
    if manifest is None or manifest.get("complete") is not False or allow_incomplete:
        return
    raise ValueError(
        f"{str(Path(folder) / MANIFEST_NAME)!r} says complete: false (its collection or "
        f"encode was interrupted; {manifest.get('clips', '?')} clips were written); finish "
        "it, or pass allow_incomplete (--data.init_args.allow_incomplete true) to use it anyway"
    )
