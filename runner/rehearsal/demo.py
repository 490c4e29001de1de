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
    settle: bool = False  # wait until each submitted transaction's outputs are indexed (a real network)

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

        tx_id = str(self.context.submit_tx_cbor(sign(unsigned, keys).to_cbor()))
        if self.settle:
            self.wait_for(unsigned.produced[-1].output.address, tx_id)
        return tx_id

    def wait_for(self, address: Any, tx_id: str, timeout_s: float = 600.0) -> None:
        """Until an output of ``tx_id`` at ``address`` is indexed (polls every 2 s)."""
        deadline = time.monotonic() + timeout_s
        while not any(str(u.input.transaction_id) == tx_id for u in self.utxos(address)):
            if time.monotonic() > deadline:
                from runner.errors import ChainError

                raise ChainError(f"transaction {tx_id} not indexed after {timeout_s:.0f} s",
                                 hint="check that the node and Kupo follow the chain")
            time.sleep(2.0)


@dataclass
class _Party:
    """A signing key with its enterprise address (the shape of the devnet's wallets)."""

    signing_key: Any

    @property
    def address(self) -> Any:
        return _address(self.signing_key)

    @property
    def verification_key(self) -> Any:
        return self.signing_key.to_verification_key()


def demo_key(seed: str, name: str) -> Any:
    from pycardano import PaymentSigningKey

    return PaymentSigningKey(hashlib.sha256(f"milestones demo {seed} {name}".encode()).digest())


def _address(key: Any, stake: Any = None) -> Any:
    from pycardano import Address, Network

    staking = stake.to_verification_key().hash() if stake is not None else None
    return Address(key.to_verification_key().hash(), staking, network=Network.TESTNET)


def _ada(lovelace: int) -> str:
    return f"{lovelace / 1e6:.6f} ADA"


@dataclass
class Rig:
    """What differs between the throwaway devnet and an external Ogmios/Kupo: who pays, where
    the token comes from, how time passes."""

    owner: Any  # PaymentSigningKey
    payer: Any
    token_policy: bytes
    fund: Callable[[int], Any]  # tokens -> the owner's seed UTxO ref (holding them); ADA for both
    advance_to: Callable[[int], int]  # POSIX ms -> the tip slot once the chain is past it


def run_demo(seed: str, say: Callable[[str], None], *, ogmios_url: str | None = None,
             kupo_url: str | None = None) -> dict[str, Any]:
    """Run the rehearsal, reporting each step with ``say``; returns what happened.

    With ``ogmios_url`` and ``kupo_url`` (the CLI also reads OGMIOS_URL / KUPO_URL) it
    rehearses against that Ogmios/Kupo instead of a throwaway devnet: a ``milestones devnet
    up`` elsewhere (funded and moved in time through its ``devnet/...`` methods) or a test
    network such as preview (the owner and payer addresses, derived from the seed, must be
    funded first; the demo mints its own test token and waits for the vesting time)."""
    from runner.chain.ogmios_kupo import OgmiosKupoBackend
    from runner.chain.pycardano_context import OgmiosKupoContext
    from runner.devnet import FAUCET, Ledger, faucet_policy_id, serving
    from runner.devnet.servers.ogmios.control import control

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    logging.getLogger("PyCardano").setLevel(logging.ERROR)
    started = time.perf_counter()
    if (ogmios_url is None) != (kupo_url is None):
        from runner.errors import UserInputError

        raise UserInputError("an external rehearsal needs both an Ogmios and a Kupo URL",
                             location="--ogmios-url/--kupo-url", hint="give both (or OGMIOS_URL and KUPO_URL)")
    if ogmios_url is not None and kupo_url is not None:
        with OgmiosKupoBackend.connect(ogmios_url, kupo_url) as backend:
            chain = Chain(backend, OgmiosKupoContext(backend), settle=True)
            say(f"[1/{STEPS}] rehearsing against Ogmios {ogmios_url} and Kupo {kupo_url} (seed {seed!r})")
            rig = external_rig(seed, chain, ogmios_url, say)
            say(f"[2/{STEPS}] owner {_address(rig.owner)}, payer {_address(rig.payer)}; demo token policy "
                f"{rig.token_policy.hex()}")
            result = _rehearse(seed, rig, chain, say)
            tip = backend.tip()
    else:
        ledger = Ledger.create(seed=seed, wallets=("owner", "payer"))
        say(f"[1/{STEPS}] devnet ledger created (seed {seed!r}), mainnet epoch-616 protocol parameters")
        with serving(ledger) as running, OgmiosKupoBackend.connect(running.ogmios_url, running.kupo_url) as backend:
            chain = Chain(backend, OgmiosKupoContext(backend))
            say(f"[2/{STEPS}] serving Ogmios on {running.ogmios_url} and Kupo on {running.kupo_url}; "
                f"the rest goes through the project's OgmiosKupoBackend")
            result = _rehearse(seed, _embedded_rig(ledger, running, control,
                                                   bytes(faucet_policy_id(ledger.wallet(FAUCET)))), chain, say)
            tip = running.guard.read(lambda lg: lg.tip)
    elapsed = time.perf_counter() - started
    say(f"summary: {result['transactions']} transactions, fees {_ada(result['fees'])}, "
        f"{result['released']} allocations released in one batch at {_ada(result['per_release'])} each, "
        f"{result['locked']} still locked (uncertified); tip slot {tip.slot}, height {tip.height} "
        f"({elapsed:.1f} s)")
    return result | {"tip_slot": tip.slot, "tip_height": tip.height}


def _embedded_rig(ledger: Any, running: Any, control: Any, token_policy: bytes) -> Rig:
    owner, payer = ledger.wallet("owner").signing_key, ledger.wallet("payer").signing_key

    def fund(total: int) -> Any:
        seed_ref = running.guard.write(lambda lg: lg.fund(_address(owner), 100_000_000, {TOKEN: total}))
        running.guard.write(lambda lg: lg.fund(_address(owner), 20_000_000))
        running.guard.write(lambda lg: lg.fund(_address(payer), 200_000_000))
        return seed_ref

    def advance_to(posix_ms: int) -> int:
        control(running.guard, "devnet/advance", {"posixMs": posix_ms})
        return int(control(running.guard, "devnet/tick", {})["tip"]["slot"])

    return Rig(owner, payer, token_policy, fund, advance_to)


#: What an external rehearsal needs at the owner's and the payer's address (lovelace).
EXTERNAL_OWNER_LOVELACE, EXTERNAL_PAYER_LOVELACE = 130_000_000, 210_000_000


def external_rig(seed: str, chain: Chain, ogmios_url: str, say: Callable[[str], None]) -> Rig:
    """Against any Ogmios/Kupo: ``devnet/...`` methods when the far end is a ``milestones
    devnet up`` (funding, time travel), else pre-funded addresses and real waiting.  The
    demo's token is minted by the owner under a native-script policy (the owner's key)."""
    from pycardano import Network, ScriptPubkey

    from runner.chain.ogmios import WebSocketJsonRpc
    from runner.errors import UserInputError

    if chain.context.network == Network.MAINNET:
        raise UserInputError("the demo refuses to run on mainnet", location="--ogmios-url",
                             hint="rehearse on a devnet or a test network (preview, preprod)")
    owner, payer = demo_key(seed, "owner"), demo_key(seed, "payer")
    policy_script = ScriptPubkey(owner.to_verification_key().hash())
    rpc = WebSocketJsonRpc(ogmios_url)
    try:
        answer = rpc.call("devnet/status", None)
        devnet = isinstance(answer, dict) and "error" not in answer
    except Exception:  # noqa: BLE001  # any refusal: not a milestones devnet, no controls
        devnet = False
    say(f"        {'a milestones devnet: funded and moved in time through its devnet/... methods' if devnet else 'no devnet controls: the addresses must be funded, the demo waits for real time'}")

    def balance(address: Any) -> int:
        return sum(u.output.amount.coin for u in chain.utxos(address))

    def fund(total: int) -> Any:
        if devnet:
            for address, lovelace in ((_address(owner), EXTERNAL_OWNER_LOVELACE),
                                      (_address(payer), EXTERNAL_PAYER_LOVELACE)):
                ref = _result(rpc.call("devnet/fund", {"address": str(address), "lovelace": lovelace}))["output"]
                chain.wait_for(address, str(ref).split("#")[0])
        short = [(a, n) for a, n in ((_address(owner), EXTERNAL_OWNER_LOVELACE),
                                      (_address(payer), EXTERNAL_PAYER_LOVELACE)) if balance(a) < n]
        if short:
            raise UserInputError(
                "fund the demo's addresses first: " + "; ".join(f"{a} needs {n / 1e6:.0f} ADA" for a, n in short),
                location="--ogmios-url", hint="e.g. from the test network's faucet, then run the demo again")
        return _mint_demo_token(chain, owner, policy_script, total, say)

    def advance_to(posix_ms: int) -> int:
        if devnet:
            rpc.call("devnet/advance", {"posixMs": posix_ms})
            return int(_result(rpc.call("devnet/tick", {}))["tip"]["slot"])
        while chain.snapshot().now_ms < posix_ms:
            say(f"        waiting for the vesting time ({(posix_ms - chain.snapshot().now_ms) / 1000:.0f} s left)")
            time.sleep(min(20.0, max(1.0, (posix_ms - chain.snapshot().now_ms) / 1000)))
        return int(chain.snapshot().slot)

    return Rig(owner, payer, bytes(policy_script.hash()), fund, advance_to)


def _result(answer: Any) -> Any:
    """The ``result`` of a JSON-RPC answer (the client returns the whole envelope)."""
    return answer.get("result", answer) if isinstance(answer, dict) else answer


def _mint_demo_token(chain: Chain, owner: Any, policy_script: Any, total: int, say: Callable[[str], None]) -> Any:
    """Mint ``total`` demo tokens to the owner (one output: it becomes the schedule's seed)."""
    from pycardano import (
        Asset,
        AssetName,
        MultiAsset,
        TransactionBuilder,
        TransactionInput,
        TransactionOutput,
        Value,
    )

    address = _address(owner)
    mint = MultiAsset({policy_script.hash(): Asset({AssetName(TOKEN): total})})
    builder = TransactionBuilder(chain.context)
    builder.add_input_address(address)
    builder.mint = mint
    builder.native_scripts = [policy_script]
    builder.add_output(TransactionOutput(address, Value(100_000_000, mint)))
    tx = builder.build_and_sign([owner], change_address=address)
    tx_id = str(chain.context.submit_tx_cbor(tx.to_cbor()))
    chain.wait_for(address, tx_id)
    say(f"        minted {total} {TOKEN.decode()} under the owner's native-script policy: {tx_id}")
    return TransactionInput.from_primitive([tx_id, 0])


def _rehearse(seed: str, rig: Rig, chain: Chain, say: Callable[[str], None]) -> dict[str, Any]:
    from runner.contract import transactions as T
    from runner.contract import tx_release as R
    from runner.contract.blueprint import ScheduleParameters, SeedRef, schedule_scripts
    from runner.contract.datums import certificate_message
    from runner.contract.tx_core import ChainSnapshot
    from runner.errors import LedgerRejection

    owner, payer = _Party(rig.owner), _Party(rig.payer)
    oracles = [demo_key(seed, f"oracle {i}") for i in range(ORACLES)]
    bens = [_address(demo_key(seed, f"beneficiary {i}"), demo_key(seed, f"stake {i}") if i == 0 else None)
            for i in range(BENEFICIARIES)]
    fees: list[int] = []

    def done(step: int, what: str, tx: Any, tx_id: str, extra: str = "") -> None:
        fees.append(tx.fee)
        say(f"[{step}/{STEPS}] {what}: {tx_id} (fee {_ada(tx.fee)}, {tx.size} bytes{extra})")

    total = sum(100 * (i + 1) * (j + 1) for i in range(BENEFICIARIES) for j in range(len(MILESTONES)))
    seed_ref = rig.fund(total)
    say(f"[3/{STEPS}] the owner holds {total} {TOKEN.decode()} tokens and the payer ADA")
    now = chain.snapshot()
    vesting_ms = now.now_ms + 120_000
    params = ScheduleParameters(
        SeedRef(seed_ref.transaction_id.payload, seed_ref.index), bytes(owner.verification_key.hash()),
        tuple(bytes(k.to_verification_key().hash()) for k in oracles), QUORUM,
        now.now_ms + 24 * 3_600_000, rig.token_policy, TOKEN)
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
    tip_slot = rig.advance_to(vesting_ms + 1_000)
    say(f"[9/{STEPS}] the chain is past the vesting time: tip slot {tip_slot}")
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
