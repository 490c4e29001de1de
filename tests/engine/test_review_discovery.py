"""Review: discovery of a schedule from a signatures file (commit-milestone without
--contract-address) trusts the reference scripts found at the certificate address.

The certificate address ``Script C`` accepts outputs from anyone.  An attacker who
knows C (it is in every oracle message) can deploy there a batch validator
B' = batch_release(C, attacker, ...) and its forwarder F' = forwarder(B'): F' leads
back through B' to the very same C, so ``adapter.allocation_address_of_certificates``
accepts it; of several candidates it returns the first by script hash."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pycardano as pc
import pytest

from runner.contract.blueprint import ScheduleParameters, SeedRef
from runner.engine import adapter

NET = pc.Network.TESTNET


def khash(name: str) -> bytes:
    return hashlib.blake2b(name.encode(), digest_size=28).digest()


REAL = ScheduleParameters(SeedRef(hashlib.sha256(b"review seed").digest(), 0), khash("owner"),
                          (khash("o1"), khash("o2"), khash("o3")), 2, 1_900_000_000_000, khash("policy"), b"GRANT")


def outputs_at_certificate_address(*schedules: adapter.Schedule) -> list[pc.UTxO]:
    home = pc.Address.from_primitive(schedules[0].certificate_address)
    found = []
    for n, sch in enumerate(schedules):
        for i, script in enumerate((sch.scripts.certificate_policy, sch.scripts.batch_release,
                                    sch.scripts.spend_forwarder)):
            ref = pc.TransactionInput(pc.TransactionId(hashlib.sha256(bytes([n])).digest()), i)
            found.append(pc.UTxO(ref, pc.TransactionOutput(home, 20_000_000, script=script)))
    return found


def attacker_schedule_sorting_first(real: adapter.Schedule) -> adapter.Schedule:
    real_f = bytes(real.scripts.forwarder_hash)
    for n in range(64):
        evil = adapter._schedule_for(replace(REAL, owner=khash(f"attacker {n}")), False)
        assert evil.certificate_address == real.certificate_address  # same C: same home
        if bytes(evil.scripts.forwarder_hash) < real_f:
            return evil
    raise AssertionError("no attacker owner sorts first")


def test_the_genuine_deployment_alone_is_found():
    real = adapter._schedule_for(REAL, False)
    assert adapter.allocation_address_of_certificates(outputs_at_certificate_address(real), NET) \
        == real.allocation_address


def test_a_planted_forwarder_leading_back_to_the_same_certificate_is_not_chosen():
    real = adapter._schedule_for(REAL, False)
    evil = attacker_schedule_sorting_first(real)
    found = adapter.allocation_address_of_certificates(outputs_at_certificate_address(real, evil), NET)
    assert found != evil.allocation_address


def test_commit_without_contract_address_refuses_when_several_schedules_lead_back():
    from types import SimpleNamespace

    from runner.commands.seed_inputs import contract_from_signatures
    from runner.domain.problems import BadInput
    from runner.domain.signatures import CERTIFICATE_MESSAGE_TAG

    real = adapter._schedule_for(REAL, False)
    evil = attacker_schedule_sorting_first(real)
    utxos = outputs_at_certificate_address(real, evil)
    chain = SimpleNamespace(network=NET, utxos=lambda address: utxos)
    policy = bytes(pc.Address.from_primitive(real.certificate_address).payment_part)
    signed = SimpleNamespace(signed_data=CERTIFICATE_MESSAGE_TAG + policy + b"m-1")
    with pytest.raises(BadInput, match="several schedules") as caught:
        contract_from_signatures(SimpleNamespace(chain=chain), [signed], "sigs.json")
    assert caught.value.exit_code == 2 and "--contract-address" in str(caught.value)
    assert contract_from_signatures(SimpleNamespace(chain=SimpleNamespace(
        network=NET, utxos=lambda address: outputs_at_certificate_address(real))), [signed], "s") \
        == real.allocation_address
