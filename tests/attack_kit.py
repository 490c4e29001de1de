"""On-ledger schedule world for the attack suite: every transaction built by hand, submitted
through the FULL devnet ledger (phase 1 + phase 2, mainnet epoch-616 parameters).

Why by hand: the project's builder refuses to build the attacks.  A :class:`Draft` is a
transaction's parts (inputs, reference inputs, outputs, mint, withdrawals, certificates,
interval, signers, redeemers keyed by what they unlock); :func:`finish` turns it into a
real transaction: change to the fee payer, redeemer ex units measured by
``ledger.evaluate`` (a failing script gets a generous budget so that it fails on its own
logic, not on its budget), script-data hash by pycardano's ``script_data_hash``, the
exact Conway minimum fee (size, ex units, reference-script bytes), vkey signatures.
A test edits one field of an honest draft and submits.

The world (:func:`build_world`) is made of real transactions too: token mint through the
faucet, deploy + register (spends the schedule's one-shot seed, three reference scripts
at the certificate address where nothing can spend them, one allocation UTxO per
beneficiary x milestone), the batch validator's stake registration (Conway certificate,
so the batch script runs with its publish redeemer), and certificates minted with real
ed25519 oracle signatures over the canonical message.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pycardano as pc
import pytest
from pycardano import ExecutionUnits as Units
from pycardano import TransactionInput as Ref
from pycardano.utils import script_data_hash

from runner.chain.devnet.genesis import FAUCET, faucet_policy_id
from runner.chain.devnet.ledger import Ledger
from runner.chain.devnet.ledger_fees import min_fee, min_utxo
from runner.contract.blueprint import (
    Blueprint,
    ScheduleParameters,
    ScheduleScripts,
    SeedRef,
    load_blueprint,
    schedule_scripts,
)
from runner.contract.datums import (
    AllocationDatum,
    CertificateDatum,
    Forward,
    Release,
    certificate_datum,
    certificate_message,
    to_plutus_address,
)
from runner.errors import LedgerRejection

sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))

NETWORK = pc.Network.TESTNET
TOKEN_NAME = b"GRANT"
ALLOCATION_LOVELACE = 3_000_000  # above min-UTxO, so the "leftover ADA" rule has something to protect
CERT_LOVELACE = 2_000_000
MILESTONES = (b"m1", b"m2", b"m3", b"m4")  # certified, vested
LATE = b"late"  # certified, vesting far in the future
UNCERTIFIED = b"uncertified"  # vested, never certified
N_BENEFICIARIES = 5



def key(name: str) -> pc.PaymentSigningKey:
    """A deterministic test key (never printed)."""
    return pc.PaymentSigningKey(hashlib.sha256(b"attack kit key " + name.encode()).digest())


def key_hash(sk: pc.PaymentSigningKey) -> bytes:
    return bytes(sk.to_verification_key().hash())


def address(pay: str, stake: str | None = None) -> pc.Address:
    staking = key(stake).to_verification_key().hash() if stake else None
    return pc.Address(key(pay).to_verification_key().hash(), staking, network=NETWORK)


def beneficiary(i: int) -> pc.Address:
    """Even beneficiaries have a stake credential, odd ones none."""
    return address(f"beneficiary {i}", f"beneficiary stake {i}" if i % 2 == 0 else None)


# ------------------------------------------------------------------------------ drafts


@dataclass
class Draft:
    """A transaction's parts; redeemers are keyed by what they unlock (an input, a policy
    id, a reward account, a certificate position), so their indexes are always right."""

    inputs: list[Ref]
    outputs: list[pc.TransactionOutput] = field(default_factory=list)
    reference_inputs: list[Ref] = field(default_factory=list)
    mint: pc.MultiAsset | None = None
    withdrawals: dict[bytes, int] = field(default_factory=dict)
    certificates: list[Any] = field(default_factory=list)
    deposits: int = 0
    validity_start: int | None = None
    ttl: int | None = None
    required_signers: list[bytes] = field(default_factory=list)
    signers: list[pc.SigningKey] = field(default_factory=list)
    spend: dict[Ref, Any] = field(default_factory=dict)
    mints: dict[bytes, Any] = field(default_factory=dict)
    withdraws: dict[bytes, Any] = field(default_factory=dict)
    publish: dict[int, Any] = field(default_factory=dict)
    change_address: pc.Address | None = None
    collateral: list[Ref] = field(default_factory=list)


def _redeemers(d: Draft, units: dict[tuple[int, int], Units]) -> list[pc.Redeemer]:
    inputs = sorted(d.inputs, key=lambda r: (r.transaction_id.payload, r.index))
    policies = sorted(d.mints)
    accounts = sorted(d.withdrawals, key=lambda a: (0 if a[0] & 0x10 else 1, a[1:]))
    wanted: list[tuple[pc.RedeemerTag, int, Any]] = []
    wanted += [(pc.RedeemerTag.SPEND, inputs.index(r), v) for r, v in d.spend.items() if r in inputs]
    wanted += [(pc.RedeemerTag.MINT, policies.index(p), v) for p, v in d.mints.items()]
    wanted += [(pc.RedeemerTag.CERTIFICATE, i, v) for i, v in d.publish.items()]
    wanted += [(pc.RedeemerTag.WITHDRAWAL, accounts.index(a), v) for a, v in d.withdraws.items() if a in accounts]
    out = []
    for tag, index, data in sorted(wanted, key=lambda w: (w[0].value, w[1])):
        r = pc.Redeemer(data, units.get((tag.value, index), Units(0, 0)))
        r.tag, r.index = tag, index
        out.append(r)
    return out


_TAGS = {"spend": 0, "mint": 1, "publish": 2, "withdraw": 3}


class Kit:
    """Assembles drafts against one ledger and submits them."""

    def __init__(self, ledger: Ledger, payer: pc.SigningKey) -> None:
        self.ledger = ledger
        self.params = ledger.params
        self.payer = payer
        self.payer_address = pc.Address(payer.to_verification_key().hash(), network=NETWORK)
        self._seen: dict[Ref, pc.TransactionOutput] = {}
        v3 = {f"{i:03d}": x for i, x in enumerate(self.params.cost_model("PlutusV3"))}
        self.cost_models = pc.CostModels({2: v3})

    def payer_utxos(self) -> list[Ref]:
        found = [(r, o) for r, o in self.ledger.utxos_at(self.payer_address) if not o.amount.multi_asset]
        return [r for r, _ in sorted(found, key=lambda ro: -ro[1].amount.coin)]

    def resolve(self, ref: Ref) -> pc.TransactionOutput:
        """The output ``ref`` points to, even once spent (to build a replay of a spend)."""
        if ref in self.ledger.utxo:
            self._seen[ref] = self.ledger.utxo[ref]
        return self._seen[ref]

    def _assemble(self, d: Draft, fee: int, units: dict[tuple[int, int], Units]) -> pc.Transaction:
        total = pc.Value(sum(d.withdrawals.values()) - d.deposits - fee, d.mint or pc.MultiAsset())
        for ref in d.inputs:
            total = total + self.resolve(ref).amount
        for out in d.outputs:
            total = total - out.amount
        outputs = list(d.outputs)
        if total.coin or total.multi_asset:
            outputs.append(pc.TransactionOutput(d.change_address or self.payer_address, total))
        redeemers = _redeemers(d, units)
        body = pc.TransactionBody(
            inputs=list(d.inputs), outputs=outputs, fee=fee, ttl=d.ttl, validity_start=d.validity_start,
            mint=d.mint or None, certificates=list(d.certificates) or None,
            withdraws=pc.Withdrawals(dict(d.withdrawals)) if d.withdrawals else None,
            reference_inputs=list(d.reference_inputs) or None,
            required_signers=[pc.VerificationKeyHash(h) for h in d.required_signers] or None,
            collateral=(list(d.collateral) or self.payer_utxos()[-1:]) if redeemers else None,
        )
        if redeemers:
            body.script_data_hash = script_data_hash(redeemers, None, self.cost_models)
        digest = body.hash()
        vkeys = [pc.VerificationKeyWitness(k.to_verification_key(), k.sign(digest)) for k in d.signers]
        witness = pc.TransactionWitnessSet(vkey_witnesses=vkeys or None, redeemer=redeemers or None)
        return pc.Transaction(body, witness)

    def _reference_script_bytes(self, d: Draft) -> int:
        outs = [self.ledger.utxo[r] for r in [*d.inputs, *d.reference_inputs] if r in self.ledger.utxo]
        return sum(len(o.script) for o in outs if isinstance(o.script, pc.PlutusV3Script))

    def _measure(self, tx: pc.Transaction) -> dict[tuple[int, int], Units]:
        """Exact units of passing scripts; what is left of the tx budget for failing ones."""
        try:
            results = self.ledger.evaluate(tx)
        except LedgerRejection:
            return {}
        ok = [r for r in results if r.ok]
        failed = [r for r in results if not r.ok]
        units = {(_TAGS[r.tag], r.index): Units(r.memory, r.cpu) for r in ok}
        if failed:
            mem = (self.params.max_tx_ex_mem - sum(r.memory for r in ok)) // len(failed)
            steps = (self.params.max_tx_ex_steps - sum(r.cpu for r in ok)) // len(failed)
            units |= {(_TAGS[r.tag], r.index): Units(mem, steps) for r in failed}
        return units

    def finish(self, d: Draft, *, fee: int | None = None) -> pc.Transaction:
        """The signed transaction at the exact minimum fee (or ``fee`` if given)."""
        units: dict[tuple[int, int], Units] = {}
        current = 0
        ref_bytes = self._reference_script_bytes(d)
        for _ in range(6):
            tx = self._assemble(d, current if fee is None else fee, units)
            measured = self._measure(tx)
            if measured != units:
                units = measured
                continue
            mem = sum(u.mem for u in units.values())
            steps = sum(u.steps for u in units.values())
            needed = min_fee(self.params, len(tx.to_cbor()), mem, steps, ref_bytes)
            if fee is not None or needed == current:
                return tx
            current = needed
        raise AssertionError("fee and ex units did not converge")

    def submit(self, tx: pc.Transaction) -> str:
        """Submit through phase 1 and phase 2; returns the tx id or raises LedgerRejection."""
        return self.ledger.submit(tx)

    def run(self, d: Draft) -> str:
        return self.submit(self.finish(d))

    def rejected(self, tx: pc.Transaction, code: int, purpose: str | None = None,
                 trace: str | None = None) -> LedgerRejection:
        """Expect a rejection with ``code`` (and for 3010 the failing validator's purpose and,
        when the script kept traces, the message: the committed build has none, so the
        twin, which differs in one rule only, is what pins the cause; see
        ``ATTACK_BLUEPRINT=traced``); the UTxO set and tip are unchanged."""
        before_utxo, before_tip = dict(self.ledger.utxo), self.ledger.tip
        with pytest.raises(LedgerRejection) as info:
            self.ledger.submit(tx)
        err = info.value
        assert err.ogmios_code == code, f"expected {code}, got {err.ogmios_code}: {err}"
        if purpose is not None:
            purposes = [f["validator"]["purpose"] for f in err.data]
            assert purpose in purposes, f"expected the {purpose} validator to fail, failures: {err.data}"
        if trace is not None:
            traces = [t for f in err.data for t in f["error"]["data"]["traces"]]
            if traces:
                assert any(trace in t for t in traces), f"expected trace {trace!r}: {traces}"
        assert dict(self.ledger.utxo) == before_utxo and self.ledger.tip == before_tip
        return err

    def accepted(self, tx: pc.Transaction) -> str:
        tx_id = self.ledger.submit(tx)
        assert self.ledger.has_transaction(tx_id)
        for i, out in enumerate(tx.transaction_body.outputs):
            stored = self.ledger.utxo[pc.TransactionInput(tx.id, i)]
            assert stored.to_cbor() == out.to_cbor(), f"output #{i} differs on the ledger: {stored}"
        return tx_id


# ------------------------------------------------------------------------------ world


@dataclass(frozen=True)
class Allocation:
    ref: Ref
    beneficiary: pc.Address
    amount: int
    milestone: bytes
    vesting_ms: int


@dataclass
class Schedule:
    """One deployed schedule on the ledger."""

    label: str
    params: ScheduleParameters
    scripts: ScheduleScripts
    script_refs: dict[str, Ref]  # "certificate_policy" | "batch_release" | "spend_forwarder"
    allocations: list[Allocation] = field(default_factory=list)
    certificates: dict[bytes, Ref] = field(default_factory=dict)

    @property
    def policy_id(self) -> bytes:
        return self.scripts.certificate_policy_id

    @property
    def reward_account(self) -> bytes:
        return bytes(self.scripts.batch_reward_address(NETWORK).to_primitive())

    @property
    def allocation_address(self) -> pc.Address:
        return self.scripts.allocation_address(NETWORK)

    @property
    def certificate_address(self) -> pc.Address:
        return self.scripts.certificate_address(NETWORK)

    def find(self, beneficiary_index: int, milestone: bytes) -> Allocation:
        target = beneficiary(beneficiary_index)
        return next(a for a in self.allocations if a.beneficiary == target and a.milestone == milestone)


@dataclass
class World:
    kit: Kit
    owner: pc.SigningKey
    oracles: list[pc.SigningKey]
    token_policy: bytes
    schedule: Schedule
    other: Schedule  # a second schedule: same owner, oracles and token, another seed
    vesting_ms: int
    late_vesting_ms: int
    expiry_ms: int
    garbage: dict[str, Ref] = field(default_factory=dict)  # UTxOs at the allocation address

    @property
    def ledger(self) -> Ledger:
        return self.kit.ledger

    def tokens(self, amount: int, lovelace: int = ALLOCATION_LOVELACE) -> pc.Value:
        return pc.Value(lovelace, pc.MultiAsset.from_primitive({self.token_policy: {TOKEN_NAME: amount}}))

    def now_slot(self) -> int:
        return self.ledger.current_slot

    def slot_of(self, posix_ms: int) -> int:
        return self.ledger.slot_config.posix_ms_to_slot(posix_ms)

    def sign_certificate(self, milestone: bytes, signers: Sequence[int], *, schedule: Schedule | None = None,
                         message_for: tuple[bytes, bytes] | None = None) -> CertificateDatum:
        """Oracle signatures over the canonical message (or over ``message_for`` =
        (policy id, milestone) to forge one for another schedule or milestone)."""
        s = schedule or self.schedule
        policy, signed = message_for or (s.policy_id, milestone)
        message = certificate_message(policy, signed)
        sigs = {self.oracles[i].to_verification_key().payload: self.oracles[i].sign(message) for i in signers}
        return certificate_datum(milestone, sigs, s.params.oracles)


@functools.lru_cache(maxsize=2)
def _fresh_blueprint(traced: bool) -> Blueprint:
    """A blueprint built now from the ``onchain/`` working tree, for diagnostic runs:
    ``ATTACK_BLUEPRINT=fresh`` attacks the sources being edited (before plutus.json is
    rebuilt); ``ATTACK_BLUEPRINT=traced`` also keeps OpShin's traces, so each refusal must
    show the validator's own message (hand-written UPLC scripts have none).  The default
    attacks the committed plutus.json."""
    from opshin.compiler_config import CompilationConfig

    from runner.contract import build

    committed = build.COMPILER_CONFIG
    if traced:
        build.COMPILER_CONFIG = committed.update(CompilationConfig(remove_trace=False))
    try:
        fresh = build._build_blueprint.__wrapped__(f"attack-{traced}")  # bypass the build's memo
    finally:
        build.COMPILER_CONFIG = committed
    folder = Path(tempfile.mkdtemp(prefix="attack-blueprint-"))
    (folder / "plutus.json").write_text(build.render(fresh))
    return load_blueprint(folder / "plutus.json")


def _scripts(params: ScheduleParameters) -> ScheduleScripts:
    mode = os.environ.get("ATTACK_BLUEPRINT", "committed")
    if mode not in ("committed", "fresh", "traced"):
        raise ValueError(f"ATTACK_BLUEPRINT={mode!r}: use committed (default), fresh or traced")
    return schedule_scripts(params, None if mode == "committed" else _fresh_blueprint(mode == "traced"))


def _deploy_and_register(kit: Kit, owner: pc.SigningKey, label: str, oracles: list[pc.SigningKey],
                         token_policy: bytes, expiry_ms: int, layout: list[tuple[int, bytes, int, int]],
                         world_tokens: Callable[[int], pc.Value]) -> Schedule:
    ledger = kit.ledger
    owner_address = pc.Address(owner.to_verification_key().hash(), network=NETWORK)
    total = sum(amount for _, _, amount, _ in layout)
    seed = ledger.fund(owner_address, 200_000_000, {TOKEN_NAME: total})
    params = ScheduleParameters(
        seed=SeedRef(seed.transaction_id.payload, seed.index), owner=key_hash(owner),
        oracles=tuple(key_hash(k) for k in oracles), quorum=3, expiry_ms=expiry_ms,
        token_policy=token_policy, token_name=TOKEN_NAME,
    )
    scripts = _scripts(params)
    home = scripts.certificate_address(NETWORK)  # the certificate policy refuses every spend
    names = ["certificate_policy", "batch_release", "spend_forwarder"]
    holders = [pc.TransactionOutput(home, 0, script=getattr(scripts, n)) for n in names]
    for h in holders:
        h.amount = pc.Value((160 + len(h.to_cbor()) + 20) * kit.params.coins_per_utxo_byte)
    allocation_address = scripts.allocation_address(NETWORK)
    locked = []
    for b, milestone, amount, vesting in layout:
        datum = AllocationDatum(to_plutus_address(beneficiary(b)), amount, milestone, vesting)
        locked.append(pc.TransactionOutput(allocation_address, world_tokens(amount), datum=datum))
    refs = {}
    for name, holder in zip(names, holders):  # one deploy tx per script (a traced build is bigger)
        deploy = kit.finish(Draft(inputs=kit.payer_utxos()[:1], outputs=[holder], signers=[kit.payer]))
        kit.submit(deploy)
        refs[name] = Ref(deploy.id, 0)
    tx = kit.finish(Draft(inputs=[seed], outputs=locked, signers=[owner], change_address=owner_address))
    kit.submit(tx)  # register: spends the one-shot seed
    schedule = Schedule(label, params, scripts, refs)
    for i, (b, milestone, amount, vesting) in enumerate(layout):
        schedule.allocations.append(Allocation(Ref(tx.id, i), beneficiary(b), amount, milestone, vesting))
    # the batch validator's stake credential: Conway registration, the script runs (publish)
    cert = pc.StakeRegistrationConway(pc.StakeCredential(pc.ScriptHash(scripts.batch_hash)), kit.params.key_deposit)
    kit.run(Draft(inputs=kit.payer_utxos()[:1], certificates=[cert], deposits=kit.params.key_deposit,
                  reference_inputs=[refs["batch_release"]], publish={0: Release()}, signers=[kit.payer]))
    return schedule


def certify(world: World, milestone: bytes, signers: Sequence[int] = (0, 1, 2), *,
            schedule: Schedule | None = None, datum: CertificateDatum | None = None) -> Draft:
    """Honest certificate mint: quorum signatures, one token, locked at the certificate
    address with the signers recorded as its inline datum."""
    s = schedule or world.schedule
    cert = datum or world.sign_certificate(milestone, signers, schedule=s)
    mint = pc.MultiAsset.from_primitive({s.policy_id: {milestone: 1}})
    out = pc.TransactionOutput(s.certificate_address, pc.Value(CERT_LOVELACE, mint), datum=cert)
    out.amount.coin = max(CERT_LOVELACE, min_utxo(world.kit.params, out) + 50_000)
    return Draft(inputs=world.kit.payer_utxos()[:1], outputs=[out], mint=mint, mints={s.policy_id: cert},
                 reference_inputs=[s.script_refs["certificate_policy"]], signers=[world.kit.payer])


def release(world: World, allocations: Sequence[Allocation], *, schedule: Schedule | None = None,
            outputs: list[pc.TransactionOutput] | None = None, certificates: Sequence[bytes] | None = None,
            validity_start: int | None = -1) -> Draft:
    """Honest release: spend the allocations (ordered as the ledger orders inputs), one
    output per consecutive group of one beneficiary with the group's tokens and ADA,
    certificates of the milestones as reference inputs, the batch run as a zero
    withdrawal, lower bound = now.  Keywords replace one part."""
    s = schedule or world.schedule
    ordered = sorted(allocations, key=lambda a: (a.ref.transaction_id.payload, a.ref.index))
    if outputs is None:
        outputs = []
        groups: list[list[Allocation]] = []
        for a in ordered:
            if groups and groups[-1][0].beneficiary == a.beneficiary:
                groups[-1].append(a)
            else:
                groups.append([a])
        for g in groups:
            outputs.append(pc.TransactionOutput(g[0].beneficiary, world.tokens(sum(a.amount for a in g),
                                                                                ALLOCATION_LOVELACE * len(g))))
    milestones = certificates if certificates is not None else sorted({a.milestone for a in ordered})
    cert_refs = [s.certificates[m] for m in milestones]
    return Draft(
        inputs=[a.ref for a in ordered] + world.kit.payer_utxos()[:1],
        outputs=outputs,
        reference_inputs=[s.script_refs["spend_forwarder"], s.script_refs["batch_release"], *cert_refs],
        withdrawals={s.reward_account: 0},
        withdraws={s.reward_account: Release()},
        spend={a.ref: Forward() for a in ordered},
        validity_start=world.now_slot() if validity_start == -1 else validity_start,
        signers=[world.kit.payer],
    )


def reclaim(world: World, refs: Sequence[Ref], *, schedule: Schedule | None = None,
            validity_start: int | None = -1, sign: bool = True) -> Draft:
    """Honest reclaim: the owner signs (required signer + witness), lower bound = now."""
    from runner.contract.datums import Reclaim

    s = schedule or world.schedule
    owner_address = pc.Address(world.owner.to_verification_key().hash(), network=NETWORK)
    return Draft(
        inputs=list(refs) + world.kit.payer_utxos()[:1],
        outputs=[pc.TransactionOutput(owner_address, sum((world.kit.resolve(r).amount for r in refs), pc.Value()))],
        reference_inputs=[s.script_refs["spend_forwarder"], s.script_refs["batch_release"]],
        withdrawals={s.reward_account: 0}, withdraws={s.reward_account: Reclaim()},
        spend={r: Forward() for r in refs},
        validity_start=world.now_slot() if validity_start == -1 else validity_start,
        required_signers=[key_hash(world.owner)] if sign else [],
        signers=[world.kit.payer, world.owner] if sign else [world.kit.payer],
    )


def build_world(ledger: Ledger, *, expiry_ms: int) -> World:
    """Deploy two schedules, lock 5 x 6 allocations in the main one, certify m1..m4 and
    ``late``, and move the clock past the vesting time of m1..m4 and uncertified."""
    kit = Kit(ledger, key("payer"))
    for _ in range(3):
        ledger.fund(kit.payer_address, 5_000_000_000)
    owner = key("owner")
    oracles = [key(f"oracle {i}") for i in range(5)]
    token_policy = bytes(faucet_policy_id(ledger.wallet(FAUCET)))
    vesting_ms = ledger.slot_config.slot_to_posix_ms(ledger.current_slot) + 60_000
    late_ms = 10**15

    def tokens(amount: int) -> pc.Value:
        return pc.Value(ALLOCATION_LOVELACE, pc.MultiAsset.from_primitive({token_policy: {TOKEN_NAME: amount}}))

    layout = [(b, m, 100 * (b + 1) + 10 * j, late_ms if m == LATE else vesting_ms)
              for j, m in enumerate((*MILESTONES, LATE, UNCERTIFIED)) for b in range(N_BENEFICIARIES)]
    main = _deploy_and_register(kit, owner, "main", oracles, token_policy, expiry_ms, layout, tokens)
    other = _deploy_and_register(kit, owner, "other", oracles, token_policy, expiry_ms,
                                 [(0, MILESTONES[0], 100, vesting_ms)], tokens)
    world = World(kit, owner, oracles, token_policy, main, other, vesting_ms, late_ms, expiry_ms)
    for m in (*MILESTONES, LATE):
        tx = kit.finish(certify(world, m))
        kit.submit(tx)
        main.certificates[m] = Ref(tx.id, 0)
    tx = kit.finish(certify(world, MILESTONES[0], schedule=other))
    kit.submit(tx)
    other.certificates[MILESTONES[0]] = Ref(tx.id, 0)
    ledger.advance_to_posix_ms(vesting_ms + 10_000)
    return world


def restore(ledger: Ledger, height: int) -> None:
    """Undo the blocks a test added (the clock stays where it is: time never goes back)."""
    extra = len(ledger.blocks) - 1 - height
    if extra > 0:
        ledger.rollback(extra, to_mempool=False)


__all__ = [
    "Allocation",
    "Draft",
    "Kit",
    "Schedule",
    "World",
    "address",
    "beneficiary",
    "build_world",
    "certify",
    "key",
    "key_hash",
    "reclaim",
    "release",
    "restore",
]
