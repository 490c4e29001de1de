"""On-ledger schedule world for the attack suite: every transaction built by hand, submitted
through the FULL devnet ledger (phase 1 + phase 2, mainnet epoch-616 parameters).

Why by hand: the project's builder refuses to build the attacks.  Transactions are
:class:`attack_tx.Draft` parts made real by :class:`attack_tx.Kit`; the functions here
(:func:`certify`, :func:`release`, :func:`reclaim`) return the HONEST draft, with keywords
that replace one part, and a test edits one field more to make the attack.

The world (:func:`build_world`) is made of real transactions too: token mint through the
faucet, deploy + register (spends the schedule's one-shot seed, three reference scripts
at the certificate address where nothing can spend them, one pot per milestone with one
entry per beneficiary), the batch validator's stake registration (Conway certificate,
so the batch script runs with its publish redeemer), and certificates minted with real
ed25519 oracle signatures over the canonical message.  Every setup transaction spends
real tokens (the payer holds some, minted by the faucet): nothing relies on the ledger
accepting a negative output.
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

import pycardano as pc
from pycardano import TransactionInput as Ref

from runner.contract.blueprint import (
    Blueprint,
    ScheduleParameters,
    ScheduleScripts,
    SeedRef,
    load_blueprint,
    schedule_scripts,
)
from runner.contract.datums import (
    CertificateDatum,
    Forward,
    NoOutputDatum,
    PotDatum,
    PotEntry,
    Release,
    certificate_datum,
    certificate_message,
    entry_key,
    from_plutus_address,
    to_plutus_address,
)
from runner.devnet import FAUCET, Ledger, faucet_policy_id
from runner.devnet.ledger import min_utxo
from runner.testing.attack_tx import NETWORK, Draft, Kit

sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))

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


# ------------------------------------------------------------------------------ world


@dataclass(frozen=True)
class Allocation:
    """One entry of a pot (``ref`` is the pot's UTxO)."""

    ref: Ref
    beneficiary: pc.Address
    amount: int
    milestone: bytes
    vesting_ms: int


def pot_datum(entries: Sequence[tuple[pc.Address, int]], milestone: bytes, vesting_ms: int,
              payout: object = None) -> PotDatum:
    made = sorted((PotEntry(to_plutus_address(a), n) for a, n in entries), key=lambda e: entry_key(e.beneficiary))
    return PotDatum(milestone, vesting_ms, made, payout or NoOutputDatum())


@dataclass
class Schedule:
    """One deployed schedule on the ledger."""

    label: str
    params: ScheduleParameters
    scripts: ScheduleScripts
    script_refs: dict[str, Ref]  # "certificate_policy" | "batch_release" | "spend_forwarder"
    allocations: list[Allocation] = field(default_factory=list)
    certificates: dict[bytes, Ref] = field(default_factory=dict)
    pots: dict[Ref, PotDatum] = field(default_factory=dict)

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

    def pot(self, milestone: bytes) -> Ref:
        return next(a.ref for a in self.allocations if a.milestone == milestone)


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

    def lock(self, address: pc.Address, value: pc.Value, datum: object = None) -> Ref:
        """Send ``value`` (real tokens from the payer's token UTxO) to ``address`` with ``datum``."""
        inputs = self.kit.payer_utxos()[:1] + self.token_utxos()
        tx = self.kit.finish(Draft(inputs=inputs, outputs=[pc.TransactionOutput(address, value, datum=datum)],
                                   signers=[self.kit.payer]))
        self.kit.submit(tx)
        return Ref(tx.id, 0)

    def token_utxos(self) -> list[Ref]:
        return [r for r, o in self.ledger.utxos_at(self.kit.payer_address) if o.amount.multi_asset]

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
    groups: dict[tuple[bytes, int], list[tuple[pc.Address, int]]] = {}
    for b, milestone, amount, vesting in layout:
        groups.setdefault((milestone, vesting), []).append((beneficiary(b), amount))
    datums = [pot_datum(entries, m, v) for (m, v), entries in groups.items()]
    locked = []
    for d in datums:
        value = world_tokens(sum(e.amount for e in d.entries))
        value.coin = ALLOCATION_LOVELACE * len(d.entries)
        locked.append(pc.TransactionOutput(allocation_address, value, datum=d))
    refs = {}
    for name, holder in zip(names, holders):  # one deploy tx per script (a traced build is bigger)
        deploy = kit.finish(Draft(inputs=kit.payer_utxos()[:1], outputs=[holder], signers=[kit.payer]))
        kit.submit(deploy)
        refs[name] = Ref(deploy.id, 0)
    tx = kit.finish(Draft(inputs=[seed], outputs=locked, signers=[owner], change_address=owner_address))
    kit.submit(tx)  # register: spends the one-shot seed
    schedule = Schedule(label, params, scripts, refs)
    for i, d in enumerate(datums):
        ref = Ref(tx.id, i)
        schedule.pots[ref] = d
        for e in d.entries:
            schedule.allocations.append(Allocation(ref, from_plutus_address(e.beneficiary, NETWORK), e.amount,
                                                   d.milestone_id, d.vesting_time))
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


def payments(world: World, datum: PotDatum, lovelace: int = ALLOCATION_LOVELACE) -> list[pc.TransactionOutput]:
    """The honest release outputs of a pot (its entries' order, no datum)."""
    return [pc.TransactionOutput(from_plutus_address(e.beneficiary, NETWORK), world.tokens(e.amount, lovelace))
            for e in datum.entries]


def release(world: World, allocations: Sequence[Allocation | Ref], *, schedule: Schedule | None = None,
            outputs: list[pc.TransactionOutput] | None = None, certificates: Sequence[bytes] | None = None,
            validity_start: int | None = -1) -> Draft:
    """Honest release of the pots holding ``allocations`` (entries or pot refs), ordered as
    the ledger orders inputs: each pot's entries paid by consecutive outputs with their
    tokens and the pot's ADA, certificates of the milestones as reference inputs, the batch
    run as a zero withdrawal, lower bound = now.  Keywords replace one part."""
    s = schedule or world.schedule
    refs = sorted({a.ref if isinstance(a, Allocation) else a for a in allocations},
                  key=lambda r: (r.transaction_id.payload, r.index))
    datums = [s.pots[r] for r in refs]
    if outputs is None:
        outputs = [o for d in datums for o in payments(world, d)]
    milestones = certificates if certificates is not None else sorted({d.milestone_id for d in datums})
    cert_refs = [s.certificates[m] for m in milestones]
    return Draft(  # the payer's token UTxO too: an attack that pays more than a pot holds uses real tokens
        inputs=list(refs) + world.kit.payer_utxos()[:1] + world.token_utxos(),
        outputs=outputs,
        reference_inputs=[s.script_refs["spend_forwarder"], s.script_refs["batch_release"], *cert_refs],
        withdrawals={s.reward_account: 0},
        withdraws={s.reward_account: Release()},
        spend={r: Forward() for r in refs},
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
    ledger.fund(kit.payer_address, 100_000_000, {TOKEN_NAME: 10**9})  # real tokens for forged pots
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
    first = pot_datum([(beneficiary(b), a) for b, m, a, _ in layout if m == MILESTONES[0]], MILESTONES[0],
                      vesting_ms).entries[0]  # the other schedule's only entry = main's first m1 entry
    first_b = next(b for b in range(N_BENEFICIARIES) if to_plutus_address(beneficiary(b)) == first.beneficiary)
    other = _deploy_and_register(kit, owner, "other", oracles, token_policy, expiry_ms,
                                 [(first_b, MILESTONES[0], first.amount, vesting_ms)], tokens)
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
    "payments",
    "pot_datum",
    "reclaim",
    "release",
    "restore",
]
