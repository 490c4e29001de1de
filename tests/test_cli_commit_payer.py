"""``commit-milestone`` as the guide writes it (no key flag): the fee is paid by the key that
paid ``register-milestone`` in the same data directory (remembered by path in the checksummed
``cache/payer.json``, never the key); ``--funding-key`` overrides; with nothing remembered, or
a damaged record, it is exit 2 naming the flag, before anything touches the chain.  On the
embedded devnet's real ledger, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runner.engine.backends import open_ledger
from tests.test_cli_quickstart import Guide, _ModuleCapture

M1, M2 = "milestone-001", "milestone-002"


def lovelace(data: Path, address: str) -> int:
    ledger = open_ledger(data / "devnet")
    return sum(o.amount.coin for _, o in ledger.utxos_at(address))


def commit_as_the_guide_writes_it(guide: Guide, milestone: str, *extra: str, data: Path | None = None) -> Any:
    return guide.run("commit-milestone", "--milestone-identifier", milestone,
                     "--oracle-signatures", str(guide.folder / f"sigs-{milestone}.json"),
                     "--quorum-threshold", "2", "--total-oracles", "3", *extra, data=data)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    guide = Guide(tmp_path_factory.mktemp("payer"), _ModuleCapture())  # type: ignore[arg-type]
    registered = guide.register(guide.fund(), guide.allocations())
    assert registered.code == 0, registered.err
    contract = registered.json()["contract_address"]
    guide.run("fund", "--address", guide.addr["b1"], "--lovelace", "30000000")
    for milestone in (M1, M2):
        guide.sign(contract, milestone, "o1")
        guide.sign(contract, milestone, "o2")
    return {"guide": guide, "contract": contract}


def test_register_remembers_the_payers_key_path_never_the_key(world):
    guide = world["guide"]
    record = json.loads((guide.data / "cache" / "payer.json").read_text())
    assert record["funding_key_path"] == str((guide.folder / "payer.skey").resolve())
    assert record["payer_address"] == guide.addr["payer"]
    key_cbor = json.loads((guide.folder / "payer.skey").read_text())["cborHex"]
    assert key_cbor[4:] not in (guide.data / "cache" / "payer.json").read_text()


def test_without_funding_key_the_register_payer_pays_and_the_flag_overrides(world):
    guide = world["guide"]
    payer, other = guide.addr["payer"], guide.addr["b1"]
    before = lovelace(guide.data, payer), lovelace(guide.data, other)
    first = commit_as_the_guide_writes_it(guide, M1)
    assert first.code == 0, first.err
    assert first.json()["certified"] and first.json()["transactions"][0]["status"] == "confirmed"
    middle = lovelace(guide.data, payer), lovelace(guide.data, other)
    assert middle[0] < before[0] and middle[1] == before[1]  # the remembered payer paid the fee
    second = commit_as_the_guide_writes_it(guide, M2, "--funding-key", str(guide.folder / "b1.skey"))
    assert second.code == 0, second.err
    after = lovelace(guide.data, payer), lovelace(guide.data, other)
    assert after[0] == middle[0] and after[1] < middle[1]  # the override paid


def test_with_nothing_remembered_it_is_a_clear_user_error_before_the_chain(world, tmp_path):
    guide = world["guide"]
    empty = tmp_path / "empty-data"
    refused = commit_as_the_guide_writes_it(guide, M1, data=empty)
    assert refused.code == 2 and "Traceback" not in refused.err
    assert "--funding-key" in refused.err and "remembers no register-milestone payer" in refused.err
    assert not (empty / "devnet").exists()  # refused before opening any chain


def test_a_damaged_payer_record_is_set_aside_and_refused(world, tmp_path):
    guide = world["guide"]
    data = tmp_path / "damaged"
    (data / "cache").mkdir(parents=True)
    (data / "cache" / "payer.json").write_text('{"funding_key_path": "/tmp/attacker.skey"}')  # not checksummed
    refused = commit_as_the_guide_writes_it(guide, M1, data=data)
    assert refused.code == 2 and "set aside as damaged" in refused.err, refused.err
    assert not (data / "cache" / "payer.json").exists() and list((data / "quarantine").iterdir())
