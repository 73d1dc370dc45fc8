"""Items 5 and 6: `arvideo encode` reads clips as training does (bad samples skipped,
counted and reported), encodes a data set without a val split, and refuses what it can
before it loads a model or writes a file."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from arvideo.training.encode import encode

BAD_MEMBERS = {
    "zz000000-000000.meta.json": b"{}",  # a sample without frames (a truncated write)
    "zz000001-000000.frames.npy": b"\x93NUMPY garbage",  # frames that do not decode
    "zz000002-000000.odd.frames.npy": b"",  # a bad member key: field 'odd.frames'
}


def append_members(shard, members: dict[str, bytes]) -> None:
    with tarfile.open(shard, "a") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def manifest(folder) -> dict:
    return json.loads((folder / "dataset.json").read_text())


def test_bad_samples_are_skipped_counted_and_recorded(clips_copy, tokenizer_dir, tmp_path):
    first = clips_copy / "train-000000.tar"
    bad_first = tmp_path / "bad-first.tar"  # bad samples before the good ones, too
    append_members(bad_first, {"aa000000-000000.meta.json": b"{}"})
    with tarfile.open(first) as good, tarfile.open(bad_first, "a") as tar:
        for member in good.getmembers():
            tar.addfile(member, good.extractfile(member))
    bad_first.replace(first)
    append_members(first, BAD_MEMBERS)
    out = tmp_path / "tokens"
    with pytest.warns(RuntimeWarning, match="skipping bad shard data"):
        summary = encode(tokenizer=str(tokenizer_dir), data=str(clips_copy), out=str(out),
                         progress=False)  # fmt: skip
    assert summary.complete and summary.clips == 16
    assert summary.skipped == {"train": 4, "val": 0}
    written = manifest(out)
    assert written["complete"] and written["splits"]["train"]["skipped"] == 4


def test_a_truncated_shard_loses_only_its_tail(clips_copy, tokenizer_dir, tmp_path):
    shard = clips_copy / "val-000000.tar"
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    with pytest.warns(RuntimeWarning, match="skipping bad shard data"):
        summary = encode(tokenizer=str(tokenizer_dir), data=str(clips_copy),
                         out=str(tmp_path / "tokens"), progress=False)  # fmt: skip
    assert 8 < summary.clips < 16 and summary.skipped["val"] >= 1


def without_val(folder):
    (folder / "val-000000.tar").unlink()
    written = manifest(folder)
    written["splits"]["val"] = {"shards": [], "clips": 0, "frames": 0, "episodes": []}
    (folder / "dataset.json").write_text(json.dumps(written))
    return folder


def test_a_set_without_val_split_encodes_and_says_so(clips_copy, tokenizer_dir, tmp_path):
    out = tmp_path / "tokens"
    summary = encode(tokenizer=str(tokenizer_dir), data=str(without_val(clips_copy)),
                     out=str(out), progress=False)  # fmt: skip
    assert summary.complete and summary.clips == 8 and summary.empty_splits == ["val"]
    written = manifest(out)
    assert written["splits"]["val"]["clips"] == 0 and written["splits"]["train"]["clips"] == 8


def test_what_can_be_checked_is_checked_before_any_work(clips_copy, tmp_path):
    missing_tokenizer = str(tmp_path / "no-tokenizer")  # would fail only once loaded
    used = tmp_path / "used"
    used.mkdir()
    (used / "dataset.json").write_text("{}")
    with pytest.raises(FileExistsError, match="used"):
        encode(tokenizer=missing_tokenizer, data=str(clips_copy), out=str(used))
    with pytest.raises(ValueError, match="shard_size"):
        encode(tokenizer=missing_tokenizer, data=str(clips_copy), out=str(tmp_path / "a"),
               shard_size=0)  # fmt: skip
    written = manifest(clips_copy)
    written["complete"] = False
    (clips_copy / "dataset.json").write_text(json.dumps(written))
    with pytest.raises(ValueError, match="allow_incomplete"):
        encode(tokenizer=missing_tokenizer, data=str(clips_copy), out=str(tmp_path / "b"))
    (clips_copy / "val-000000.tar").unlink()
    with pytest.raises(FileNotFoundError, match=r"val-000000\.tar"):
        encode(tokenizer=missing_tokenizer, data=str(clips_copy), out=str(tmp_path / "c"),
               allow_incomplete=True)  # fmt: skip
    assert not any((tmp_path / name).exists() for name in "abc")


def test_an_incomplete_source_encodes_when_allowed(clips_copy, tokenizer_dir, tmp_path):
    written = manifest(clips_copy)
    written["complete"] = False
    (clips_copy / "dataset.json").write_text(json.dumps(written))
    out = tmp_path / "tokens"
    summary = encode(tokenizer=str(tokenizer_dir), data=str(clips_copy), out=str(out),
                     allow_incomplete=True, progress=False)  # fmt: skip
    assert summary.clips == 16
    assert manifest(out)["source_complete"] is False  # the tokens inherit the gap
