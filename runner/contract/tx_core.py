"""The pure core of the schedule transaction builder: drafts, exact Conway fees, results.

Why pure: the same builder must run against the embedded devnet, a real node through
Ogmios, and in benchmarks, so it takes everything it needs as arguments — a
:class:`ChainSnapshot` (protocol parameters, network, clock), the UTxOs to use, and an
``evaluate(tx) -> {(tag, index): ExecutionUnits}`` callback — and returns unsigned
transactions (:class:`UnsignedTx`) that the caller signs with :func:`sign`.

Fee: the exact Conway minimum fee, ``size * a + b + ceil(mem * price_mem + steps *
price_step) + reference-script fee`` (size: the ledger's, without the ``is_valid`` byte;
reference scripts in 25 KiB tiers, x1.2 per tier), computed on the transaction with
placeholder witnesses of the right size and iterated until the fee and the size no
longer change.  Scripts are evaluated once per draft: their cost does not depend on the
fee or the declared units (see :func:`finish`).

Ex-unit margin: each redeemer declares its evaluated units plus
:data:`EX_UNIT_MARGIN` (2 %), rounded up.  Evaluation is deterministic, so the margin
is not for our own evaluator; it covers an evaluator of another version (a node that
updated its cost accounting, Ogmios vs the devnet) at a fee cost of 2 % of the
execution fee.  The batch limit checks use the declared (margined) units, so the
largest batch reported is the one this builder really submits.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import pycardano as pc
from pycardano import ExecutionUnits as Units
from pycardano.utils import script_data_hash

from runner.contract.tx_values import balance, min_lovelace
from runner.errors import UserInputError

EX_UNIT_MARGIN = Fraction(2, 100)
#: Placeholder witness: the real one has the same size (32-byte key, 64-byte signature).
_DUMMY_VKEY = pc.VerificationKey(bytes(32))
_DUMMY_SIGNATURE = bytes(64)
DEFAULT_TTL_SLOTS = 1800
REF_SCRIPT_TIER_BYTES = 25_600
REF_SCRIPT_MULTIPLIER = Fraction(6, 5)

RedeemerKey = tuple[str, int]
Evaluator = Callable[[pc.Transaction], Mapping[RedeemerKey, pc.ExecutionUnits]]

#: Evaluator tags accepted (Ogmios purposes and pycardano's RedeemerTag names).
_TAG_NAMES = {"spend": "spend", "mint": "mint", "publish": "publish", "certificate": "publish",
              "cert": "publish", "withdraw": "withdraw", "withdrawal": "withdraw", "reward": "withdraw"}
_TAGS = {"spend": pc.RedeemerTag.SPEND, "mint": pc.RedeemerTag.MINT,
         "publish": pc.RedeemerTag.CERTIFICATE, "withdraw": pc.RedeemerTag.WITHDRAWAL}


class TooLarge(Exception):
    """A draft over the per-transaction size or ex-unit limits (the caller makes it smaller)."""

    def __init__(self, what: str, used: int, limit: int) -> None:
        super().__init__(f"{what} {used} over the limit {limit}")
        self.what, self.used, self.limit = what, used, limit


@dataclass(frozen=True)
class ChainSnapshot:
    """What the builder needs to know about the chain, read once by the caller."""

    params: pc.ProtocolParameters
    network: pc.Network
    slot: int  # the current slot: a transaction built now is valid from here
    system_start_ms: int  # POSIX ms of slot 0
    slot_length_ms: int = 1000

    def slot_to_ms(self, slot: int) -> int:
        return self.system_start_ms + slot * self.slot_length_ms

    def first_slot_at_or_after(self, posix_ms: int) -> int:
        """The earliest slot whose start is >= ``posix_ms`` (a lower bound that proves it)."""
        return max(0, -((self.system_start_ms - posix_ms) // self.slot_length_ms))

    @property
    def now_ms(self) -> int:
        return self.slot_to_ms(self.slot)


@dataclass(frozen=True)
class UnsignedTx:
    """A balanced transaction at its exact fee, waiting for the listed key signatures."""

    kind: str
    body: pc.TransactionBody
    redeemers: tuple[pc.Redeemer, ...]
    signers: tuple[bytes, ...]  # payment key hashes that must sign
    fee: int
    ex_units: Mapping[RedeemerKey, pc.ExecutionUnits]  # declared (margin applied)
    inputs: tuple[pc.TransactionInput, ...]
    produced: tuple[pc.UTxO, ...]  # the outputs, as UTxOs (for chaining and bookkeeping)
    deadline_slot: int | None
    size: int  # bytes on the wire, signed (the ledger charges for ``ledger_size(size)`` = size - 1)
    #: (the body, its CBOR) as the builder serialised it once; used only while ``body`` is
    #: that very object (``dataclasses.replace(tx, body=...)`` makes a copy with another body)
    serialised: tuple[pc.TransactionBody, bytes] | None = field(default=None, compare=False, repr=False)

    @property
    def body_cbor(self) -> bytes:
        if self.serialised is not None and self.serialised[0] is self.body:
            return self.serialised[1]
        return bytes(self.body.to_cbor())

    @property
    def tx_id(self) -> str:
        return hashlib.blake2b(self.body_cbor, digest_size=32).hexdigest()

    @property
    def memory(self) -> int:
        return sum(u.mem for u in self.ex_units.values())

    @property
    def steps(self) -> int:
        return sum(u.steps for u in self.ex_units.values())


def sign(unsigned: UnsignedTx, keys: Sequence[pc.SigningKey]) -> pc.Transaction:
    """The submittable transaction; refuses when a required signer's key is missing."""
    return pc.Transaction(unsigned.body, _witnesses(unsigned, keys))


def signed_cbor(unsigned: UnsignedTx, keys: Sequence[pc.SigningKey]) -> bytes:
    """``sign(unsigned, keys).to_cbor()`` without serialising the body again (pycardano's
    serialiser is slow; a full release body is ~16 kB): the transaction is the CBOR array
    [body, witnesses, is_valid = true, auxiliary data = null], the body's bytes as built."""
    return b"\x84" + unsigned.body_cbor + bytes(_witnesses(unsigned, keys).to_cbor()) + b"\xf5\xf6"


def _witnesses(unsigned: UnsignedTx, keys: Sequence[pc.SigningKey]) -> pc.TransactionWitnessSet:
    digest = hashlib.blake2b(unsigned.body_cbor, digest_size=32).digest()
    by_hash = {bytes(k.to_verification_key().hash()): k for k in keys}
    missing = [h.hex() for h in unsigned.signers if h not in by_hash]
    if missing:
        raise UserInputError(f"{unsigned.kind} transaction {unsigned.tx_id} needs signatures of {missing}",
                             hint="pass the signing keys of these payment key hashes")
    witnesses = [pc.VerificationKeyWitness(by_hash[h].to_verification_key(), by_hash[h].sign(digest))
                 for h in unsigned.signers]
    return pc.TransactionWitnessSet(vkey_witnesses=witnesses or None, redeemer=list(unsigned.redeemers) or None)


@dataclass
class Draft:
    """A transaction's parts; redeemers keyed by what they unlock so indexes are derived."""

    kind: str
    inputs: list[pc.UTxO]
    outputs: list[pc.TransactionOutput] = field(default_factory=list)
    reference_inputs: list[pc.UTxO] = field(default_factory=list)
    mint: pc.MultiAsset | None = None
    withdrawals: dict[bytes, int] = field(default_factory=dict)
    certificates: list[Any] = field(default_factory=list)
    deposits: int = 0
    validity_start: int | None = None
    ttl: int | None = None
    required_signers: list[bytes] = field(default_factory=list)
    spend: dict[pc.TransactionInput, Any] = field(default_factory=dict)
    mints: dict[bytes, Any] = field(default_factory=dict)
    withdraws: dict[bytes, Any] = field(default_factory=dict)
    publish: dict[int, Any] = field(default_factory=dict)
    change_address: pc.Address | None = None
    collateral: pc.UTxO | None = None


def cost_models(params: pc.ProtocolParameters) -> pc.CostModels:
    """The V3 cost model in ledger order, keyed as pycardano hashes it."""
    raw = (params.cost_models or {}).get("PlutusV3")
    if not raw:
        raise UserInputError("the protocol parameters have no PlutusV3 cost model",
                             hint="the chain must be in the Conway era")
    values = [raw[k] for k in sorted(raw, key=int)] if all(str(k).isdigit() for k in raw) else list(raw.values())
    return pc.CostModels({2: {f"{i:03d}": v for i, v in enumerate(values)}})


def _frac(value: Any) -> Fraction:
    return Fraction(str(value)) if isinstance(value, float) else Fraction(value)


def ledger_size(wire_size: int) -> int:
    """The size the ledger charges for and limits: the signed transaction's CBOR without its
    ``is_valid`` flag (cardano-ledger measures [body, witnesses, auxiliary data]); the
    builder's transactions always carry the flag (one byte, ``true``)."""
    return wire_size - 1


def reference_script_fee(params: pc.ProtocolParameters, size: int) -> int:
    conf = params.min_fee_reference_scripts or {}
    price = _frac(conf.get("base", 15))
    tier = int(conf.get("range", REF_SCRIPT_TIER_BYTES))
    multiplier = _frac(conf.get("multiplier", REF_SCRIPT_MULTIPLIER))
    acc, remaining = Fraction(0), size
    while remaining >= tier:
        acc += tier * price
        price *= multiplier
        remaining -= tier
    return math.floor(acc + remaining * price)


def min_fee(params: pc.ProtocolParameters, size: int, mem: int, steps: int, ref_bytes: int) -> int:
    """The Conway minimum fee of a transaction (exact rationals)."""
    execution = math.ceil(_frac(params.price_mem) * mem + _frac(params.price_step) * steps)
    return (size * int(params.min_fee_coefficient) + int(params.min_fee_constant) + execution
            + reference_script_fee(params, ref_bytes))


def with_margin(units: pc.ExecutionUnits) -> pc.ExecutionUnits:
    return pc.ExecutionUnits(math.ceil(units.mem * (1 + EX_UNIT_MARGIN)),
                             math.ceil(units.steps * (1 + EX_UNIT_MARGIN)))


def _redeemers(d: Draft, units: Mapping[RedeemerKey, Units]) -> list[pc.Redeemer]:
    inputs = sorted((u.input for u in d.inputs), key=lambda r: (r.transaction_id.payload, r.index))
    policies = sorted(d.mints)
    accounts = sorted(d.withdrawals, key=lambda a: (0 if a[0] & 0x10 else 1, a[1:]))
    wanted: list[tuple[str, int, Any]] = []
    wanted += [("spend", inputs.index(r), v) for r, v in d.spend.items()]
    wanted += [("mint", policies.index(p), v) for p, v in d.mints.items()]
    wanted += [("publish", i, v) for i, v in d.publish.items()]
    wanted += [("withdraw", accounts.index(a), v) for a, v in d.withdraws.items()]
    out = []
    for tag, index, data in sorted(wanted, key=lambda w: (_TAGS[w[0]].value, w[1])):
        r = pc.Redeemer(data, units.get((tag, index), Units(0, 0)))
        r.tag, r.index = _TAGS[tag], index
        out.append(r)
    return out


def _key_hashes(d: Draft) -> tuple[bytes, ...]:
    """Payment key hashes that must sign: key-locked inputs, collateral, required signers."""
    seen: list[bytes] = []
    spent = [*d.inputs, *([d.collateral] if d.collateral else [])]
    for u in spent:
        part = u.output.address.payment_part
        if isinstance(part, pc.VerificationKeyHash) and bytes(part) not in seen:
            seen.append(bytes(part))
    for h in d.required_signers:
        if h not in seen:
            seen.append(h)
    return tuple(seen)


@dataclass
class Assembled:
    body: pc.TransactionBody
    redeemers: list[pc.Redeemer]
    tx: pc.Transaction  # with placeholder witnesses


def _assemble(d: Draft, snap: ChainSnapshot, fee: int, units: Mapping[RedeemerKey, Units]) -> Assembled:
    total = balance(sum(d.withdrawals.values()) - d.deposits - fee, d.mint,
                    [u.output.amount for u in d.inputs], [out.amount for out in d.outputs])
    if total.coin < 0 or any(q < 0 for a in total.multi_asset.values() for q in a.values()):
        raise UserInputError(f"{d.kind}: the inputs do not cover the outputs and the fee "
                             f"(short by {-total.coin} lovelace or some tokens)",
                             hint="fund the paying address with more ADA (or the tokens to lock)")
    outputs = list(d.outputs)
    if total.coin or total.multi_asset:
        change = pc.TransactionOutput(d.change_address or d.inputs[-1].output.address, total)
        if total.coin < min_lovelace(snap.params, change):
            raise UserInputError(f"{d.kind}: the change ({total.coin} lovelace) is below the minimum UTxO",
                                 hint="fund the paying address with a few more ADA")
        outputs.append(change)
    redeemers = _redeemers(d, units)
    collateral_kw: dict[str, Any] = {}
    if redeemers:
        if d.collateral is None:
            raise UserInputError(f"{d.kind}: a script transaction needs a collateral UTxO",
                                 hint="keep a pure-ADA UTxO of at least 5 ADA at the paying address")
        owed = math.ceil(fee * (snap.params.collateral_percent or 150) / 100)
        back = d.collateral.output.amount.coin - owed
        collateral_kw = {"collateral": [d.collateral.input], "total_collateral": owed,
                         "collateral_return": pc.TransactionOutput(d.collateral.output.address, back)}
    body = pc.TransactionBody(
        inputs=[u.input for u in d.inputs], outputs=outputs, fee=fee, ttl=d.ttl,
        validity_start=d.validity_start, mint=d.mint or None, certificates=list(d.certificates) or None,
        withdraws=pc.Withdrawals(dict(d.withdrawals)) if d.withdrawals else None,
        reference_inputs=[u.input for u in d.reference_inputs] or None,
        required_signers=[pc.VerificationKeyHash(h) for h in d.required_signers] or None,
        **collateral_kw,
    )
    if redeemers:
        body.script_data_hash = script_data_hash(redeemers, [], cost_models(snap.params))
    dummies = [pc.VerificationKeyWitness(_DUMMY_VKEY, _DUMMY_SIGNATURE) for _ in _key_hashes(d)]
    witness = pc.TransactionWitnessSet(vkey_witnesses=dummies or None, redeemer=redeemers or None)
    return Assembled(body, redeemers, pc.Transaction(body, witness))


def _reference_script_bytes(d: Draft) -> int:
    outs = [u.output for u in [*d.inputs, *d.reference_inputs]]
    return sum(len(o.script) for o in outs if isinstance(o.script, pc.PlutusScript))


def _evaluate(evaluate: Evaluator, tx: pc.Transaction) -> dict[RedeemerKey, Units]:
    try:
        measured = evaluate(tx)
    except Exception as exc:
        # a script that runs out of the per-transaction budget: the batch is too large
        # (the devnet says "budget exhausted", a node "ExBudgetExceeded"/"overspending")
        text = str(exc).lower()
        if any(word in text for word in ("budget exhausted", "exbudget", "overspending", "out of budget")):
            raise TooLarge("execution units (the evaluation ran out of budget)", 0, 0) from exc
        raise
    out: dict[RedeemerKey, Units] = {}
    for (tag, index), units in measured.items():
        name = _TAG_NAMES.get(str(tag).lower().split(".")[-1])
        if name is None:
            raise UserInputError(f"the evaluator returned an unknown redeemer tag {tag!r}")
        out[(name, int(index))] = with_margin(units)
    return out


def finish(d: Draft, snap: ChainSnapshot, evaluate: Evaluator | None) -> UnsignedTx:
    """Balance ``d`` at its exact minimum fee; raise :class:`TooLarge` over the limits."""
    params = snap.params
    units: dict[RedeemerKey, Units] = {}
    fee = 0
    ref_bytes = _reference_script_bytes(d)
    scripted = bool(d.spend or d.mints or d.withdraws or d.publish)
    if scripted and evaluate is None:
        raise UserInputError(f"{d.kind}: an evaluator is needed for a script transaction")
    evaluated = False
    for _ in range(8):
        built = _assemble(d, snap, fee, units)
        # the transaction is [body, witnesses, true, null]: its size from the body's bytes, which
        # the last round keeps (serialising a 16 kB body is slow in pycardano)
        body_bytes = bytes(built.body.to_cbor())
        wire = 1 + len(body_bytes) + len(built.tx.transaction_witness_set.to_cbor()) + 2
        size = ledger_size(wire)
        if size > params.max_tx_size:
            raise TooLarge("size", size, params.max_tx_size)
        if scripted and evaluate is not None and not evaluated:
            # ONE evaluation per draft (each of a full release costs seconds).  What moves
            # after it — the declared units, the fee, the change, the collateral return —
            # cannot change what a script of a schedule costs: a V3 ScriptContext carries the
            # redeemers' data but not their units (txInfoRedeemers :: Map ScriptPurpose
            # Redeemer, Redeemer = BuiltinData); the units reach it only inside txInfoId, a
            # 32-byte hash of the body whatever they are; and none of the schedule's scripts
            # reads txInfoFee, txInfoId or the change output (the batch validator and the
            # forwarder read inputs, reference inputs, outputs up to the last entry paid,
            # withdrawals, signatories and the validity range; the certificate policy its
            # redeemer, the mint and the outputs up to its own address: onchain/README.md).
            # tests/contract/test_contract_single_evaluation.py evaluates every kind's final
            # transaction again (same units) and submits it to the devnet's ledger (phase 2).
            # Were a script to start reading them, the ledger would refuse the transaction
            # at submission (a node's mempool runs phase 2 and drops it: no collateral).
            measured = _evaluate(evaluate, built.tx)
            evaluated = True
            mem, steps = sum(u.mem for u in measured.values()), sum(u.steps for u in measured.values())
            if mem > params.max_tx_ex_mem:
                raise TooLarge("memory", mem, params.max_tx_ex_mem)
            if steps > params.max_tx_ex_steps:
                raise TooLarge("steps", steps, params.max_tx_ex_steps)
            units = measured
            continue
        needed = min_fee(params, size, sum(u.mem for u in units.values()),
                         sum(u.steps for u in units.values()), ref_bytes)
        if needed == fee:
            tx_id = pc.TransactionId(hashlib.blake2b(body_bytes, digest_size=32).digest())
            produced = tuple(pc.UTxO(pc.TransactionInput(tx_id, i), o)
                             for i, o in enumerate(built.body.outputs))
            return UnsignedTx(d.kind, built.body, tuple(built.redeemers), _key_hashes(d), fee, dict(units),
                              tuple(u.input for u in d.inputs), produced, d.ttl, wire, (built.body, body_bytes))
        fee = needed
    raise RuntimeError(f"{d.kind}: fee and execution units did not converge in 8 rounds")
