"""The project's transaction builder (runner/contract/transactions.py, tx_release.py) against
the FULL devnet ledger (phase 1 + phase 2, mainnet epoch-616 parameters).

One module-scoped world runs a schedule's whole life through the builder: deploy two
schedules, register both batch stake credentials, register 12 allocations (4
beneficiaries, one with a stake credential; m1 twice and m2 once each), certify m1 with a
quorum, release after vesting, refuse a second release, reclaim after expiry.  The 12
allocations become 3 pots (one per milestone x vesting time, 4 entries each).  A second
schedule holds 100 allocations for 100 beneficiaries (one pot) and is released through the
builder (figures printed with ``-s``).  Tests read what the world recorded.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass

import pycardano as pc
import pytest

from runner.contract import transactions as T
from runner.contract import tx_release as R
from runner.contract.blueprint import ScheduleParameters, SeedRef, schedule_scripts
from runner.contract.datums import CertificateDatum, PotDatum, certificate_message, entry_key, key_hash
from runner.contract.pots import layout_pots
from runner.contract.tx_core import EX_UNIT_MARGIN, UnsignedTx, sign
from runner.devnet.ledger.fees import ledger_size, min_fee
from runner.devnet.ledger.genesis import FAUCET, faucet_policy_id
from runner.devnet.ledger.ledger import Ledger
from runner.errors import UserInputError
from runner.testing.builder_world import (
    NET,
    TOKEN,
    World,
    address,
    evaluator,
    holdings,
    key,
    snapshot,
    utxos,
)

sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))

TIGHT_MEMORY = 2_000_000


BENEFICIARIES = 4  # the last one has a stake credential


def beneficiary(i: int) -> pc.Address:
    return address(key(f"beneficiary {i}"), key(f"stake {i}") if i == BENEFICIARIES - 1 else None)


@pytest.fixture(scope="module")
def world(ledger_factory: Callable[..., Ledger]) -> World:
    ledger = ledger_factory(seed="builder tests")
    payer = key("payer")
    for _ in range(3):
        ledger.fund(address(payer), 3_000_000_000)
    now_ms = ledger.slot_config.slot_to_posix_ms(ledger.current_slot)
    w = World(ledger, payer, key("owner"), [key(f"oracle {i}") for i in range(5)],
              bytes(faucet_policy_id(ledger.wallet(FAUCET))), now_ms)
    f = w.facts
    params, seed = w.schedule("main", 100_000_000, 10_000)
    big_params, big_seed = w.schedule("big", 600_000_000, 100_000)
    dep, big = w.deploy(params), w.deploy(big_params)
    f["deployments"] = (dep, big)
    vesting = now_ms + 60_000
    specs = []
    for i in range(BENEFICIARIES):
        specs += [T.AllocationSpec(beneficiary(i), 100 + i, b"m1", vesting),
                  T.AllocationSpec(beneficiary(i), 10 + i, b"m2", vesting),
                  T.AllocationSpec(beneficiary(i), 1000 + i, b"m1", vesting + 5_000)]
    f["specs"] = specs
    funding = [u for u in utxos(ledger, address(w.owner)) if u.input != big_seed.input]
    regs = T.register_schedule(dep, specs, seed, funding, snapshot(ledger))
    for r in regs:
        w.submit(r, w.owner)
    f["register"] = regs
    # certify m1 with a quorum (4 of 5); below quorum and a non-oracle key are refused
    with pytest.raises(UserInputError) as below:
        T.certify(dep, b"m1", w.signatures(dep, b"m1", range(2)), utxos(ledger, address(payer)),
                  snapshot(ledger), evaluator(ledger))
    f["below_quorum"] = below.value
    sigs = w.signatures(dep, b"m1", range(4))
    intruder = key("intruder")
    sigs[intruder.to_verification_key().payload] = intruder.sign(certificate_message(dep.policy_id, b"m1"))
    cert = T.certify(dep, b"m1", sigs, utxos(ledger, address(payer)), snapshot(ledger), evaluator(ledger))
    w.submit(cert, payer)
    f["certify"] = cert
    with pytest.raises(R.NothingToRelease) as early:
        w.release(dep)
    f["before_vesting"] = early.value
    ledger.advance_to_posix_ms(vesting + 10_000)
    f["before_release"] = {i: holdings(ledger, beneficiary(i), w.token_policy) for i in range(BENEFICIARIES)}
    f["claimable"] = R.claimable(dep, utxos(ledger, dep.allocation_address),
                                 R.certificates_at(dep, utxos(ledger, dep.certificate_address)), snapshot(ledger))
    f["release"] = w.release(dep)
    f["release_evaluated"] = evaluator(ledger)(sign(f["release"][0], [payer]))
    for r in f["release"]:
        w.submit(r, payer)
    f["after_release"] = {i: holdings(ledger, beneficiary(i), w.token_policy) for i in range(BENEFICIARIES)}
    with pytest.raises(R.NothingToRelease) as again:
        w.release(dep)
    f["again"] = again.value
    # reclaim: refused before expiry, then the owner takes the rest
    with pytest.raises(UserInputError) as too_early:
        R.reclaim(dep, utxos(ledger, dep.allocation_address), utxos(ledger, address(w.owner)),
                  snapshot(ledger), evaluator(ledger))
    f["reclaim_early"] = too_early.value
    ledger.advance_to_posix_ms(params.expiry_ms + 1_000)
    ledger.fund(address(w.owner), 20_000_000)  # the owner's collateral (an ADA-only UTxO)
    f["owner_before_reclaim"] = holdings(ledger, address(w.owner), w.token_policy)
    f["left_before_reclaim"] = holdings(ledger, dep.allocation_address, w.token_policy)
    spendable = [u for u in utxos(ledger, address(w.owner)) if u.input != big_seed.input]  # keep the seed
    reclaims = R.reclaim(dep, utxos(ledger, dep.allocation_address), spendable, snapshot(ledger), evaluator(ledger))
    for r in reclaims:
        w.submit(r, w.owner)
    f["reclaim"] = reclaims
    f["owner_after_reclaim"] = holdings(ledger, address(w.owner), w.token_policy)
    # the 100-beneficiary schedule (even ones with a stake credential: worst case for size)
    big_bens = [address(key(f"big {i}"), key(f"big stake {i}") if i % 2 == 0 else None) for i in range(100)]
    big_specs = [T.AllocationSpec(b, 50 + i, b"go", now_ms) for i, b in enumerate(big_bens)]
    big_regs = T.register_schedule(big, big_specs, big_seed, utxos(ledger, address(w.owner)), snapshot(ledger))
    for r in big_regs:
        w.submit(r, w.owner)
    f["big_register"] = big_regs
    w.submit(T.certify(big, b"go", w.signatures(big, b"go", range(3)), utxos(ledger, address(payer)),
                       snapshot(ledger), evaluator(ledger)), payer)
    f["big_release"] = w.release(big)
    for r in f["big_release"]:
        w.submit(r, payer)
    f["big_bens"] = [holdings(ledger, b, w.token_policy)[1] for b in big_bens]
    return w


def test_deploy_puts_the_scripts_where_nothing_can_spend_them_and_registers_the_batch_credential(world: World) -> None:
    for dep in world.facts["deployments"]:
        for name in T.SCRIPT_NAMES:
            ref = dep.script_utxos[name]
            on_ledger = world.ledger.utxo[ref.input]
            assert on_ledger.script == getattr(dep.scripts, name)
            assert on_ledger.address == dep.certificate_address
        assert f"script:{dep.scripts.batch_hash.hex()}" in world.ledger.stake_accounts


def test_register_locks_one_pot_per_milestone_and_vesting_time(world: World) -> None:
    dep, _ = world.facts["deployments"]
    specs = world.facts["specs"]
    created = T.allocations_in(dep, world.facts["register"])
    assert len(created) == 3
    datums = [PotDatum.from_cbor(u.output.datum.to_cbor()) for u in created]
    entries = sorted((e.amount, d.milestone_id, d.vesting_time) for d in datums for e in d.entries)
    assert entries == sorted((s.amount, s.milestone_id, s.vesting_ms) for s in specs)
    for u, d in zip(created, datums, strict=True):
        keys = [entry_key(e.beneficiary) for e in d.entries]
        assert keys == sorted(set(keys)) and len(keys) == BENEFICIARIES  # one entry per beneficiary
        tokens = u.output.amount.multi_asset[pc.ScriptHash(world.token_policy)][pc.AssetName(TOKEN)]
        assert tokens == sum(e.amount for e in d.entries)  # fully backed, no surplus
    seed = dep.params.seed
    assert pc.TransactionInput(pc.TransactionId(seed.tx_id), seed.index) in world.facts["register"][0].inputs


def test_register_merges_one_beneficiarys_allocations_in_a_pot() -> None:
    dep = _offline_deployment()
    a = beneficiary(0)
    specs = [T.AllocationSpec(a, 5, b"m", 1), T.AllocationSpec(a, 7, b"m", 1), T.AllocationSpec(a, 1, b"m", 2)]
    pots = layout_pots(specs, (dep.params.token_policy, dep.params.token_name), NET)
    assert [(p.vesting_time, [e.amount for e in p.entries]) for p in pots] == [(1, [12]), (2, [1])]


def test_register_refuses_non_positive_amounts_and_pointer_addresses() -> None:
    dep = _offline_deployment()
    token = (dep.params.token_policy, dep.params.token_name)
    with pytest.raises(UserInputError, match="positive"):
        layout_pots([T.AllocationSpec(beneficiary(0), 0, b"m", 1)], token, NET)
    pointer = pc.Address(key("x").to_verification_key().hash(), pc.PointerAddress(1, 2, 3), network=NET)
    with pytest.raises(UserInputError, match="pointer"):
        layout_pots([T.AllocationSpec(pointer, 5, b"m", 1)], token, NET)


def _offline_deployment() -> T.Deployment:
    params = ScheduleParameters(SeedRef(bytes(32), 0), bytes(28), (bytes([1]) * 28,), 1, 10**13,
                                bytes([2]) * 28, TOKEN)
    return T.Deployment(params, schedule_scripts(params), {}, NET)


def test_certify_mints_with_sorted_oracle_signatures_and_refuses_below_quorum(world: World) -> None:
    dep, _ = world.facts["deployments"]
    assert "quorum is 3" in str(world.facts["below_quorum"])
    cert = world.facts["certify"]
    out = cert.produced[0].output
    assert out.address == dep.certificate_address
    datum = CertificateDatum.from_cbor(out.datum.to_cbor())
    hashes = [key_hash(e.vkey) for e in datum.signatures]
    assert len(hashes) == 4 and hashes == sorted(hashes)  # the intruder's key was left out
    assert all(dep.params.oracles[e.oracle_index] == key_hash(e.vkey) for e in datum.signatures)
    assert R.certificates_at(dep, utxos(world.ledger, dep.certificate_address)).keys() == {b"m1"}


def test_nothing_is_claimable_before_vesting_and_uncertified_milestones_never(world: World) -> None:
    f = world.facts
    assert "none both certified and vested" in str(f["before_vesting"])
    assert {p.milestone_id for p in f["claimable"]} == {b"m1"}
    assert len(f["claimable"]) == 2  # two vesting times of m1
    assert sum(len(p.entries) for p in f["claimable"]) == 2 * BENEFICIARIES
    assert "b'm2'" in str(f["again"])  # the second release names what is missing


def test_release_pays_each_beneficiary_exactly_in_one_transaction(world: World) -> None:
    f = world.facts
    [release] = f["release"]
    assert len(release.inputs) == 2 + 1  # two pots + the payer's fee input
    assert len(release.body.outputs) == 2 * BENEFICIARIES + 1  # one per entry + change
    assert release.body.validity_start == snapshot(world.ledger).first_slot_at_or_after(
        max(p.vesting_ms for p in f["claimable"]))
    assert all(o.datum is None and o.datum_hash is None and o.script is None for o in release.body.outputs)
    for i in range(BENEFICIARIES):
        tokens = sum(s.amount for s in f["specs"] if s.beneficiary == beneficiary(i) and s.milestone_id == b"m1")
        before, after = f["before_release"][i], f["after_release"][i]
        assert after[1] - before[1] == tokens
    pots_lovelace = sum(p.utxo.output.amount.coin for p in f["claimable"])
    received = sum(f["after_release"][i][0] - f["before_release"][i][0] for i in range(BENEFICIARIES))
    assert received == pots_lovelace  # every lovelace of the pots went to the beneficiaries


def test_reclaim_after_expiry_returns_the_rest_to_the_owner(world: World) -> None:
    f = world.facts
    assert "reclaim after the expiry" in str(f["reclaim_early"].hint)
    left_lovelace, left_tokens = f["left_before_reclaim"]
    assert left_tokens == sum(s.amount for s in f["specs"] if s.milestone_id == b"m2")
    before, after = f["owner_before_reclaim"], f["owner_after_reclaim"]
    assert after[1] - before[1] == left_tokens
    assert after[0] - before[0] == left_lovelace - sum(r.fee for r in f["reclaim"])  # owner paid the fee
    dep, _ = f["deployments"]
    assert utxos(world.ledger, dep.allocation_address) == []


def test_every_fee_is_the_ledgers_exact_minimum_with_the_declared_margin(world: World) -> None:
    params = world.ledger.params
    for unsigned, tx in world.submitted:
        assert len(tx.to_cbor()) == unsigned.size
        ref_bytes = 0
        for ref in [*tx.transaction_body.inputs, *(tx.transaction_body.reference_inputs or [])]:
            out = next((u.output for u2, _ in world.submitted for u in u2.produced if u.input == ref), None)
            if out is not None and isinstance(out.script, pc.PlutusV3Script):
                ref_bytes += len(out.script)
        assert ledger_size(tx) == unsigned.size - 1
        assert unsigned.fee == min_fee(params, ledger_size(tx), unsigned.memory, unsigned.steps, ref_bytes), unsigned.kind
    release = world.facts["release"][0]
    evaluated = world.facts["release_evaluated"]
    assert evaluated and release.ex_units.keys() == evaluated.keys()
    for k, units in evaluated.items():  # declared = evaluated + margin, rounded up
        assert release.ex_units[k].mem == math.ceil(units.mem * (1 + EX_UNIT_MARGIN))
        assert release.ex_units[k].steps == math.ceil(units.steps * (1 + EX_UNIT_MARGIN))


def test_a_hundred_beneficiaries_release_through_the_builder(world: World) -> None:
    f = world.facts
    params = world.ledger.params
    regs, releases = f["big_register"], f["big_release"]
    [pot] = T.allocations_in(f["deployments"][1], regs)
    assert len(PotDatum.from_cbor(pot.output.datum.to_cbor()).entries) == 100
    assert all(r.size <= params.max_tx_size for r in [*regs, *releases])
    assert all(r.memory <= params.max_tx_ex_mem and r.steps <= params.max_tx_ex_steps for r in releases)
    assert f["big_bens"] == [50 + i for i in range(100)]
    per_tx = [len(r.body.outputs) - 1 for r in releases]
    assert sum(per_tx) == 100 and len(releases) == 1  # one pot, one transaction
    for r, n in zip(releases, per_tx, strict=True):
        print(f"\nrelease of {n} allocations: fee {r.fee / 1e6:.4f} ADA ({r.fee / n / 1e6:.4f} ADA each), "
              f"{r.size} bytes, memory {r.memory:,} / {params.max_tx_ex_mem:,}, steps {r.steps:,}, "
              f"ex-unit margin {float(EX_UNIT_MARGIN):.0%}")
    print(f"register of 100 allocations: {len(regs)} transactions, fees {[r.fee for r in regs]}")
    assert len(regs) == 1


@dataclass
class Split:
    releases: list[UnsignedTx]
    one_more: list[UnsignedTx]  # the first transaction's pots plus the next one
    small_memory: list[UnsignedTx]  # 30 one-entry pots under a 2M memory limit
    small_memory_one_more: list[UnsignedTx]
    paid: list[int]
    expected: list[int]


SPLIT = 160


@pytest.fixture(scope="module")
def split(world: World) -> Split:
    """160 beneficiaries, all with a stake credential (the largest outputs), for one
    milestone: two pots (a pot holds what one transaction can release), two transactions;
    and 30 vesting times (30 one-entry pots) under a tight memory limit."""
    ledger, payer = world.ledger, world.payer
    params, seed = world.schedule("split", 900_000_000, 100_000)
    dep = world.deploy(params)
    bens = [address(key(f"split {i}"), key(f"split stake {i}")) for i in range(SPLIT)]
    specs = [T.AllocationSpec(b, 7 + i, b"go", world.now_ms) for i, b in enumerate(bens)]
    specs += [T.AllocationSpec(bens[i], 1, b"go", world.now_ms - 1 - i) for i in range(30)]
    for r in T.register_schedule(dep, specs, seed, [seed], snapshot(ledger)):
        world.submit(r, world.owner)
    world.submit(T.certify(dep, b"go", world.signatures(dep, b"go", range(1, 4)), utxos(ledger, address(payer)),
                           snapshot(ledger), evaluator(ledger)), payer)
    certs = R.certificates_at(dep, utxos(ledger, dep.certificate_address))
    pots = R.claimable(dep, utxos(ledger, dep.allocation_address), certs, snapshot(ledger))
    big = [p.utxo for p in pots if len(p.entries) > 1]
    tiny = [p.utxo for p in pots if len(p.entries) == 1]
    assert len(big) == 2 and len(tiny) == 30
    releases = R.release(dep, big, certs, utxos(ledger, address(payer)), snapshot(ledger), evaluator(ledger))
    first = set(releases[0].inputs)
    n = sum(1 for u in big if u.input in first)
    one_more = R.release(dep, big[: n + 1], certs, utxos(ledger, address(payer)), snapshot(ledger),
                         evaluator(ledger))
    # the memory limit binds: the builder reads its limits from the snapshot's parameters
    tight = dataclasses.replace(snapshot(ledger), params=dataclasses.replace(snapshot(ledger).params,
                                                                             max_tx_ex_mem=TIGHT_MEMORY))
    small = R.release(dep, tiny, certs, utxos(ledger, address(payer)), tight, evaluator(ledger))
    k = len(small[0].inputs) - 1
    ordered = sorted(tiny, key=lambda u: (u.input.transaction_id.payload, u.input.index))
    small_more = R.release(dep, ordered[: k + 1], certs, utxos(ledger, address(payer)), tight, evaluator(ledger))
    for r in releases:
        world.submit(r, payer)
    paid = [holdings(ledger, b, world.token_policy)[1] for b in bens]
    return Split(releases, one_more, small, small_more, paid, [s.amount for s in specs[:SPLIT]])


def test_a_release_too_large_for_one_transaction_is_split_at_the_largest_batch_that_fits(split: Split) -> None:
    assert len(split.releases) == 2
    assert split.paid == split.expected  # every beneficiary paid exactly, across the transactions
    assert len(split.one_more) == 2  # the second pot does not fit with the first
    fee_inputs = [set(r.inputs) - {u.input for u in r.produced} for r in split.releases]
    assert not set.intersection(*fee_inputs)  # independent transactions: no input spent twice
    r = max(split.releases, key=lambda x: len(x.body.outputs))
    n = len(r.body.outputs) - 1
    assert n >= 140, f"the largest pot released in one transaction has {n} entries"
    print(f"\nlargest release (every beneficiary staked): {n} entries in one pot, fee {r.fee / 1e6:.4f} ADA "
          f"({r.fee / n / 1e6:.4f} ADA each), {r.size} bytes, memory {r.memory:,}, steps {r.steps:,}")


def test_the_batch_shrinks_to_the_memory_limit_when_memory_binds(split: Split) -> None:
    small = split.small_memory
    assert len(small) >= 2 and sum(len(r.inputs) - 1 for r in small) == 30
    assert all(r.memory <= TIGHT_MEMORY for r in small)  # declared units, margin included
    k = len(small[0].inputs) - 1
    assert len(split.small_memory_one_more) == 2  # k + 1 pots need two transactions
    assert len(split.small_memory_one_more[0].inputs) - 1 == k
