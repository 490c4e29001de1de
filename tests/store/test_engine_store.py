"""The data directory: checksummed files set aside when corrupt, the journal, the one-writer lock."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from runner.errors import StateError
from runner.store import lock
from runner.store.datadir import DataDir, milestone_file
from runner.store.journal import Journal, JournalEntry


def test_a_checked_file_reads_back(tmp_path):
    d = DataDir(tmp_path)
    d.write_json("milestones/m1.json", {"a": 1})
    assert d.read_json("milestones/m1.json") == {"a": 1} and d.repairs == []


def test_a_corrupt_file_is_set_aside_and_reported_never_trusted(tmp_path):
    d = DataDir(tmp_path)
    d.write_json("cache/contract_x.json", {"a": 1})
    (tmp_path / "cache/contract_x.json").write_text('{"a": 2}\n')
    assert d.read_json("cache/contract_x.json") is None
    [repair] = d.repairs
    assert repair.what == "corrupt" and (tmp_path / repair.set_aside).read_text() == '{"a": 2}\n'
    assert not (tmp_path / "cache/contract_x.json").exists()


def test_a_deleted_file_is_reported_missing(tmp_path):
    d = DataDir(tmp_path)
    d.write_json("milestones/m1.json", {"a": 1})
    (tmp_path / "milestones/m1.json").unlink()
    assert d.read_json("milestones/m1.json") is None and d.repairs[0].what == "missing"
    assert DataDir(tmp_path).read_json("milestones/m1.json") is None  # reported once, then forgotten


def test_a_file_without_checksum_is_not_trusted(tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache/contract_y.json").write_text("{}")
    assert DataDir(tmp_path).check_all()[0].path == "cache/contract_y.json"


def test_the_journal_keeps_entries_in_order_and_marks_them(tmp_path):
    j = Journal(tmp_path / "journal")
    a = j.record(JournalEntry("s", "aa", "84", ("x#0",), 10, sequence=0))
    j.record(JournalEntry("s", "bb", "84", ("aa#1",), 10, sequence=1))
    assert [e.tx_id for e in j.open_entries()] == ["aa", "bb"]
    j.mark(a, "confirmed")
    assert [e.tx_id for e in j.open_entries()] == ["bb"] and j.prune() == 1


def test_an_unreadable_journal_entry_is_a_state_error(tmp_path):
    (tmp_path / "journal").mkdir()
    (tmp_path / "journal/zz.json").write_text("{")
    with pytest.raises(StateError):
        Journal(tmp_path / "journal").entries()


def test_the_lock_admits_one_writer_and_names_the_holder(tmp_path):
    with lock.hold(tmp_path, "submit-release"):
        info = lock.read_lock(tmp_path)
        assert info is not None and info.pid == os.getpid() and info.command == "submit-release"
        with pytest.raises(StateError, match="locked by") as caught, lock.hold(tmp_path):
            pass
        assert caught.value.exit_code == 5
    assert lock.read_lock(tmp_path) is None


def test_a_stale_lock_of_a_dead_process_is_taken_over_and_reported(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    (tmp_path / "lock.json").write_text(json.dumps({"owner": "ci", "pid": int(dead.stdout), "time": 1.0,
                                                    "host": socket.gethostname()}))
    assert lock.read_lock(tmp_path).stale  # type: ignore[union-attr]
    with lock.hold(tmp_path) as taken:
        assert taken is not None and taken.owner == "ci"


def test_a_lock_from_another_host_is_never_stale_but_can_be_broken(tmp_path):
    (tmp_path / "lock.json").write_text(json.dumps({"owner": "ci", "pid": 1, "time": 1.0, "host": "elsewhere"}))
    with pytest.raises(StateError), lock.hold(tmp_path):
        pass
    assert lock.break_lock(tmp_path).host == "elsewhere"  # type: ignore[union-attr]
    with lock.hold(tmp_path):
        pass


@pytest.mark.parametrize("milestone", ["../../escape", "a/b", "..", "/abs", "back\\slash", "nul\x00"])
def test_a_milestone_id_never_names_a_path_outside_milestones(tmp_path, milestone):
    d = DataDir(tmp_path / "data")
    d.write_json(milestone_file(milestone), {"milestone": milestone})
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "checksums.json"]
    assert [p.parent for p in written] == [tmp_path / "data" / "milestones"]
    assert d.read_json(milestone_file(milestone)) == {"milestone": milestone}


def test_a_plain_milestone_id_keeps_the_guides_file_name():
    assert milestone_file("milestone-001") == "milestones/milestone-001.json"


def test_write_json_refuses_a_path_that_leaves_its_folder(tmp_path):
    with pytest.raises(ValueError):
        DataDir(tmp_path).write_json("milestones/../../x.json", {})
