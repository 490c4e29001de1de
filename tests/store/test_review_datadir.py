"""Review: ``checksums.json`` is itself trusted: its keys are joined to the data
directory and read / moved without checking they name a file of ``milestones/`` or
``cache/`` (runner/store/datadir.py:74-79 _manifest, :94-112 read_json, :114-121
check_all, :123-134 _set_aside)."""

from __future__ import annotations

import json
from pathlib import Path

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


def test_a_manifest_entry_outside_the_data_directory_is_never_touched(tmp_path: Path):
    root = tmp_path / "data"
    root.mkdir()
    victim = tmp_path / "owner.skey"
    victim.write_text("precious")
    (root / "checksums.json").write_text(json.dumps({"../owner.skey": "00" * 32}))
    DataDir(root).check_all()
    assert victim.exists(), "a file outside the data directory was moved to quarantine/"


def test_a_manifest_entry_naming_a_folder_is_a_repair_not_a_crash(tmp_path: Path):
    root = tmp_path / "data"
    (root / "cache").mkdir(parents=True)
    (root / "checksums.json").write_text(json.dumps({"cache": "00" * 32}))
    DataDir(root).check_all()


def test_a_foreign_manifest_key_is_reported_and_dropped(tmp_path: Path):
    root = tmp_path / "data"
    root.mkdir()
    (root / "checksums.json").write_text(json.dumps({"/etc/passwd.json": "00" * 32, "cache": "00"}))
    repairs = DataDir(root).check_all()
    assert [r.what for r in repairs] == ["not a checked file"] * 2
    assert json.loads((root / "checksums.json").read_text()) == {}


def test_a_milestone_file_named_by_any_text_id_stays_trusted(tmp_path: Path):
    data = DataDir(tmp_path / "data")
    data.write_json("milestones/Phase 1 é.json", {"a": 1})
    assert DataDir(tmp_path / "data").read_json("milestones/Phase 1 é.json") == {"a": 1}
