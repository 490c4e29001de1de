"""The pycardano type-hint cache (ledger_speed) changes speed only, never bytes."""

from __future__ import annotations

import typing

from pycardano import Transaction

from runner.devnet.ledger import speed as ledger_speed
from runner.testing.ledger import ALWAYS_SUCCEEDS, HandTx


def _round_trips(raw: bytes) -> bytes:
    return Transaction.from_cbor(raw).to_cbor()


def test_decoding_and_encoding_are_identical_with_and_without_the_cache(ledger):
    hand = HandTx(ledger)
    locked = hand.lock(ALWAYS_SUCCEEDS, datum=[1, b"x", {2: 3}], script_ref=ALWAYS_SUCCEEDS)
    raws = [hand.pay().to_cbor(), *(t.cbor for b in ledger.blocks for t in b.txs)]
    assert locked in ledger.utxo
    ledger_speed.uninstall()
    try:
        plain = [_round_trips(r) for r in raws]
    finally:
        ledger_speed.install()
    assert [_round_trips(r) for r in raws] == plain


def test_cached_hints_equal_typing_and_are_copies():
    import pycardano.serialization as ser
    from pycardano import TransactionBody

    first = ser.get_type_hints(TransactionBody)
    assert first == typing.get_type_hints(TransactionBody)
    first.clear()
    assert ser.get_type_hints(TransactionBody) == typing.get_type_hints(TransactionBody)


def test_the_ledger_benchmarks_run_on_a_tiny_chain(tmp_path, monkeypatch):
    """bench/ stays runnable: every transaction it times is accepted (its own asserts check
    the chain grew by one block per transaction); no timing is asserted."""
    import importlib.util
    import tempfile
    from pathlib import Path

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the benches' data dirs go here

    bench = Path(__file__).resolve().parents[3] / "bench"
    loaded = {}
    for name in ("bench_ledger", "bench_persist"):
        spec = importlib.util.spec_from_file_location(name, bench / f"{name}.py")
        assert spec is not None and spec.loader is not None
        loaded[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded[name])
    assert loaded["bench_ledger"].payments_run(3) > 0
    assert loaded["bench_ledger"].plutus_run(3, "answer42", persist=True) > 0
    *_, size, _, per_submit = loaded["bench_persist"].measure(5, 2)
    assert size > 0 and per_submit > 0
