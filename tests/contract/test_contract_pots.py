"""``runner.contract.pots``: the pot layout and the scan of untrusted UTxOs (pure, no ledger;
the same rules on the full ledger: test_contract_robust.py)."""

from __future__ import annotations

import hashlib

import pycardano as pc
import pytest

from runner.contract import pots as P
from runner.contract import transactions as T
from runner.contract.blueprint import ScheduleParameters, SeedRef, schedule_scripts
from runner.contract.datums import NoOutputDatum, PotDatum, PotEntry, entry_key, to_plutus_address

NET = pc.Network.TESTNET
POLICY, TOKEN = bytes([2]) * 28, b"GRANT"


def addr(name: str, staked: bool = True) -> pc.Address:
    h = hashlib.blake2b(name.encode(), digest_size=28).digest()
    s = hashlib.blake2b(b"stake " + name.encode(), digest_size=28).digest()
    return pc.Address(pc.VerificationKeyHash(h), pc.VerificationKeyHash(s) if staked else None, network=NET)


@pytest.fixture(scope="module")
def dep() -> T.Deployment:
    params = ScheduleParameters(SeedRef(bytes(32), 0), bytes(28), (bytes([1]) * 28,), 1, 10**13, POLICY, TOKEN)
    return T.Deployment(params, schedule_scripts(params), {}, NET)


def utxo(dep: T.Deployment, datum: object, tokens: int, index: int = 0, address: pc.Address | None = None,
         extra: dict[bytes, int] | None = None) -> pc.UTxO:
    value = pc.Value(5_000_000, pc.MultiAsset.from_primitive({POLICY: {TOKEN: tokens, **(extra or {})}}))
    ref = pc.TransactionInput(pc.TransactionId(bytes([7]) * 32), index)
    return pc.UTxO(ref, pc.TransactionOutput(address or dep.allocation_address, value, datum=datum))


def pot(entries: list[tuple[pc.Address, int]], sort: bool = True) -> PotDatum:
    made = [PotEntry(to_plutus_address(a), n) for a, n in entries]
    if sort:
        made.sort(key=lambda e: entry_key(e.beneficiary))
    return PotDatum(b"m1", 1, made, NoOutputDatum())


def reason(dep: T.Deployment, u: pc.UTxO, **kw: object) -> str:
    scan = P.scan_pots(dep, [u], **kw)  # type: ignore[arg-type]
    assert not scan.pots, "expected the UTxO to be ignored"
    return scan.ignored[0].reason


def test_a_well_formed_backed_pot_is_releasable(dep: T.Deployment) -> None:
    scan = P.scan_pots(dep, [utxo(dep, pot([(addr("a"), 5), (addr("b"), 7)]), 12)])
    assert len(scan.pots) == 1 and scan.ignored == [] and scan.pots[0].tokens == 12


def test_duplicate_unsorted_short_surplus_and_foreign(dep: T.Deployment) -> None:
    a, b = addr("a"), addr("b")
    entry = PotEntry(to_plutus_address(a), 5)
    assert "sorted" in reason(dep, utxo(dep, PotDatum(b"m1", 1, [entry, entry], NoOutputDatum()), 10))
    backwards = pot([(a, 5), (b, 7)])
    backwards.entries.reverse()
    assert "sorted" in reason(dep, utxo(dep, backwards, 12))
    assert "holds 11 tokens but its entries add up to 12" in reason(dep, utxo(dep, pot([(a, 5), (b, 7)]), 11))
    assert "holds 13 tokens" in reason(dep, utxo(dep, pot([(a, 5), (b, 7)]), 13))
    assert "foreign" in reason(dep, utxo(dep, pot([(a, 5)]), 5, extra={b"other": 1}))


def test_a_pot_too_large_for_one_release_is_ignored(dep: T.Deployment) -> None:
    crowd = [(addr(f"c{i}"), 1) for i in range(200)]  # ~107 bytes of output each
    assert "too large" in reason(dep, utxo(dep, pot(crowd), 200))


def test_a_pot_at_the_forwarder_with_a_stake_part_is_reported(dep: T.Deployment) -> None:
    home = dep.allocation_address
    staked = pc.Address(home.payment_part, pc.VerificationKeyHash(bytes(28)), network=NET)
    assert "another stake part" in reason(dep, utxo(dep, pot([(addr("a"), 5)]), 5, address=staked))


def test_with_the_schedule_only_its_pots_count_each_once(dep: T.Deployment) -> None:
    specs = [T.AllocationSpec(addr("a"), 5, b"m1", 1), T.AllocationSpec(addr("b"), 7, b"m1", 1)]
    [datum] = P.layout_pots(specs, (POLICY, TOKEN), NET)
    first, copy = utxo(dep, datum, 12, 0), utxo(dep, datum, 12, 1)
    stranger = utxo(dep, pot([(addr("mallory"), 1)]), 1, 2)
    scan = P.scan_pots(dep, [stranger, copy, first], schedule=specs)
    assert [p.utxo.input for p in scan.pots] == [first.input]
    assert {i.utxo.input: i.reason for i in scan.ignored}.keys() == {copy.input, stranger.input}


def test_the_layout_cuts_a_large_group_into_pots_that_each_fit_one_release() -> None:
    specs = [T.AllocationSpec(addr(f"x{i}"), 1000 + i, b"m1", 1) for i in range(300)]
    pots = P.layout_pots(specs, (POLICY, TOKEN), NET)
    assert len(pots) == 3 and sum(len(p.entries) for p in pots) == 300
    assert min(len(p.entries) for p in pots[:2]) >= 140
    keys = [entry_key(e.beneficiary) for p in pots for e in p.entries]
    assert keys == sorted(keys)  # one sorted run, cut in order
