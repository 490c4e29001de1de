"""The Plutus V3 ``ScriptContext`` of a Conway transaction, as ``uplc`` data.

Why this module exists: a validator only sees the transaction through this encoding, so
every field has to sit exactly where the ledger puts it (``PlutusLedgerApi.V3``), in the
ledger's canonical order, or an honest transaction is refused on the devnet and accepted
on mainnet (or the reverse). The encoding rules, field by field:

* ``ScriptContext = Constr 0 [TxInfo, Redeemer, ScriptInfo]``.
* ``TxInfo = Constr 0`` with 16 fields: inputs and reference inputs sorted by
  ``(tx id, index)``; outputs in transaction order; the fee as an ``Integer``; the mint as a
  ``Value`` without an ada entry; certificates (``TxCert`` V3); withdrawals as
  ``Map Credential Integer`` ordered script credentials first (the ledger's ``Credential``
  order), then by hash; the validity range in POSIX milliseconds (lower bound closed,
  upper bound open, infinite bounds closed); signatories sorted; redeemers as
  ``Map ScriptPurpose Redeemer`` ordered by (tag, index); witness datums as
  ``Map DatumHash Datum`` sorted by hash; the tx id as plain bytes (V3 ``TxId`` is a
  newtype); votes; proposal procedures; ``Maybe`` current treasury amount and donation.
* ``Value`` = ``Map CurrencySymbol (Map TokenName Integer)`` sorted by policy then token
  name bytes, ada under the empty policy and token name.
* ``Maybe``: ``Just x = Constr 0 [x]``, ``Nothing = Constr 1 []``; ``Bool``: ``False =
  Constr 0 []``, ``True = Constr 1 []``.

Everything here is pure: no clock, no I/O. Values that cannot be encoded (Byron
addresses, governance proposals) raise :class:`ContextError` naming the culprit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import cbor2
from pycardano import (
    Address,
    MultiAsset,
    PointerAddress,
    ScriptHash,
    Transaction,
    TransactionInput,
    TransactionOutput,
    VerificationKeyHash,
)
from pycardano import certificate as certs
from pycardano.governance import Voter, VoterType
from pycardano.plutus import RawCBOR, RawPlutusData, plutus_script_hash
from pycardano.serialization import default_encoder
from uplc.ast import (
    PlutusByteString,
    PlutusConstr,
    PlutusData,
    PlutusInteger,
    PlutusList,
    PlutusMap,
    data_from_cbor,
)

__all__ = [
    "ContextError",
    "SlotClock",
    "TxView",
    "UnknownInputs",
    "bstr",
    "constr",
    "credential",
    "integer",
    "just",
    "nothing",
    "reward_account_credential",
    "script_context",
    "to_data",
    "tx_cert",
    "tx_out_ref",
    "validity_range",
    "value_data",
    "voter_data",
    "voter_key",
    "votes_data",
]


class ContextError(ValueError):
    """The transaction cannot be shown to a Plutus V3 script (a ledger translation error)."""


class UnknownInputs(ContextError):
    """Inputs or reference inputs missing from ``resolved`` (spent or never created)."""

    def __init__(self, refs: Sequence[TransactionInput]) -> None:
        self.refs = tuple(refs)
        shown = ", ".join(f"{r.transaction_id.payload.hex()}#{r.index}" for r in refs)
        super().__init__(f"unknown output references: {shown}")


class SlotClock(Protocol):
    """What the context needs from the devnet clock: slot → POSIX milliseconds."""

    def slot_to_posix_ms(self, slot: int) -> int: ...


# --- Plutus data builders -------------------------------------------------------------


def constr(tag: int, *fields: PlutusData) -> PlutusConstr:
    return PlutusConstr(tag, list(fields))


def integer(n: int) -> PlutusInteger:
    return PlutusInteger(int(n))


def bstr(b: bytes) -> PlutusByteString:
    return PlutusByteString(bytes(b))


def just(x: PlutusData) -> PlutusConstr:
    return constr(0, x)


def nothing() -> PlutusConstr:
    return constr(1)


def bool_data(flag: bool) -> PlutusConstr:
    return constr(1 if flag else 0)


def pmap(pairs: Iterable[tuple[PlutusData, PlutusData]]) -> PlutusMap:
    return PlutusMap(dict(pairs))


def to_data(datum: Any) -> PlutusData:
    """Any pycardano datum/redeemer payload (PlutusData, RawPlutusData, int, bytes, ...) as uplc data."""
    if isinstance(datum, PlutusData):
        return datum
    if isinstance(datum, RawCBOR):
        return data_from_cbor(datum.cbor)
    if isinstance(datum, RawPlutusData):
        return data_from_cbor(datum.to_cbor())
    return data_from_cbor(cbor2.dumps(datum, default=default_encoder))


# --- ledger types ----------------------------------------------------------------------


def tx_out_ref(ref: TransactionInput) -> PlutusConstr:
    """V3 ``TxOutRef = Constr 0 [TxId (plain bytes), Integer]``."""
    return constr(0, bstr(ref.transaction_id.payload), integer(ref.index))


def credential(h: VerificationKeyHash | ScriptHash) -> PlutusConstr:
    """``PubKeyCredential = Constr 0``, ``ScriptCredential = Constr 1``."""
    if isinstance(h, ScriptHash):
        return constr(1, bstr(h.payload))
    return constr(0, bstr(h.payload))


def address_data(addr: Address, where: str) -> PlutusConstr:
    """``Address = Constr 0 [Credential, Maybe StakingCredential]``."""
    payment = addr.payment_part
    if payment is None:
        raise ContextError(
            f"{where}: address {addr} has no payment credential (Byron or reward address); "
            "Plutus V3 scripts cannot see it"
        )
    staking = addr.staking_part
    if staking is None:
        stake = nothing()
    elif isinstance(staking, PointerAddress):
        stake = just(
            constr(
                1,
                integer(staking.slot),
                integer(staking.tx_index),
                integer(staking.cert_index),
            )
        )
    else:
        stake = just(constr(0, credential(staking)))
    return constr(0, credential(payment), stake)


def value_data(coin: int | None, assets: MultiAsset | None) -> PlutusMap:
    """A ``Value`` sorted by policy id then token name; zero quantities are dropped.

    ``coin=None`` leaves the ada entry out (V3's mint field).
    """
    entries: list[tuple[PlutusData, PlutusData]] = []
    if coin is not None:
        entries.append((bstr(b""), pmap([(bstr(b""), integer(coin))])))
    for policy in sorted(assets or {}, key=lambda p: p.payload):
        tokens = assets[policy]  # type: ignore[index]
        inner = [
            (bstr(name.payload), integer(qty))
            for name, qty in sorted(tokens.items(), key=lambda kv: kv[0].payload)
            if qty != 0
        ]
        if inner:
            entries.append((bstr(policy.payload), pmap(inner)))
    return pmap(entries)


def output_datum(out: TransactionOutput) -> PlutusConstr:
    """``NoOutputDatum = 0``, ``OutputDatumHash h = 1``, ``OutputDatum d = 2``."""
    if out.datum is not None:
        return constr(2, to_data(out.datum))
    if out.datum_hash is not None:
        return constr(1, bstr(out.datum_hash.payload))
    return constr(0)


def tx_out(out: TransactionOutput, where: str) -> PlutusConstr:
    """``TxOut = Constr 0 [Address, Value, OutputDatum, Maybe ScriptHash]``."""
    script = just(bstr(plutus_script_hash(out.script).payload)) if out.script is not None else nothing()
    return constr(
        0,
        address_data(out.address, where),
        value_data(out.amount.coin, out.amount.multi_asset),
        output_datum(out),
        script,
    )


def _ref_key(ref: TransactionInput) -> tuple[bytes, int]:
    return (ref.transaction_id.payload, ref.index)


def reward_account_credential(account: bytes) -> PlutusConstr:
    """A reward address (header byte + 28-byte hash) as a ``Credential``; bit 4 marks scripts."""
    raw = bytes(account)
    if len(raw) != 29 or raw[0] >> 4 not in (0b1110, 0b1111):
        raise ContextError(f"withdrawal key {raw.hex()} is not a reward address")
    return constr(1 if raw[0] & 0x10 else 0, bstr(raw[1:]))


def _withdrawal_key(account: bytes) -> tuple[int, bytes]:
    """Ledger ``Credential`` order: ``ScriptHashObj`` before ``KeyHashObj``, then by hash."""
    raw = bytes(account)
    return (0 if raw[0] & 0x10 else 1, raw[1:])


# --- the transaction as a script sees it -----------------------------------------------


@dataclass(frozen=True)
class TxView:
    """The transaction's script-visible collections, each in ledger order.

    Redeemer indices point into these orders: ``spend`` into ``inputs``, ``mint`` into
    ``policies``, ``withdraw`` into ``withdrawals``, ``publish`` into ``certificates``.
    """

    tx: Transaction
    inputs: tuple[tuple[TransactionInput, TransactionOutput], ...]
    reference_inputs: tuple[tuple[TransactionInput, TransactionOutput], ...]
    policies: tuple[ScriptHash, ...]
    withdrawals: tuple[tuple[bytes, int], ...]
    certificates: tuple[Any, ...]

    @classmethod
    def of(cls, tx: Transaction, resolved: Mapping[TransactionInput, TransactionOutput]) -> TxView:
        body = tx.transaction_body
        missing = [ref for ref in [*body.inputs, *(body.reference_inputs or [])] if ref not in resolved]
        if missing:
            raise UnknownInputs(missing)
        inputs = tuple((r, resolved[r]) for r in sorted(set(body.inputs), key=_ref_key))
        refs = tuple((r, resolved[r]) for r in sorted(set(body.reference_inputs or []), key=_ref_key))
        mint = body.mint or {}
        policies = tuple(sorted(mint, key=lambda p: p.payload))
        withdrawals = tuple(
            sorted(
                ((bytes(k), int(v)) for k, v in (body.withdraws or {}).items()),
                key=lambda kv: _withdrawal_key(kv[0]),
            )
        )
        return cls(tx, inputs, refs, policies, withdrawals, tuple(body.certificates or ()))

    def tx_info(
        self,
        clock: SlotClock,
        tx_id: bytes,
        redeemers: Sequence[tuple[PlutusData, PlutusData]],
        datums: Sequence[tuple[bytes, PlutusData]],
    ) -> PlutusConstr:
        """The 16-field V3 ``TxInfo``; ``redeemers`` are (ScriptPurpose, data) in ledger order."""
        body = self.tx.transaction_body
        if body.proposal_procedures:
            raise ContextError(
                "the transaction carries governance proposals, which the devnet's V3 context "
                "does not encode; remove them or evaluate on a real node"
            )
        return constr(
            0,
            PlutusList([self._in_info(r, o, "input") for r, o in self.inputs]),
            PlutusList([self._in_info(r, o, "reference input") for r, o in self.reference_inputs]),
            PlutusList([tx_out(o, f"output {i}") for i, o in enumerate(body.outputs)]),
            integer(body.fee),
            value_data(None, body.mint),
            PlutusList([tx_cert(c) for c in self.certificates]),
            pmap((reward_account_credential(a), integer(q)) for a, q in self.withdrawals),
            validity_range(body.validity_start, body.ttl, clock),
            PlutusList(
                [bstr(h.payload) for h in sorted(body.required_signers or [], key=lambda h: h.payload)]
            ),
            pmap(redeemers),
            pmap((bstr(h), d) for h, d in sorted(datums, key=lambda hd: hd[0])),
            bstr(tx_id),
            votes_data(body.voting_procedures),
            PlutusList([]),
            _maybe_int(body.current_treasury_value),
            _maybe_int(body.donation or None),  # the ledger shows a zero donation as Nothing
        )

    @staticmethod
    def _in_info(ref: TransactionInput, out: TransactionOutput, kind: str) -> PlutusConstr:
        where = f"{kind} {ref.transaction_id.payload.hex()}#{ref.index}"
        return constr(0, tx_out_ref(ref), tx_out(out, where))


def _maybe_int(n: int | None) -> PlutusConstr:
    return nothing() if n is None else just(integer(n))


def validity_range(lower_slot: int | None, upper_slot: int | None, clock: SlotClock) -> PlutusConstr:
    """``Interval (LowerBound lo True) (UpperBound hi closed)``.

    The ledger turns ``validity_start`` into a closed lower bound and ``ttl`` into an
    open upper bound (``strictUpperBound``); a missing bound is ``NegInf``/``PosInf``,
    closed, as in ``Interval.always``.
    """
    if lower_slot is None:
        lower = constr(0, constr(0), bool_data(True))
    else:
        lower = constr(0, constr(1, integer(clock.slot_to_posix_ms(lower_slot))), bool_data(True))
    if upper_slot is None:
        upper = constr(0, constr(2), bool_data(True))
    else:
        upper = constr(0, constr(1, integer(clock.slot_to_posix_ms(upper_slot))), bool_data(False))
    return constr(0, lower, upper)


def script_context(tx_info: PlutusData, redeemer: PlutusData, script_info: PlutusData) -> PlutusConstr:
    """``ScriptContext = Constr 0 [TxInfo, Redeemer, ScriptInfo]`` (V3)."""
    return constr(0, tx_info, redeemer, script_info)


# --- certificates and votes (TxCert / Voter, V3) ----------------------------------------


def _stake_cred(sc: Any) -> PlutusConstr:
    return credential(sc.credential)


def _drep(d: Any) -> PlutusConstr:
    """``DRep cred = Constr 0 [Credential]``, ``AlwaysAbstain = 1``, ``AlwaysNoConfidence = 2``."""
    kind = d.kind.value
    if kind in (0, 1):
        return constr(0, credential(d.credential))
    return constr(1 if kind == 2 else 2)


def tx_cert(c: Any) -> PlutusConstr:
    """V3 ``TxCert``; deposits are ``Just`` as from protocol version 10 (after bootstrap)."""
    if isinstance(c, certs.StakeRegistration):
        return constr(0, _stake_cred(c.stake_credential), nothing())
    if isinstance(c, certs.StakeRegistrationConway):
        return constr(0, _stake_cred(c.stake_credential), just(integer(c.coin)))
    if isinstance(c, certs.StakeDeregistration):
        return constr(1, _stake_cred(c.stake_credential), nothing())
    if isinstance(c, certs.StakeDeregistrationConway):
        return constr(1, _stake_cred(c.stake_credential), just(integer(c.coin)))
    if isinstance(c, certs.StakeDelegation):
        return constr(2, _stake_cred(c.stake_credential), constr(0, bstr(c.pool_keyhash.payload)))
    if isinstance(c, certs.VoteDelegation):
        return constr(2, _stake_cred(c.stake_credential), constr(1, _drep(c.drep)))
    if isinstance(c, certs.StakeAndVoteDelegation):
        deleg = constr(2, bstr(c.pool_keyhash.payload), _drep(c.drep))
        return constr(2, _stake_cred(c.stake_credential), deleg)
    if isinstance(c, certs.StakeRegistrationAndDelegation):
        deleg = constr(0, bstr(c.pool_keyhash.payload))
        return constr(3, _stake_cred(c.stake_credential), deleg, integer(c.coin))
    if isinstance(c, certs.StakeRegistrationAndVoteDelegation):
        deleg = constr(1, _drep(c.drep))
        return constr(3, _stake_cred(c.stake_credential), deleg, integer(c.coin))
    if isinstance(c, certs.StakeRegistrationAndDelegationAndVoteDelegation):
        deleg = constr(2, bstr(c.pool_keyhash.payload), _drep(c.drep))
        return constr(3, _stake_cred(c.stake_credential), deleg, integer(c.coin))
    if isinstance(c, certs.RegDRepCert):
        return constr(4, _stake_cred(c.drep_credential), integer(c.coin))
    if isinstance(c, certs.UpdateDRepCertificate):
        return constr(5, _stake_cred(c.drep_credential))
    if isinstance(c, certs.UnregDRepCertificate):
        return constr(6, _stake_cred(c.drep_credential), integer(c.coin))
    if isinstance(c, certs.PoolRegistration):
        p = c.pool_params
        return constr(7, bstr(p.operator.payload), bstr(p.vrf_keyhash.payload))
    if isinstance(c, certs.PoolRetirement):
        return constr(8, bstr(c.pool_keyhash.payload), integer(c.epoch))
    if isinstance(c, certs.AuthCommitteeHotCertificate):
        return constr(
            9,
            _stake_cred(c.committee_cold_credential),
            _stake_cred(c.committee_hot_credential),
        )
    if isinstance(c, certs.ResignCommitteeColdCertificate):
        return constr(10, _stake_cred(c.committee_cold_credential))
    raise ContextError(f"certificate {type(c).__name__} has no Plutus V3 encoding here")


_VOTER_RANK = {VoterType.COMMITTEE_HOT: 0, VoterType.DREP: 1, VoterType.STAKING_POOL: 2}


def voter_key(v: Voter) -> tuple[int, int, bytes]:
    """Ledger ``Voter`` order: committee, DRep, pool; script credentials before keys."""
    return (
        _VOTER_RANK[v.voter_type],
        0 if isinstance(v.credential, ScriptHash) else 1,
        v.credential.payload,
    )


def voter_data(v: Voter) -> PlutusConstr:
    """``CommitteeVoter = 0``, ``DRepVoter = 1`` (each a ``Credential``), ``StakePoolVoter = 2``."""
    if v.voter_type == VoterType.STAKING_POOL:
        return constr(2, bstr(v.credential.payload))
    return constr(_VOTER_RANK[v.voter_type], credential(v.credential))


def votes_data(procedures: Any) -> PlutusMap:
    """``Map Voter (Map GovernanceActionId Vote)``, both levels in ledger order."""
    out = []
    for voter in sorted(procedures or {}, key=voter_key):
        actions = procedures[voter]
        inner = [
            (
                constr(0, bstr(a.transaction_id.payload), integer(a.gov_action_index)),
                constr(actions[a].vote.value),
            )
            for a in sorted(actions, key=lambda a: (a.transaction_id.payload, a.gov_action_index))
        ]
        out.append((voter_data(voter), pmap(inner)))
    return pmap(out)
