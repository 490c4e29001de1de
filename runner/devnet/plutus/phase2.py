"""Phase 2 of the devnet ledger: run each redeemer's Plutus script on its ScriptContext.

Why a module of its own: the ledger (``ledger.py``) decides *whether* a transaction is
valid; this module answers the one question it cannot answer by bookkeeping — do the
scripts accept, and at what cost. It finds each redeemer's script (witness set or
reference script of an input / reference input), its datum (inline, or a witness datum
matching the output's hash), builds the exact Plutus V3 context
(:mod:`script_context`) and runs ``uplc`` under the cost model of the protocol
parameters.

Evaluation expects a transaction that passed the phase-1 rules it depends on
(``ledger_validate.EVALUATION_PREREQUISITES``: inputs known, scripts present, every
redeemer pointing at a Plutus script, hashed datums witnessed); those rules, not this
module, give users the ledger's codes. Called on a transaction that breaks them, it
raises :class:`NotEvaluable`. A missing cost model or undecodable script bytes raise
:class:`~runner.errors.LedgerRejection` with the Ogmios code a node would give. A script that errors, exhausts its budget or (V3) returns
anything but ``()`` is a failed :class:`RedeemerEvaluation`, not an exception: the caller
decides between ``ScriptFailure`` (submit) and reporting (evaluate).

Plutus V1/V2 scripts are reported as failed evaluations with an "unsupported" error (the
ledger refuses such transactions in phase 1 with 3997); the project's validators are V3.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pycardano import (
    ExecutionUnits,
    NativeScript,
    PlutusV1Script,
    PlutusV2Script,
    PlutusV3Script,
    ScriptHash,
    Transaction,
    TransactionInput,
    TransactionOutput,
)
from pycardano.plutus import RedeemerMap, datum_hash, plutus_script_hash
from uplc.ast import BuiltinUnit, PlutusData, data_from_cbor
from uplc.cost_model import Budget

from runner.devnet.plutus import uplc_speed
from runner.devnet.plutus.script_context import (
    ContextError,
    SlotClock,
    TxView,
    UnknownInputs,
    bstr,
    constr,
    integer,
    just,
    nothing,
    reward_account_credential,
    script_context,
    to_data,
    tx_cert,
    tx_out_ref,
    voter_data,
    voter_key,
)
from runner.errors import LedgerRejection, ScriptFailure

__all__ = ["TAG_NAMES", "NotEvaluable", "RedeemerEvaluation", "ScriptRun", "evaluate_scripts", "script_contexts"]


class NotEvaluable(ValueError):
    """The transaction breaks a phase-1 rule evaluation depends on (an unknown input, a
    missing script or datum, a redeemer pointing at nothing): run the phase-1 rules first,
    they report it with the ledger's code."""

uplc_speed.install()

TAG_NAMES = ("spend", "mint", "publish", "withdraw", "vote", "propose")
"""Redeemer tag number → Ogmios purpose name (spend=0, mint=1, cert=2, reward=3, ...)."""

_LANGUAGES = {
    PlutusV1Script: "PlutusV1",
    PlutusV2Script: "PlutusV2",
    PlutusV3Script: "PlutusV3",
}


@dataclass(frozen=True)
class RedeemerEvaluation:
    """The outcome of one redeemer's script: consumed units, trace logs, failure reason."""

    tag: str
    index: int
    ok: bool
    memory: int
    cpu: int
    logs: tuple[str, ...]
    error: str | None


@dataclass(frozen=True)
class _Redeemer:
    tag: int
    index: int
    data: PlutusData
    ex_units: ExecutionUnits | None

    @property
    def pointer(self) -> str:
        return f"{TAG_NAMES[self.tag]}#{self.index}"


@dataclass(frozen=True)
class _Target:
    """What a redeemer points at: its ScriptPurpose, ScriptInfo and the script's hash."""

    purpose: PlutusData
    info: PlutusData
    script_hash: bytes


@dataclass(frozen=True)
class ScriptRun:
    """One redeemer ready to run: its script and the exact ScriptContext it will get."""

    tag: str
    index: int
    language: str
    script: bytes
    script_hash: bytes
    context: PlutusData
    ex_units: ExecutionUnits | None


def evaluate_scripts(
    tx: Transaction,
    resolved: Mapping[TransactionInput, TransactionOutput],
    slot_config: SlotClock,
    cost_models: Mapping[Any, Any],
    *,
    budgets: Literal["declared", "max"],
    max_ex_units: ExecutionUnits,
    tx_id: bytes | None = None,
    datum_cbor: Sequence[bytes] | None = None,
) -> list[RedeemerEvaluation]:
    """Evaluate every redeemer of ``tx``, in (tag, index) order.

    ``budgets="declared"`` runs each script under its redeemer's ``ex_units`` (exceeding
    them fails the script, as on a node); ``"max"`` under the transaction maximum.

    ``tx_id`` (hash of the submitted body bytes) and ``datum_cbor`` (the witness datums as
    submitted) spare the re-encoding of a decoded transaction: pycardano does not always
    reproduce the original bytes, and the id and datum hashes are hashes of those bytes.
    """
    runs = script_contexts(tx, resolved, slot_config, tx_id=tx_id, datum_cbor=datum_cbor)
    return [_run(run, _limit(run, budgets, max_ex_units), cost_models) for run in runs]


def script_contexts(
    tx: Transaction,
    resolved: Mapping[TransactionInput, TransactionOutput],
    slot_config: SlotClock,
    *,
    tx_id: bytes | None = None,
    datum_cbor: Sequence[bytes] | None = None,
) -> list[ScriptRun]:
    """Every redeemer's script and ScriptContext, in (tag, index) order, without running.

    Raises :class:`NotEvaluable` when a phase-1 rule evaluation depends on is broken.
    """
    redeemers = sorted(_redeemers(tx), key=lambda r: (r.tag, r.index))
    if not redeemers:
        return []
    try:
        view = TxView.of(tx, resolved)
    except ContextError as exc:
        raise _context_rejection(exc, redeemers) from exc
    datums = _witness_datums(tx) if datum_cbor is None else _datums_from_cbor(datum_cbor)
    scripts = _scripts(tx, view)
    targets = [_target(r, view, datums) for r in redeemers]
    try:
        tx_info = view.tx_info(
            slot_config,
            tx_id if tx_id is not None else view.tx.id.payload,
            [(t.purpose, r.data) for r, t in zip(redeemers, targets)],
            sorted(datums.items()),
        )
    except ContextError as exc:
        raise _context_rejection(exc, redeemers) from exc
    for r, t in zip(redeemers, targets):
        if scripts.get(t.script_hash, ("",))[0] == "native":
            raise _extraneous(r, "is locked by a native script, which takes no redeemer")
    missing = sorted({t.script_hash.hex() for t in targets if t.script_hash not in scripts})
    if missing:
        raise NotEvaluable(f"no script for hash(es) {', '.join(missing)} in the witness set or in the "
                           "reference scripts of the inputs and reference inputs")
    return [
        ScriptRun(
            TAG_NAMES[r.tag],
            r.index,
            *scripts[t.script_hash],
            t.script_hash,
            script_context(tx_info, r.data, t.info),
            r.ex_units,
        )
        for r, t in zip(redeemers, targets)
    ]


# --- inputs of the evaluation ----------------------------------------------------------


def _redeemers(tx: Transaction) -> list[_Redeemer]:
    """Both witness-set forms: the legacy list and the Conway map."""
    raw = tx.transaction_witness_set.redeemer
    if not raw:
        return []
    if isinstance(raw, (RedeemerMap, dict)):
        return [
            _Redeemer(int(k.tag.value), int(k.index), to_data(v.data), v.ex_units) for k, v in raw.items()
        ]
    return [
        _Redeemer(int(r.tag.value), int(r.index), to_data(r.data), r.ex_units)
        for r in raw
        if r.tag is not None  # a pycardano draft's untagged redeemer points at nothing yet
    ]


def _witness_datums(tx: Transaction) -> dict[bytes, PlutusData]:
    return {datum_hash(d).payload: to_data(d) for d in tx.transaction_witness_set.plutus_data or []}


def _datums_from_cbor(items: Sequence[bytes]) -> dict[bytes, PlutusData]:
    return {hashlib.blake2b(bytes(raw), digest_size=32).digest(): data_from_cbor(bytes(raw)) for raw in items}


def _scripts(tx: Transaction, view: TxView) -> dict[bytes, tuple[str, bytes]]:
    """Script hash → (language, bytes) from the witness set and the spent/referenced outputs."""
    found: dict[bytes, tuple[str, bytes]] = {}
    ws = tx.transaction_witness_set
    candidates: list[Any] = [
        *(ws.plutus_v1_script or []),
        *(ws.plutus_v2_script or []),
        *(ws.plutus_v3_script or []),
        *(out.script for _, out in (*view.inputs, *view.reference_inputs) if out.script is not None),
    ]
    for script in [*candidates, *(ws.native_scripts or [])]:
        language = _LANGUAGES.get(type(script), "native")
        if language != "native" or isinstance(script, NativeScript):
            raw = bytes(script) if language != "native" else script.to_cbor()
            found.setdefault(plutus_script_hash(script).payload, (language, raw))
    return found


def _target(r: _Redeemer, view: TxView, datums: Mapping[bytes, PlutusData]) -> _Target:
    """Resolve a redeemer pointer as the ledger does; a dangling one is extraneous (3110)."""
    try:
        target = _RESOLVERS[r.tag](r.index, view, datums)
    except IndexError:
        target = None
    except ContextError as exc:
        raise _context_rejection(exc, [r]) from exc
    if target is None:
        raise _extraneous(r, "points at no script-locked item of the transaction")
    return target


_Datums = Mapping[bytes, PlutusData]


def _spend_target(i: int, view: TxView, datums: _Datums) -> _Target | None:
    ref, out = view.inputs[i]
    payment = out.address.payment_part
    if not isinstance(payment, ScriptHash):
        return None
    info = constr(1, tx_out_ref(ref), _spent_datum(out, datums))
    return _Target(constr(1, tx_out_ref(ref)), info, payment.payload)


def _mint_target(i: int, view: TxView, _: _Datums) -> _Target:
    policy = view.policies[i]
    purpose = constr(0, bstr(policy.payload))
    return _Target(purpose, purpose, policy.payload)


def _cert_target(i: int, view: TxView, _: _Datums) -> _Target | None:
    cert = view.certificates[i]
    cred = _cert_credential(cert)
    if not isinstance(cred, ScriptHash):
        return None
    purpose = constr(3, integer(i), tx_cert(cert))
    return _Target(purpose, purpose, cred.payload)


def _withdraw_target(i: int, view: TxView, _: _Datums) -> _Target | None:
    account, _amount = view.withdrawals[i]
    if not account[0] & 0x10:
        return None
    purpose = constr(2, reward_account_credential(account))
    return _Target(purpose, purpose, bytes(account[1:]))


def _vote_target(i: int, view: TxView, _: _Datums) -> _Target | None:
    voter = sorted(view.tx.transaction_body.voting_procedures or {}, key=voter_key)[i]
    if not isinstance(voter.credential, ScriptHash):
        return None
    purpose = constr(4, voter_data(voter))
    return _Target(purpose, purpose, voter.credential.payload)


def _propose_target(i: int, view: TxView, _: _Datums) -> _Target | None:
    raise ContextError("governance proposals are not encoded by the devnet's V3 context")


_RESOLVERS: dict[int, Callable[[int, TxView, _Datums], _Target | None]] = {
    0: _spend_target,
    1: _mint_target,
    2: _cert_target,
    3: _withdraw_target,
    4: _vote_target,
    5: _propose_target,
}


def _extraneous(r: _Redeemer, why: str) -> NotEvaluable:
    return NotEvaluable(f"redeemer {r.pointer} {why}")


def _spent_datum(out: TransactionOutput, datums: Mapping[bytes, PlutusData]) -> PlutusData:
    if out.datum is not None:
        return just(to_data(out.datum))
    if out.datum_hash is not None:
        found = datums.get(out.datum_hash.payload)
        if found is None:
            raise NotEvaluable(f"the datum with hash {out.datum_hash.payload.hex()} of a spent script output "
                               "is not in the witness set")
        return just(found)
    return nothing()


def _cert_credential(cert: Any) -> Any:
    for field in ("stake_credential", "drep_credential", "committee_cold_credential"):
        holder = getattr(cert, field, None)
        if holder is not None:
            return holder.credential
    return None


def _context_rejection(exc: ContextError, redeemers: Sequence[_Redeemer]) -> Exception:
    """Unknown inputs cannot be evaluated; a context the ledger cannot build fails every script (3010)."""
    if isinstance(exc, UnknownInputs):
        return NotEvaluable(str(exc))
    error = {
        "code": 3012,
        "message": str(exc),
        "data": {"validationError": str(exc), "traces": []},
    }
    return ScriptFailure(
        f"no script can run: {exc}",
        ogmios_code=3010,
        data=[
            {
                "validator": {"purpose": TAG_NAMES[r.tag], "index": r.index},
                "error": error,
            }
            for r in redeemers
        ],
        location="devnet ledger, phase 2",
        hint="the devnet cannot show this transaction to a Plutus V3 script",
    )


def _limit(run: ScriptRun, budgets: str, max_ex_units: ExecutionUnits) -> Budget:
    if budgets == "max":
        return Budget(cpu=max_ex_units.steps, memory=max_ex_units.mem)
    units = run.ex_units or ExecutionUnits(0, 0)
    return Budget(cpu=units.steps, memory=units.mem)


# --- running a script ----------------------------------------------------------------


def _raw_cost_model(cost_models: Mapping[Any, Any], language: str) -> list[int]:
    raw = uplc_speed.find_raw_cost_model(cost_models, language)
    if raw is not None:
        return raw
    raise LedgerRejection(
        f"the protocol parameters have no cost model for {language}",
        ogmios_code=3115,
        data={"missingCostModels": [f"plutus:v{language[-1]}"]},
        hint="give the devnet's protocol parameters a cost model for every Plutus language used",
    )


def _run(run: ScriptRun, limit: Budget, cost_models: Mapping[Any, Any]) -> RedeemerEvaluation:
    pointer = f"{run.tag}#{run.index}"
    if run.language != "PlutusV3":
        unsupported = (
            f"unsupported: the devnet evaluates Plutus V3 scripts only; "
            f"{pointer} runs a {run.language} script"
        )
        return RedeemerEvaluation(run.tag, run.index, False, 0, 0, (), unsupported)
    models = uplc_speed.cost_models_for(run.language, _raw_cost_model(cost_models, run.language))
    try:
        program = uplc_speed.load_program(run.script)
    except uplc_speed.MalformedScript as exc:
        raise LedgerRejection(
            f"script {run.script_hash.hex()} for {pointer}: {exc}",
            ogmios_code=3116,
            data={"malformedScripts": [run.script_hash.hex()]},
        ) from exc
    result = uplc_speed.evaluate(program, [run.context], limit, models)
    cpu, mem = result.cost.cpu, result.cost.memory
    error = _failure(result.result, cpu, mem, limit)
    logs = tuple(str(line) for line in result.logs)
    return RedeemerEvaluation(run.tag, run.index, error is None, mem, cpu, logs, error)


def _failure(value: Any, cpu: int, mem: int, limit: Budget) -> str | None:
    if cpu > limit.cpu or mem > limit.memory:
        return (
            f"budget exhausted: the script needs more than memory {limit.memory} / cpu {limit.cpu} "
            f"(spent memory {mem} / cpu {cpu} before stopping)"
        )
    if isinstance(value, Exception):
        cause = value.__cause__
        detail = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
        return f"script failed: {value}{detail}"[:2000]
    if not isinstance(value, BuiltinUnit):
        shown = value.dumps() if hasattr(value, "dumps") else repr(value)
        return f"script returned {shown[:200]} instead of unit (Plutus V3 requires ())"
    return None
