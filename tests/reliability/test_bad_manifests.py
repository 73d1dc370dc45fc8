"""Malformed dataset.json (issue 18, item 12): bad JSON, a list, wrong types raise an error
naming the file and the field, wherever the manifest is read."""

from __future__ import annotations

import pytest

from arvideo.data.datamodule import VideoDataModule
from arvideo.data.manifest import ManifestError


def test_every_bad_manifest_is_refused_naming_file_and_field(manifest_cases, tmp_path):
    outcomes = {
        case.what: manifest_cases.refusal(case, tmp_path / f"set{index}")
        for index, case in enumerate(manifest_cases.BAD_MANIFESTS)
    }
    assert {what: got for what, got in outcomes.items() if got is not None} == {}


def test_good_manifest_reads_and_data_module_refuses_a_bad_one(manifest_cases, tmp_path):
    folder = tmp_path / "set"
    good = manifest_cases.BadManifest("good", manifest_cases.with_field("clips", 2), None)
    assert manifest_cases.refusal(good, folder) == "accepted"
    (folder / "dataset.json").write_text(manifest_cases.with_field("size", "64x64"))
    with pytest.raises(ManifestError, match=r"dataset\.json.*field 'size'"):
        VideoDataModule(str(folder))
