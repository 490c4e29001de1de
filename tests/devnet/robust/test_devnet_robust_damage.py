"""Damaged devnet files: each kind of damage is reported (exit 5, what is lost, how to
recover) and never silently truncated; a torn last record (a crash) is tolerated and said.
Add a row to DAMAGE to cover a new kind."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cbor2
import pytest

from runner.cli import main
from runner.devnet.ledger.ledger import Ledger
from runner.devnet.storage import journal as ledger_journal
from runner.devnet.storage import store as ledger_store
from runner.devnet.storage.store import load_ledger
from runner.testing.ledger import HandTx, accepted

PAYMENTS = 4


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def log_of(d: Path) -> Path:
    return d / ledger_journal.JOURNAL_FILE


def snapshot_of(d: Path) -> Path:
    return d / ledger_store.STATE_FILE


def noise(size: int) -> bytes:
    """Deterministic random-looking bytes."""
    return b"".join(hashlib.sha512(i.to_bytes(4, "big")).digest() for i in range(size // 64 + 1))[:size]


def flip_middle(path: Path, count: int = 3) -> None:
    data = bytearray(path.read_bytes())
    for i in range(count):
        data[len(data) // 2 + 7 * i] ^= 0x5A
    path.write_bytes(bytes(data))


def flip_at(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def rewrite_snapshot(d: Path, change: Callable[[dict[str, Any]], None]) -> None:
    raw = snapshot_of(d).read_bytes()
    state = cbor2.loads(raw[8:])
    change(state)
    snapshot_of(d).write_bytes(ledger_store.encode_snapshot(state))


def damage_utxo_entry(state: dict[str, Any]) -> None:
    state["utxo"][0][1] = b"\xa3\x00junk"


def junk_block_mode(state: dict[str, Any]) -> None:
    state["block_mode"] = "whenever"


def replace_by_directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


@dataclass(frozen=True)
class Damage:
    name: str
    apply: Callable[[Path], None]
    says: str  # in the error message
    repairable: bool  # `devnet repair` keeps what is intact


DAMAGE = [
    Damage("log emptied", lambda d: log_of(d).write_bytes(b""), "every change saved after the snapshot is lost",
           True),
    Damage("log deleted", lambda d: log_of(d).unlink(), "ledger.log is missing", True),
    Damage("log random bytes", lambda d: log_of(d).write_bytes(noise(2560)),
           "does not start with a journal header", True),
    Damage("log 3 bytes flipped in the middle", lambda d: flip_middle(log_of(d)), "intact one(s) after it", True),
    Damage("log replaced by a directory", lambda d: replace_by_directory(log_of(d)), "is a directory", True),
    Damage("log header damaged", lambda d: flip_at(log_of(d), 10),
           "header record is damaged", True),
    Damage("snapshot byte flipped", lambda d: flip_middle(snapshot_of(d), 1), "checksum", False),
    Damage("snapshot random bytes", lambda d: snapshot_of(d).write_bytes(noise(5000)), "snapshot", False),
    Damage("snapshot UTxO entry damaged", lambda d: rewrite_snapshot(d, damage_utxo_entry), "snapshot is damaged",
           False),
    Damage("snapshot junk block_mode", lambda d: rewrite_snapshot(d, junk_block_mode), "block_mode 'whenever'",
           False),
    Damage("snapshot replaced by a directory", lambda d: replace_by_directory(snapshot_of(d)), "snapshot", False),
]


@pytest.fixture()
def devnet(ledger_factory: Callable[..., Ledger], tmp_path: Path) -> Path:
    directory = tmp_path / "devnet"
    ledger = ledger_factory(data_dir=directory)
    for _ in range(PAYMENTS // 2):
        accepted(ledger, HandTx(ledger).pay("alice", "bob"))
        accepted(ledger, HandTx(ledger).pay("bob", "alice"))
    return directory


def files(directory: Path) -> dict[str, bytes | None]:
    return {p.name: (p.read_bytes() if p.is_file() else None) for p in sorted(directory.iterdir())}


@pytest.mark.parametrize("damage", DAMAGE, ids=[d.name for d in DAMAGE])
def test_damage_is_reported_with_what_is_lost_and_how_to_recover_and_nothing_is_rewritten(capsys, devnet, damage):
    damage.apply(devnet)
    before = files(devnet)
    for command in (["status"], ["tick"]):
        code, _, err = run(capsys, "devnet", *command, "--data-dir", str(devnet))
        assert code == 5, (command, err)
        assert damage.says in err and "hint:" in err and "Traceback" not in err
        assert ("devnet repair" in err) == damage.repairable and "devnet reset" in err
    assert files(devnet) == before  # nothing truncated, nothing rewritten
    assert run(capsys, "devnet", "reset", "--data-dir", str(devnet))[0] == 0  # the other way out
    code, _, err = run(capsys, "devnet", "status", "--data-dir", str(devnet))
    assert code == 0 and not err


@pytest.mark.parametrize("damage", [d for d in DAMAGE if d.repairable], ids=lambda d: d.name)
def test_repair_keeps_the_intact_state_and_sets_the_damaged_journal_aside(capsys, devnet, damage):
    damage.apply(devnet)
    had_log = log_of(devnet).exists()
    code, out, err = run(capsys, "devnet", "repair", "--data-dir", str(devnet))
    assert code == 0, err
    assert '"repaired"' in out
    assert any(p.name.startswith("ledger.log.damaged-") for p in devnet.iterdir()) == had_log
    code, out, err = run(capsys, "devnet", "status", "--data-dir", str(devnet))
    assert code == 0 and not err
    code, _, err = run(capsys, "devnet", "tick", "--data-dir", str(devnet))
    assert code == 0, err


def test_flipped_bytes_in_the_middle_keep_the_changes_before_them(devnet):
    full = load_ledger(devnet)
    flip_middle(log_of(devnet))
    kept, notes = ledger_store.repair_ledger(Ledger, devnet)
    assert 0 < kept.tip.height < full.tip.height
    assert [b.block_hash for b in kept.blocks] == [b.block_hash for b in full.blocks][: kept.tip.height + 1]
    assert "intact one(s) after it" in notes[0]


@pytest.mark.parametrize("cut", [5, 200])
def test_a_torn_last_record_is_tolerated_and_said(capsys, devnet, cut):
    """A crash mid-append tears the last record; a cut inside the last record looks the same
    and is treated the same (a cut exactly between records cannot be told from a shorter log)."""
    full = load_ledger(devnet)
    log_of(devnet).write_bytes(log_of(devnet).read_bytes()[:-cut])
    code, _, err = run(capsys, "devnet", "status", "--data-dir", str(devnet))
    assert code == 0 and "torn record" in err
    assert load_ledger(devnet).tip.height == full.tip.height - 1


def test_a_snapshot_that_cannot_be_repaired_says_reset(capsys, devnet):
    flip_middle(snapshot_of(devnet), 1)
    code, _, err = run(capsys, "devnet", "repair", "--data-dir", str(devnet))
    assert code == 5 and "devnet reset" in err
    code, _, err = run(capsys, "devnet", "reset", "--data-dir", str(devnet))
    assert code == 0, err


def test_damage_after_a_copy_is_reported_in_the_copy_only(devnet, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(devnet, copy)
    flip_middle(log_of(copy))
    load_ledger(devnet)
    with pytest.raises(Exception, match="journal is damaged"):
        load_ledger(copy)


def test_a_creation_cut_short_before_its_first_snapshot_is_no_devnet(capsys, tmp_path):
    directory = tmp_path / "devnet"
    directory.mkdir()
    log_of(directory).write_bytes(ledger_journal.header(bytes(16)))  # what a crash right then leaves
    (directory / ".ledger.cbor.x1.tmp").write_bytes(b"half")
    code, _, err = run(capsys, "devnet", "status", "--data-dir", str(directory))
    assert code == 5 and "no devnet in" in err
    code, _, err = run(capsys, "devnet", "reset", "--data-dir", str(directory))
    assert code == 0, err
