"""Conway UTXO rules: inputs, validity interval, network, outputs, fee, value, collateral.

Each check raises :class:`LedgerRejection` with the Ogmios v6.14 submitTransaction code
and ``data`` shape, so a client sees the same error from the devnet as from a node.
Witness rules live in ``rules.witness``, certificates in ``rules.certs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from pycardano import (
    MultiAsset,
    Network,
    ScriptHash,
    TransactionInput,
    TransactionOutput,
    Value,
)

from runner.devnet.ledger import json_codec as js
from runner.devnet.ledger.cbor import output_value
from runner.devnet.ledger.fees import UTXO_ENTRY_OVERHEAD, min_fee
from runner.devnet.ledger.params import MAX_REF_SCRIPTS_SIZE_PER_TX, LedgerParams
from runner.devnet.ledger.types import ParsedTx, StakeAccount, reward_address_text
from runner.errors import LedgerRejection

NETWORK_NAMES = {Network.TESTNET: "testnet", Network.MAINNET: "mainnet"}


def reject(code: int, message: str, data: Any = None, hint: str | None = None) -> NoReturn:
    raise LedgerRejection(message, ogmios_code=code, data=data, hint=hint, location="devnet ledger")


@dataclass
class RuleContext:
    """What the rules read: parameters, network, clock, UTxO set and stake accounts, and,
    once ``ledger_validate.resolve`` has run, the facts derived from the transaction.

    Rules only read: every derived fact (resolved outputs, certificate effects, verified
    signers, needed scripts) is filled in by the resolution step before any rule runs,
    so each rule can run alone, in any order, over a resolved transaction.
    """

    params: LedgerParams
    network: Network
    current_slot: int
    utxo: Mapping[TransactionInput, TransactionOutput]
    stake: Mapping[str, StakeAccount]
    check_signatures: bool = True
    #: every input, reference input and collateral input found in the UTxO set (rules
    #: other than BadInputsUTxO may assume all of them are found)
    resolved: dict[TransactionInput, TransactionOutput] = field(default_factory=dict)
    #: the ones not found (BadInputsUTxO)
    unknown: frozenset[TransactionInput] = frozenset()
    #: total size of the reference scripts of the inputs and reference inputs
    ref_script_size: int = 0
    #: ledger_certs.CertEffects and ledger_witness.WitnessFacts of the transaction
    certs: Any = None
    witness: Any = None


def check_size(ctx: RuleContext, ptx: ParsedTx) -> None:
    """MaxTxSizeUTxO: the ledger's size, without the is_valid flag (``TxSpans.ledger_size``)."""
    size = ptx.spans.ledger_size
    if size > ctx.params.max_tx_size:
        reject(3119, f"transaction is {size} bytes, the maximum is {ctx.params.max_tx_size}",
               {"measuredTransactionSize": {"bytes": size},
                "maximumTransactionSize": {"bytes": ctx.params.max_tx_size}},
               "split it into several transactions or use reference scripts")


def check_inputs_not_empty(ctx: RuleContext, ptx: ParsedTx) -> None:
    """InputSetEmptyUTxO."""
    if not list(ptx.tx.transaction_body.inputs or []):
        reject(3121, "transaction has no inputs", None, "every transaction spends at least one input")


def check_reference_inputs_disjoint(ctx: RuleContext, ptx: ParsedTx) -> None:
    """BabbageNonDisjointRefInputs (Conway, protocol 9+)."""
    body = ptx.tx.transaction_body
    conflicting = set(body.inputs or []) & set(body.reference_inputs or [])
    if conflicting:
        reject(3164, "the same output is both spent and referenced",
               {"conflictingReferences": js.output_references(conflicting)},
               "drop it from the reference inputs: a spent input's script is visible anyway")


def check_inputs_known(ctx: RuleContext, ptx: ParsedTx) -> None:
    """BadInputsUTxO: inputs, reference inputs and collateral all unspent."""
    if ctx.unknown:
        reject(3117, f"{len(ctx.unknown)} input(s) unknown or already spent",
               {"unknownOutputReferences": js.output_references(ctx.unknown)},
               "query the UTxO set again: another transaction may have spent them")


def check_validity_interval(ctx: RuleContext, ptx: ParsedTx) -> None:
    """OutsideValidityIntervalUTxO."""
    body = ptx.tx.transaction_body
    lower, upper = body.validity_start, body.ttl
    if (lower is not None and ctx.current_slot < lower) or (upper is not None and ctx.current_slot >= upper):
        interval: dict[str, int] = {}
        if lower is not None:
            interval["invalidBefore"] = lower
        if upper is not None:
            interval["invalidAfter"] = upper
        reject(3118, f"slot {ctx.current_slot} is outside the validity interval [{lower}, {upper})",
               {"validityInterval": interval, "currentSlot": ctx.current_slot},
               "rebuild with a validity interval that contains the current slot")


def _outputs(ptx: ParsedTx) -> list[TransactionOutput]:
    body = ptx.tx.transaction_body
    outs = list(body.outputs or [])
    if body.collateral_return is not None:
        outs.append(body.collateral_return)
    return outs


def check_network(ctx: RuleContext, ptx: ParsedTx) -> None:
    """WrongNetwork, WrongNetworkWithdrawal, WrongNetworkInTxBody (one Ogmios code)."""
    expected = NETWORK_NAMES[ctx.network]
    wrong = [str(o.address) for o in _outputs(ptx) if o.address.network != ctx.network]
    if wrong:
        reject(3124, f"output address(es) for another network than {expected}",
               {"expectedNetwork": expected, "discriminatedType": "address", "invalidEntities": wrong},
               f"use {expected} addresses (addr_test1...)")
    withdrawals = ptx.tx.transaction_body.withdraws or {}
    bad = [reward_address_text(bytes(k)) for k in withdrawals if (bytes(k)[0] & 0x0F) != ctx.network.value]
    if bad:
        reject(3124, "withdrawal from a reward account of another network",
               {"expectedNetwork": expected, "discriminatedType": "rewardAccount", "invalidEntities": bad})
    body_network = ptx.tx.transaction_body.network_id
    if body_network is not None and body_network != ctx.network:
        reject(3124, "transaction body declares another network",
               {"expectedNetwork": expected, "discriminatedType": "transaction"})


def _output_bytes(ptx: ParsedTx) -> list[tuple[TransactionOutput, bytes]]:
    """Outputs and collateral return with their submitted bytes (what the ledger measures)."""
    outs = _outputs(ptx)
    raws = ptx.spans.outputs if len(ptx.spans.outputs) == len(outs) else tuple(o.to_cbor() for o in outs)
    return list(zip(outs, raws))


def check_output_value_size(ctx: RuleContext, ptx: ParsedTx) -> None:
    """OutputTooBigUTxO: each value's serialized size, outputs and collateral return."""
    limit = ctx.params.max_val_size
    too_large = [o for o, raw in _output_bytes(ptx) if len(output_value(raw)) > limit]
    if too_large:
        reject(3120, f"{len(too_large)} output value(s) exceed {limit} bytes",
               {"excessivelyLargeOutputs": [js.output(o) for o in too_large]},
               "spread the assets over several outputs")


def check_outputs_min_ada(ctx: RuleContext, ptx: ParsedTx) -> None:
    """BabbageOutputTooSmallUTxO: coinsPerUTxOByte x (160 + output size)."""
    poor = []
    for out, raw in _output_bytes(ptx):
        needed = (UTXO_ENTRY_OVERHEAD + len(raw)) * ctx.params.coins_per_utxo_byte
        if out.amount.coin < needed:
            poor.append({"output": js.output(out), "minimumRequiredValue": js.ada(needed)})
    if poor:
        reject(3125, f"{len(poor)} output(s) below the minimum ADA (coinsPerUTxOByte x (160 + size))",
               {"insufficientlyFundedOutputs": poor},
               "add ADA to each listed output, at least minimumRequiredValue")


def _script_size(script: Any) -> int:
    """Plutus: the script bytes; native: its CBOR (the ledger's originalBytes size)."""
    return len(bytes(script)) if isinstance(script, bytes) else len(bytes(script.to_cbor()))


def reference_script_size(resolved: Mapping[TransactionInput, TransactionOutput], ptx: ParsedTx) -> int:
    body = ptx.tx.transaction_body
    refs = list(body.inputs or []) + list(body.reference_inputs or [])
    return sum(_script_size(resolved[r].script) for r in refs if r in resolved and resolved[r].script is not None)


def check_reference_scripts_size(ctx: RuleContext, ptx: ParsedTx) -> None:
    """ConwayTxRefScriptsSizeTooBig (LEDGER rule)."""
    total = ctx.ref_script_size
    if total > MAX_REF_SCRIPTS_SIZE_PER_TX:
        reject(3166, f"reference scripts total {total} bytes, the maximum is {MAX_REF_SCRIPTS_SIZE_PER_TX}",
               {"measuredReferenceScriptsSize": {"bytes": total},
                "maximumReferenceScriptsSize": {"bytes": MAX_REF_SCRIPTS_SIZE_PER_TX}},
               "reference fewer or smaller scripts")


def declared_ex_units(ptx: ParsedTx) -> tuple[int, int]:
    entries = ptx.redeemers()
    return sum(r.mem for r in entries), sum(r.steps for r in entries)


def check_ex_units(ctx: RuleContext, ptx: ParsedTx) -> None:
    """ExUnitsTooBigUTxO."""
    mem, steps = declared_ex_units(ptx)
    if mem > ctx.params.max_tx_ex_mem or steps > ctx.params.max_tx_ex_steps:
        reject(3134, f"declared execution units ({mem} mem, {steps} cpu) exceed the transaction maximum",
               {"providedExecutionUnits": {"memory": mem, "cpu": steps},
                "maximumExecutionUnits": {"memory": ctx.params.max_tx_ex_mem, "cpu": ctx.params.max_tx_ex_steps}},
               "split the work over several transactions")


def check_fee(ctx: RuleContext, ptx: ParsedTx) -> None:
    """FeeTooSmallUTxO: size x a + b + script prices + tiered reference-script fee."""
    mem, steps = declared_ex_units(ptx)
    required = min_fee(ctx.params, ptx.spans.ledger_size, mem, steps, ctx.ref_script_size)
    provided = ptx.tx.transaction_body.fee
    if provided < required:
        reject(3122, f"fee {provided} is below the minimum {required}",
               {"minimumRequiredFee": js.ada(required), "providedFee": js.ada(provided)},
               "rebalance with a higher fee (size x a + b + script prices + reference-script fee)")


def _sum_values(values: list[Value]) -> Value:
    total = Value(0, MultiAsset())
    for v in values:
        total = total + v
    return total


def check_value_preserved(ctx: RuleContext, ptx: ParsedTx) -> None:
    """ValueNotConservedUTxO, with the certificates' deposits and refunds."""
    deposits, refunds = ctx.certs.deposits, ctx.certs.refunds
    body = ptx.tx.transaction_body
    withdrawn = sum(int(v) for v in (body.withdraws or {}).values())
    mint = body.mint or MultiAsset()
    minted = MultiAsset({p: a for p, a in mint.items()})
    consumed = _sum_values([ctx.resolved[r].amount for r in body.inputs])
    consumed = consumed + Value(withdrawn + refunds, minted)
    produced = _sum_values([o.amount for o in body.outputs])
    produced = produced + Value(body.fee + deposits + int(body.donation or 0), MultiAsset())
    if _normalized(consumed) != _normalized(produced):
        reject(3123, "inputs + withdrawals + refunds + mint do not equal outputs + fee + deposits",
               {"valueConsumed": js.value(_normalized(consumed)), "valueProduced": js.value(_normalized(produced))},
               "balance the transaction: the difference must go to a change output")


def _normalized(v: Value) -> Value:
    """Drop zero quantities and empty policies so equal values compare equal."""
    clean = MultiAsset()
    for policy, assets in v.multi_asset.items():
        kept = {n: q for n, q in assets.items() if q != 0}
        if kept:
            clean[policy] = type(assets)(kept)
    return Value(v.coin, clean)


def is_script_locked(out: TransactionOutput) -> bool:
    return isinstance(out.address.payment_part, ScriptHash)


def check_collateral(ctx: RuleContext, ptx: ParsedTx) -> None:
    """ValidateCollateral (cardano-ledger's feesOK and the UTXO collateral checks):
    NoCollateralInputs, TooManyCollateralInputs, ScriptsNotPaidUTxO,
    CollateralContainsNonADA, InsufficientCollateral, IncorrectTotalCollateralField;
    applied only when Plutus scripts run."""
    if not ptx.redeemers():
        return
    body = ptx.tx.transaction_body
    refs = list(body.collateral or [])
    params = ctx.params
    if not refs:
        reject(3132, "scripts run but the transaction has no collateral inputs", None,
               "add a key-locked, ADA-only UTxO as collateral")
    if len(refs) > params.max_collateral_inputs:
        reject(3131, f"{len(refs)} collateral inputs, the maximum is {params.max_collateral_inputs}",
               {"maximumCollateralInputs": params.max_collateral_inputs, "countedCollateralInputs": len(refs)})
    locked = [r for r in refs if is_script_locked(ctx.resolved[r])]
    if locked:
        reject(3129, "collateral input(s) locked by a script",
               {"unsuitableCollateralInputs": js.output_references(locked)},
               "use UTxOs at a key address as collateral")
    balance = _sum_values([ctx.resolved[r].amount for r in refs])
    if body.collateral_return is not None:
        balance = balance - body.collateral_return.amount
    balance = _normalized(balance)
    if balance.multi_asset:
        reject(3133, "collateral carries native assets that no collateral return gives back",
               {"unsuitableCollateralValue": js.value(balance)},
               "add a collateral return output with the assets, or use ADA-only collateral")
    required = -(-body.fee * params.collateral_percent // 100)
    if balance.coin * 100 < body.fee * params.collateral_percent:
        reject(3128, f"collateral {balance.coin} is below {params.collateral_percent}% of the fee ({required})",
               {"providedCollateral": js.ada(balance.coin), "minimumRequiredCollateral": js.ada(required)},
               "add collateral or lower the collateral return")
    if body.total_collateral is not None and body.total_collateral != balance.coin:
        reject(3135, f"declared total collateral {body.total_collateral} differs from the actual {balance.coin}",
               {"declaredTotalCollateral": js.ada(body.total_collateral),
                "computedTotalCollateral": js.ada(balance.coin)})
