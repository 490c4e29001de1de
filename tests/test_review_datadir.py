"""Review: ``checksums.json`` is itself trusted: its keys are joined to the data
directory and read / moved without checking they name a file of ``milestones/`` or
``cache/`` (runner/store/datadir.py:74-79 _manifest, :94-112 read_json, :114-121
check_all, :123-134 _set_aside)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.store.datadir import DataDir


def test_a_tampered_cache_file_is_quarantined(tmp_path: Path):
    data = DataDir(tmp_path / "data")
    data.write_json("cache/x.json", {"a": 1})
    (tmp_path / "data" / "cache" / "x.json").write_text('{"a": 2}\n')
    assert data.read_json("cache/x.json") is None
    assert [r.what for r in data.repairs] == ["corrupt"]


def test_an_unreadable_manifest_distrusts_every_file(tmp_path: Path):
    data = DataDir(tmp_path / "data")
    data.write_json("cache/x.json", {"a": 1})
    (tmp_path / "data" / "checksums.json").write_text("{not json")
    assert DataDir(tmp_path / "data").read_json("cache/x.json") is None


@pytest.mark.xfail(strict=True, reason=(
    "store/datadir.py:114-134: a checksums.json key like '../owner.skey' (or an absolute "
    "path) is read and, its hash not matching, os.replace'd into quarantine/: a damaged "
    "manifest makes check-status move files from OUTSIDE the data directory (here the "
    "user's key file). Fix: in _manifest keep only keys matching "
    "^(milestones|cache)/[A-Za-z0-9._-]+\\.json$ and report the others as a repair."))
def test_a_manifest_entry_outside_the_data_directory_is_never_touched(tmp_path: Path):
    root = tmp_path / "data"
    root.mkdir()
    victim = tmp_path / "owner.skey"
    victim.write_text("precious")
    (root / "checksums.json").write_text(json.dumps({"../owner.skey": "00" * 32}))
    DataDir(root).check_all()
    assert victim.exists(), "a file outside the data directory was moved to quarantine/"


@pytest.mark.xfail(strict=True, reason=(
    "store/datadir.py:103: a checksums.json key naming a folder ('cache') makes read_json "
    "call read_bytes() on a directory: IsADirectoryError escapes as a traceback instead "
    "of a repair. Fix: the same key filter in _manifest (regular *.json files of the two folders)."))
def test_a_manifest_entry_naming_a_folder_is_a_repair_not_a_crash(tmp_path: Path):
    root = tmp_path / "data"
    (root / "cache").mkdir(parents=True)
    (root / "checksums.json").write_text(json.dumps({"cache": "00" * 32}))
    DataDir(root).check_all()
