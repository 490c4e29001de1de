"""The project's transaction builder for a schedule's life cycle (pure, no network).

Steps, in order: :func:`deploy` (the three scripts as reference scripts at the
certificate address, where the certificate policy refuses every spend, so they stay
forever), :func:`register_stake` (Conway registration of the batch validator's stake
credential: a release runs it as a zero withdrawal), :func:`register_schedule` (spend
the one-shot seed, lock one pot per (milestone, vesting time) with its inline ``PotDatum``,
split into several chained transactions when one would pass the size limit),
:func:`certify` (mint a milestone certificate with M oracle signatures), then
``tx_release.release`` / ``tx_release.reclaim``.

Every function takes the chain as arguments (a :class:`ChainSnapshot`, UTxOs, an
evaluator) and returns :class:`UnsignedTx` values; the caller signs with :func:`sign`
and submits.  Fees and the ex-unit margin: see :mod:`runner.contract.tx_core`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import nacl.exceptions
import nacl.signing
import pycardano as pc

from runner.contract.blueprint import ScheduleParameters, ScheduleScripts, SeedRef
from runner.contract.datums import (
    CertificateDatum,
    PayoutDatum,
    PotDatum,
    Release,
    certificate_datum,
    certificate_message,
    from_plutus_address,
    to_plutus_address,  # noqa: F401  # re-exported for callers of the builder
)
from runner.contract.pots import layout_pots, release_output
from runner.contract.tx_core import (
    DEFAULT_TTL_SLOTS,
    EX_UNIT_MARGIN,
    ChainSnapshot,
    Draft,
    Evaluator,
    TooLarge,
    UnsignedTx,
    finish,
    sign,
)
from runner.contract.tx_values import min_lovelace
from runner.errors import UserInputError

SCRIPT_NAMES = ("certificate_policy", "batch_release", "spend_forwarder")
COLLATERAL_MIN = 5_000_000
#: Bytes kept free below the size limit when packing register outputs (inputs, fee, witnesses).
REGISTER_HEADROOM = 1_200

__all__ = [
    "EX_UNIT_MARGIN",
    "AllocationSpec",
    "ChainSnapshot",
    "Deployment",
    "UnsignedTx",
    "certify",
    "deploy",
    "register_schedule",
    "register_stake",
    "sign",
]


@dataclass(frozen=True)
class Deployment:
    """A schedule whose scripts sit on chain as reference scripts."""

    params: ScheduleParameters
    scripts: ScheduleScripts
    script_utxos: Mapping[str, pc.UTxO]  # keys: SCRIPT_NAMES
    network: pc.Network

    @property
    def policy_id(self) -> bytes:
        return self.scripts.certificate_policy_id

    @property
    def allocation_address(self) -> pc.Address:
        return self.scripts.allocation_address(self.network)

    @property
    def certificate_address(self) -> pc.Address:
        return self.scripts.certificate_address(self.network)

    @property
    def reward_account(self) -> bytes:
        return bytes(self.scripts.batch_reward_address(self.network).to_primitive())

    def tokens(self, amount: int, lovelace: int = 0) -> pc.Value:
        p = self.params
        return pc.Value(lovelace, pc.MultiAsset.from_primitive({p.token_policy: {p.token_name: amount}}))


@dataclass(frozen=True)
class AllocationSpec:
    """One allocation to lock: ``amount`` tokens for ``beneficiary`` once ``milestone_id``
    is certified and ``vesting_ms`` (POSIX milliseconds) has passed."""

    beneficiary: pc.Address
    amount: int
    milestone_id: bytes
    vesting_ms: int


@dataclass(frozen=True)
class DeployResult:
    tx: UnsignedTx
    deployment: Deployment


def pure_ada(utxos: Sequence[pc.UTxO]) -> list[pc.UTxO]:
    """ADA-only key-locked UTxOs, largest first."""
    found = [u for u in utxos if not u.output.amount.multi_asset and u.output.script is None
             and u.output.datum is None and u.output.datum_hash is None]
    return sorted(found, key=lambda u: -u.output.amount.coin)


def payer_inputs(payer: Sequence[pc.UTxO], *, exclude: Sequence[pc.TransactionInput] = ()
                 ) -> tuple[list[pc.UTxO], pc.UTxO]:
    """(fee inputs, largest first; collateral).  Collateral: the smallest ADA-only UTxO of
    at least 5 ADA (its lovelace comes back through the collateral return).  Fee inputs:
    the other key-locked UTxOs (tokens on them go back with the change), else the
    collateral itself."""
    plain = [u for u in payer if u.input not in exclude and u.output.script is None
             and u.output.datum is None and u.output.datum_hash is None]
    ada = [u for u in pure_ada(plain) if u.output.amount.coin >= COLLATERAL_MIN]
    if not ada:
        raise UserInputError("the paying address has no ADA-only UTxO of at least 5 ADA (for collateral)",
                             hint="send a few ADA (no tokens) to the paying address")
    collateral = ada[-1]
    others = sorted((u for u in plain if u.input != collateral.input and u.output.amount.coin >= COLLATERAL_MIN),
                    key=lambda u: -u.output.amount.coin)
    return (others or [collateral]), collateral


def split_payer(payer: Sequence[pc.UTxO], *, exclude: Sequence[pc.TransactionInput] = ()
                ) -> tuple[pc.UTxO, pc.UTxO]:
    """(fee input, collateral): see :func:`payer_inputs`."""
    fee_inputs, collateral = payer_inputs(payer, exclude=exclude)
    return fee_inputs[0], collateral


def deploy(params: ScheduleParameters, scripts: ScheduleScripts, payer: Sequence[pc.UTxO],
           snap: ChainSnapshot) -> DeployResult:
    """Lock the three scripts as reference scripts at the certificate address.

    The seed is never spent here (the register transaction must spend it)."""
    seed = pc.TransactionInput(pc.TransactionId(params.seed.tx_id), params.seed.index)
    home = scripts.certificate_address(snap.network)
    holders = []
    for name in SCRIPT_NAMES:
        out = pc.TransactionOutput(home, 0, script=getattr(scripts, name))
        out.amount = pc.Value(min_lovelace(snap.params, out))
        holders.append(out)
    fee_input, _ = split_payer(payer, exclude=[seed])
    d = Draft("deploy", inputs=[fee_input], outputs=holders)
    tx = finish(d, snap, None)
    utxos = {n: tx.produced[i] for i, n in enumerate(SCRIPT_NAMES)}
    return DeployResult(tx, Deployment(params, scripts, utxos, snap.network))


def register_stake(dep: Deployment, payer: Sequence[pc.UTxO], snap: ChainSnapshot,
                   evaluate: Evaluator, *, registered: bool = False) -> UnsignedTx | None:
    """Register the batch validator's stake credential (deposit: ``key_deposit``); the
    batch script runs for it (publish purpose) and accepts only this certificate.

    ``registered``: the credential is already registered (by anyone: no witness is
    needed, so a stranger may have done it first); that is success, nothing to do (None)."""
    if registered:
        return None
    fee_input, collateral = split_payer(payer)
    deposit = snap.params.key_deposit
    cert = pc.StakeRegistrationConway(pc.StakeCredential(pc.ScriptHash(dep.scripts.batch_hash)), deposit)
    d = Draft("register stake", inputs=[fee_input], certificates=[cert], deposits=deposit,
              reference_inputs=[dep.script_utxos["batch_release"]], publish={0: Release()},
              collateral=collateral)
    return finish(d, snap, evaluate)


def pot_output(dep: Deployment, datum: PotDatum, params: pc.ProtocolParameters) -> pc.TransactionOutput:
    """A pot's UTxO: its tokens (the sum of its entries) and enough ADA for every release
    output's min-UTxO (the release hands the pot's ADA to the beneficiaries)."""
    token = (dep.params.token_policy, dep.params.token_name)
    total = sum(int(e.amount) for e in datum.entries)
    payouts = 0
    for e in datum.entries:
        out = release_output(from_plutus_address(e.beneficiary, dep.network), int(e.amount), 0, token,
                             datum.payout_datum)
        payouts += min_lovelace(params, out)
    out = pc.TransactionOutput(dep.allocation_address, dep.tokens(total), datum=datum)
    out.amount.coin = max(payouts, min_lovelace(params, out))
    return out


def _chunks_by_size(outputs: list[pc.TransactionOutput], room: int) -> list[list[pc.TransactionOutput]]:
    """Pack pot outputs into chunks of at most ``room`` bytes (one pot never splits)."""
    chunks: list[list[pc.TransactionOutput]] = [[]]
    used = 0
    for out in outputs:
        size = len(out.to_cbor())
        if used + size > room and chunks[-1]:
            chunks.append([])
            used = 0
        chunks[-1].append(out)
        used += size
    return chunks


def register_schedule(dep: Deployment, allocations: Sequence[AllocationSpec], seed: pc.UTxO,
                      funding: Sequence[pc.UTxO], snap: ChainSnapshot, *,
                      payout: PayoutDatum | None = None) -> list[UnsignedTx]:
    """Lock the allocations as pots (:func:`runner.contract.pots.layout_pots`); the first
    transaction spends the seed, the next ones spend the previous one's change (submit them
    in order).  ``payout``: the datum every release output must carry (none by default)."""
    want = SeedRef(seed.input.transaction_id.payload, seed.input.index)
    if want != dep.params.seed:
        raise UserInputError(f"the seed {seed.input} is not the schedule's one-shot seed",
                             hint="register with the UTxO the schedule's parameters were made from")
    if not allocations:
        raise UserInputError("a schedule needs at least one allocation")
    token = (dep.params.token_policy, dep.params.token_name)
    pots = layout_pots(allocations, token, dep.network, payout)
    outs = [pot_output(dep, d, snap.params) for d in pots]
    chunks = _chunks_by_size(outs, snap.params.max_tx_size - REGISTER_HEADROOM)
    # fund: seed + enough of the owner's UTxOs for all tokens and ADA (fees ~0.6 ADA per tx)
    tokens_needed = sum(s.amount for s in allocations)
    coin_needed = sum(o.amount.coin for o in outs) + len(chunks) * 2_000_000
    policy, name = pc.ScriptHash(dep.params.token_policy), pc.AssetName(dep.params.token_name)
    inputs = [seed]
    have = seed.output.amount
    rest = sorted((u for u in funding if u.input != seed.input and u.output.script is None
                   and u.output.datum is None), key=lambda u: (-u.output.amount.multi_asset.get(policy, {}).get(name, 0),
                                                               -u.output.amount.coin))
    for u in rest:
        enough_tokens = have.multi_asset.get(policy, {}).get(name, 0) >= tokens_needed
        if enough_tokens and have.coin >= coin_needed:
            break
        inputs.append(u)
        have = have + u.output.amount
    change_address = seed.output.address
    txs: list[UnsignedTx] = []
    for chunk in chunks:
        try:
            tx = finish(Draft("register", inputs=inputs, outputs=chunk, change_address=change_address), snap, None)
        except TooLarge as exc:
            raise UserInputError(f"register transaction too large ({exc})",
                                 hint="fewer funding UTxOs: consolidate the owner's UTxOs first") from exc
        txs.append(tx)
        inputs = [tx.produced[-1]]  # the change carries the rest of the tokens and ADA
    return txs


def allocations_in(dep: Deployment, txs: Sequence[UnsignedTx]) -> list[pc.UTxO]:
    """The pot UTxOs the register transactions create."""
    return [u for tx in txs for u in tx.produced if u.output.address == dep.allocation_address]


pots_in = allocations_in


def verified_signatures(dep: Deployment, milestone_id: bytes, signatures: Mapping[bytes, bytes]
                        ) -> dict[bytes, bytes]:
    """The ``{vkey: signature}`` entries that are valid oracle signatures over the
    canonical message; the others are reported, never sent (the policy fails on them)."""
    message = certificate_message(dep.policy_id, milestone_id)
    good: dict[bytes, bytes] = {}
    bad: list[str] = []
    for vkey, sig in signatures.items():
        try:
            nacl.signing.VerifyKey(vkey).verify(message, sig)
        except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
            bad.append(pc.VerificationKey(vkey).hash().payload.hex() if len(vkey) == 32 else repr(vkey))
            continue
        if bytes(pc.VerificationKey(vkey).hash()) in dep.params.oracles:
            good[vkey] = sig
        else:
            bad.append(f"{pc.VerificationKey(vkey).hash()} (not an oracle)")
    if len(good) < dep.params.quorum:
        raise UserInputError(
            f"milestone {milestone_id!r}: {len(good)} valid oracle signatures, the quorum is "
            f"{dep.params.quorum}" + (f"; refused: {', '.join(bad)}" if bad else ""),
            hint="collect more oracle signatures over `milestones` canonical certificate message")
    return good


def certify(dep: Deployment, milestone_id: bytes, signatures: Mapping[bytes, bytes],
            payer: Sequence[pc.UTxO], snap: ChainSnapshot, evaluate: Evaluator) -> UnsignedTx:
    """Mint the milestone's certificate with the oracles' signatures (sorted by key hash,
    with their oracle indexes) and lock it at the certificate address with that datum."""
    good = verified_signatures(dep, milestone_id, signatures)
    datum: CertificateDatum = certificate_datum(milestone_id, good, dep.params.oracles)
    mint = pc.MultiAsset.from_primitive({dep.policy_id: {milestone_id: 1}})
    out = pc.TransactionOutput(dep.certificate_address, pc.Value(0, mint), datum=datum)
    out.amount.coin = min_lovelace(snap.params, out)
    fee_input, collateral = split_payer(payer)
    d = Draft("certify", inputs=[fee_input], outputs=[out], mint=mint, mints={dep.policy_id: datum},
              reference_inputs=[dep.script_utxos["certificate_policy"]], collateral=collateral,
              ttl=snap.slot + DEFAULT_TTL_SLOTS)
    return finish(d, snap, evaluate)
