"""``milestones devnet demo``: a full rehearsal of a milestone schedule on the embedded devnet.

Why: it is the project's main job in miniature, end to end and in seconds.  A throwaway
in-memory devnet (mainnet epoch-616 parameters, phase 2 evaluated for real) is served as
Ogmios + Kupo on free loopback ports, and everything after that goes through the
project's own client path (``OgmiosKupoBackend`` + ``OgmiosKupoContext``) and its own
transaction builder (``runner.contract.transactions``): deploy the contract, register the
batch validator's stake credential, register a schedule for several beneficiaries and
milestones, certify a milestone with M of N oracle signatures, attempt a release before
the vesting time (the ledger refuses it), advance the devnet clock, release the batch,
check the balances.  Only funding the wallets and moving the clock use the devnet's own
``devnet/...`` controls.  Signing keys are derived from the seed and never printed.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

BENEFICIARIES = 4
MILESTONES = (b"m1", b"m2")
ORACLES, QUORUM = 5, 3
TOKEN = b"GRANT"
STEPS = 11

#: A hand-written Plutus V3 validator: succeeds iff the redeemer is the integer 42 (V3
#: scripts take the whole ScriptContext = Constr 0 [txInfo, redeemer, scriptInfo]).
#: Kept for the devnet server tests, which lock and spend with it.
ANSWER_42_SOURCE = """(program 1.1.0
 (lam ctx
  (force
   [(force (builtin ifThenElse))
    [(builtin equalsData)
     [(force (builtin headList))
      [(force (builtin tailList)) [(force (force (builtin sndPair))) [(builtin unConstrData) ctx]]]]
     (con data (I 42))]
    (delay (con unit ()))
    (delay (error))])))"""


def answer_42_script() -> Any:
    from pycardano import PlutusV3Script
    from uplc import flatten, parse

    return PlutusV3Script(flatten(parse(ANSWER_42_SOURCE)))


@dataclass
class Chain:
    """The project's client path over the served devnet, in the builder's terms."""

    backend: Any  # OgmiosKupoBackend
    context: Any  # OgmiosKupoContext

    def snapshot(self) -> Any:
        from runner.contract.tx_core import ChainSnapshot

        genesis = self.context.genesis_param
        return ChainSnapshot(self.context.protocol_param, self.context.network, self.backend.tip().slot,
                             int(self.backend.start_time().timestamp()) * 1000,
                             int(float(genesis.slot_length) * 1000))

    def evaluate(self, tx: Any) -> Mapping[tuple[str, int], Any]:
        from pycardano import ExecutionUnits

        evaluation = self.backend.evaluate(tx.to_cbor())
        return {(r.purpose, r.index): ExecutionUnits(r.budget.memory, r.budget.cpu) for r in evaluation.redeemers}

    def utxos(self, address: Any) -> list[Any]:
        return list(self.context.utxos(address))

    def submit(self, unsigned: Any, *keys: Any) -> str:
        from runner.contract.tx_core import sign

        return str(self.context.submit_tx_cbor(sign(unsigned, keys).to_cbor()))


def demo_key(seed: str, name: str) -> Any:
    from pycardano import PaymentSigningKey

    return PaymentSigningKey(hashlib.sha256(f"milestones demo {seed} {name}".encode()).digest())


def _address(key: Any, stake: Any = None) -> Any:
    from pycardano import Address, Network

    staking = stake.to_verification_key().hash() if stake is not None else None
    return Address(key.to_verification_key().hash(), staking, network=Network.TESTNET)


def _ada(lovelace: int) -> str:
    return f"{lovelace / 1e6:.6f} ADA"


def run_demo(seed: str, say: Callable[[str], None]) -> dict[str, Any]:
    """Run the rehearsal, reporting each step with ``say``; returns what happened."""
    from runner.chain.devnet.cli import serving
    from runner.chain.devnet.control import control
    from runner.chain.devnet.genesis import FAUCET, faucet_policy_id
    from runner.chain.devnet.ledger import Ledger
    from runner.chain.ogmios_kupo import OgmiosKupoBackend
    from runner.chain.pycardano_context import OgmiosKupoContext

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    logging.getLogger("PyCardano").setLevel(logging.ERROR)
    started = time.perf_counter()
    ledger = Ledger.create(seed=seed, wallets=("owner", "payer"))
    say(f"[1/{STEPS}] devnet ledger created (seed {seed!r}), mainnet epoch-616 protocol parameters")
    with serving(ledger) as running, OgmiosKupoBackend.connect(running.ogmios_url, running.kupo_url) as backend:
        chain = Chain(backend, OgmiosKupoContext(backend))
        say(f"[2/{STEPS}] serving Ogmios on {running.ogmios_url} and Kupo on {running.kupo_url}; "
            f"the rest goes through the project's OgmiosKupoBackend")
        result = _rehearse(seed, ledger, running, chain, say, control, faucet_policy_id(ledger.wallet(FAUCET)))
        tip = running.guard.read(lambda lg: lg.tip)
    elapsed = time.perf_counter() - started
    say(f"summary: {result['transactions']} transactions, fees {_ada(result['fees'])}, "
        f"{result['released']} allocations released in one batch at {_ada(result['per_release'])} each, "
        f"{result['locked']} still locked (uncertified); tip slot {tip.slot}, height {tip.height} "
        f"({elapsed:.1f} s)")
    return result | {"tip_slot": tip.slot, "tip_height": tip.height}


def _rehearse(seed: str, ledger: Any, running: Any, chain: Chain, say: Callable[[str], None],
              control: Any, token_policy: Any) -> dict[str, Any]:
    from runner.contract import transactions as T
    from runner.contract import tx_release as R
    from runner.contract.blueprint import ScheduleParameters, SeedRef, schedule_scripts
    from runner.contract.datums import certificate_message
    from runner.contract.tx_core import ChainSnapshot
    from runner.errors import LedgerRejection

    owner, payer = ledger.wallet("owner"), ledger.wallet("payer")
    oracles = [demo_key(seed, f"oracle {i}") for i in range(ORACLES)]
    bens = [_address(demo_key(seed, f"beneficiary {i}"), demo_key(seed, f"stake {i}") if i == 0 else None)
            for i in range(BENEFICIARIES)]
    fees: list[int] = []

    def done(step: int, what: str, tx: Any, tx_id: str, extra: str = "") -> None:
        fees.append(tx.fee)
        say(f"[{step}/{STEPS}] {what}: {tx_id} (fee {_ada(tx.fee)}, {tx.size} bytes{extra})")

    total = sum(100 * (i + 1) * (j + 1) for i in range(BENEFICIARIES) for j in range(len(MILESTONES)))
    seed_ref = running.guard.write(lambda lg: lg.fund(owner.address, 100_000_000, {TOKEN: total}))
    running.guard.write(lambda lg: lg.fund(owner.address, 20_000_000))
    running.guard.write(lambda lg: lg.fund(payer.address, 200_000_000))
    say(f"[3/{STEPS}] faucet funded the owner with {total} {TOKEN.decode()} tokens and the payer with ADA")
    now = chain.snapshot()
    vesting_ms = now.now_ms + 120_000
    params = ScheduleParameters(
        SeedRef(seed_ref.transaction_id.payload, seed_ref.index), bytes(owner.verification_key.hash()),
        tuple(bytes(k.to_verification_key().hash()) for k in oracles), QUORUM,
        now.now_ms + 24 * 3_600_000, bytes(token_policy), TOKEN)
    deployed = T.deploy(params, schedule_scripts(params), chain.utxos(payer.address), now)
    done(4, "deployed the three scripts as reference scripts", deployed.tx,
         chain.submit(deployed.tx, payer.signing_key))
    dep = deployed.deployment
    stake = T.register_stake(dep, chain.utxos(payer.address), chain.snapshot(), chain.evaluate)
    assert stake is not None  # a fresh schedule's credential is never registered yet
    done(5, "registered the batch validator's stake credential", stake, chain.submit(stake, payer.signing_key))
    specs = [T.AllocationSpec(b, 100 * (i + 1) * (j + 1), m, vesting_ms)
             for i, b in enumerate(bens) for j, m in enumerate(MILESTONES)]
    owned = chain.utxos(owner.address)
    seed_utxo = next(u for u in owned if u.input == seed_ref)
    for reg in T.register_schedule(dep, specs, seed_utxo, owned, chain.snapshot()):
        done(6, f"registered {len(specs)} allocations ({BENEFICIARIES} beneficiaries x {len(MILESTONES)} "
             f"milestones) at {dep.allocation_address}", reg, chain.submit(reg, owner.signing_key))
    message = certificate_message(dep.policy_id, MILESTONES[0])
    signatures = {k.to_verification_key().payload: k.sign(message) for k in oracles[:QUORUM]}
    cert = T.certify(dep, MILESTONES[0], signatures, chain.utxos(payer.address), chain.snapshot(), chain.evaluate)
    done(7, f"certified milestone {MILESTONES[0].decode()} with {QUORUM} of {ORACLES} oracle signatures",
         cert, chain.submit(cert, payer.signing_key), f", {cert.memory:,} memory units")
    certificates = R.certificates_at(dep, chain.utxos(dep.certificate_address))
    snap = chain.snapshot()
    ahead = ChainSnapshot(snap.params, snap.network, snap.first_slot_at_or_after(vesting_ms),
                          snap.system_start_ms, snap.slot_length_ms)  # a submitter whose clock runs ahead
    [early] = R.release(dep, chain.utxos(dep.allocation_address), certificates, chain.utxos(payer.address),
                        ahead, chain.evaluate)
    try:
        chain.submit(early, payer.signing_key)
        raise RuntimeError("the devnet accepted a release before the vesting time")
    except LedgerRejection as exc:
        reason = f"code {exc.ogmios_code}: {exc.message}"
    say(f"[8/{STEPS}] release before vesting time (chain tip at slot {snap.slot}) refused by the ledger: "
        f"{reason}.  Three slots are in play: the tip ({snap.slot}), the slot of the next block, where the "
        f"ledger checks the transaction, and the release's validity interval, which starts at "
        f"{early.body.validity_start}, the first slot at or after the vesting time (the builder was given a "
        f"clock running ahead).  A transaction is not valid before its lower bound, so no token moves before "
        f"the vesting time.")
    control(running.guard, "devnet/advance", {"posixMs": vesting_ms + 1_000})
    tip = control(running.guard, "devnet/tick", {})["tip"]
    say(f"[9/{STEPS}] advanced the devnet clock past the vesting time: tip slot {tip['slot']}")
    before = {str(b): _tokens(chain.utxos(b), dep) for b in bens}
    [release] = R.release(dep, chain.utxos(dep.allocation_address), certificates, chain.utxos(payer.address),
                          chain.snapshot(), chain.evaluate)
    released = len(release.body.outputs) - 1  # one output per pot entry, then the change
    done(10, f"released {released} allocations of milestone {MILESTONES[0].decode()} in one batch", release,
         chain.submit(release, payer.signing_key), f", {_ada(release.fee // released)} per release")
    wrong = []
    for i, b in enumerate(bens):
        got = _tokens(chain.utxos(b), dep) - before[str(b)]
        want = sum(s.amount for s in specs if s.beneficiary == b and s.milestone_id == MILESTONES[0])
        say(f"        beneficiary {i + 1} {str(b)[:24]}... received {got} {TOKEN.decode()} (expected {want})")
        if got != want:
            wrong.append(str(b))
    locked = sum(len(p.entries) for p in R.decode_pots(dep, chain.utxos(dep.allocation_address))[0])
    if wrong:
        raise RuntimeError(f"beneficiaries with the wrong balance: {wrong}")
    say(f"[11/{STEPS}] balances checked: every beneficiary holds exactly its {MILESTONES[0].decode()} tokens; "
        f"{locked} allocations of milestone {MILESTONES[1].decode()} stay locked until it is certified")
    return {"transactions": len(fees), "fees": sum(fees), "released": released,
            "per_release": release.fee // released, "locked": locked, "release_tx": release.tx_id,
            "refusal": reason}


def _tokens(utxos: list[Any], dep: Any) -> int:
    from pycardano import AssetName, ScriptHash

    policy, name = ScriptHash(dep.params.token_policy), AssetName(dep.params.token_name)
    return sum(u.output.amount.multi_asset.get(policy, {}).get(name, 0) for u in utxos)
