"""Persistence is a listener on the ledger (issue 9): the ledger announces each change,
the storage subscribes; a ledger nobody attached writes nothing."""

from __future__ import annotations

import pytest

from runner.devnet import Ledger
from runner.devnet.storage import Autosave, attach, home_of, load_ledger, save_ledger
from runner.errors import StateError, UserInputError
from runner.testing.ledger import HandTx, accepted, same_state


def test_every_kind_of_change_is_announced_once_after_it_is_made(ledger):
    seen: list[tuple[int, int]] = []
    ledger.subscribe(lambda changed: seen.append((changed.tip.height, changed.current_slot)))
    hand = HandTx(ledger)
    accepted(ledger, hand.pay("alice", "bob", 2_000_000))
    assert seen == [(1, ledger.current_slot)]  # after the block, not before
    ledger.advance_slots(5)
    ledger.tick()
    ledger.rollback(1)
    ledger.fund(ledger.wallet("bob").address, 3_000_000)
    ledger.reset()
    assert len(seen) == 6
    assert seen[-1] == (0, ledger.current_slot)


def test_an_unsubscribed_listener_hears_nothing(ledger):
    seen: list[int] = []
    stop = ledger.subscribe(lambda changed: seen.append(changed.tip.height))
    ledger.tick()
    stop()
    ledger.tick()
    assert seen == [1] and ledger.listeners == ()


def test_a_ledger_nobody_attached_writes_nothing_and_has_no_home(ledger, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ledger.tick()
    ledger.advance_slots(3)
    assert home_of(ledger) is None and list(tmp_path.iterdir()) == []
    with pytest.raises(UserInputError, match="no data directory"):
        save_ledger(ledger)


def test_attach_saves_now_and_after_every_change_and_is_idempotent(ledger, tmp_path):
    home = attach(ledger, tmp_path)
    assert isinstance(home, Autosave) and home_of(ledger) is home and ledger.listeners == (home,)
    assert (tmp_path / "ledger.cbor").is_file()
    assert attach(ledger, tmp_path) is home and ledger.listeners == (home,)
    ledger.tick()
    same_state(load_ledger(tmp_path), ledger)


def test_attaching_elsewhere_moves_the_home(ledger, tmp_path):
    attach(ledger, tmp_path / "a")
    moved = attach(ledger, tmp_path / "b")
    assert ledger.listeners == (moved,) and moved.directory == tmp_path / "b"
    ledger.tick()
    assert load_ledger(tmp_path / "a").tip.height == 0
    assert load_ledger(tmp_path / "b").tip.height == 1


def test_a_loaded_ledger_keeps_its_directory_in_step(ledger_factory, tmp_path):
    ledger_factory(data_dir=tmp_path)
    loaded = load_ledger(tmp_path)
    assert home_of(loaded) is not None and home_of(loaded).directory == tmp_path
    loaded.tick()
    assert load_ledger(tmp_path).tip.height == 1


def test_what_a_listener_raises_reaches_the_caller_of_the_change(ledger):
    def refuse(_: Ledger) -> None:
        raise StateError("disk full", hint="free some space")

    ledger.subscribe(refuse)
    with pytest.raises(StateError, match="disk full"):
        ledger.tick()
