"""Conway UTXOW rules: signatures, scripts, redeemers, datums, script integrity.

The needed scripts and their redeemer pointers follow the ledger's orderings: spend
indices over inputs sorted by (tx id, index), mint over sorted policy ids, publish by
certificate position, withdraw over reward accounts in the ledger's order (script
credentials before key credentials). Hashes are taken over the submitted bytes
(``ledger_cbor``), never over a re-encoding.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from pycardano import (
    InvalidBefore,
    InvalidHereAfter,
    NativeScript,
    PlutusV1Script,
    PlutusV2Script,
    PlutusV3Script,
    RedeemerTag,
    ScriptAll,
    ScriptAny,
    ScriptHash,
    ScriptNofK,
    ScriptPubkey,
    TransactionOutput,
    VerificationKeyHash,
    script_hash,
)

from runner.chain.devnet import ledger_json as js
from runner.chain.devnet.ledger_certs import CertEffects
from runner.chain.devnet.ledger_fees import script_integrity_hash
from runner.chain.devnet.ledger_rules import RuleContext, reject
from runner.chain.devnet.ledger_types import (
    ParsedTx,
    reward_account_credential,
    reward_account_sort_key,
    reward_address_text,
)

LANGUAGE_OF = {PlutusV1Script: "PlutusV1", PlutusV2Script: "PlutusV2", PlutusV3Script: "PlutusV3"}


@dataclass(frozen=True)
class NeededScript:
    """A script the transaction must run or satisfy, and where its redeemer points."""

    tag: RedeemerTag
    index: int
    script_hash: bytes
    purpose: dict[str, Any]


@dataclass(frozen=True)
class WitnessResult:
    plutus: tuple[NeededScript, ...]
    scripts: dict[bytes, Any]


def _blake224(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=28).digest()


def needed_scripts(ctx: RuleContext, ptx: ParsedTx, certs: CertEffects) -> list[NeededScript]:
    body = ptx.tx.transaction_body
    needed: list[NeededScript] = []
    for i, ref in enumerate(sorted(body.inputs, key=js.input_sort_key)):
        part = ctx.resolved[ref].address.payment_part
        if isinstance(part, ScriptHash):
            needed.append(NeededScript(RedeemerTag.SPEND, i, part.payload,
                                       {"purpose": "spend", "outputReference": js.output_reference(ref)}))
    for i, policy in enumerate(sorted((body.mint or {}).keys(), key=lambda p: p.payload)):
        needed.append(NeededScript(RedeemerTag.MINT, i, policy.payload, {"purpose": "mint", "policy": policy.payload.hex()}))
    for index, credential, kind in certs.witnesses:
        if isinstance(credential, ScriptHash):
            cert = {"type": kind, "credential": credential.payload.hex(), "from": "script"}
            needed.append(NeededScript(RedeemerTag.CERTIFICATE, index, credential.payload,
                                       {"purpose": "publish", "certificate": cert}))
    accounts = sorted((bytes(a) for a in (body.withdraws or {})), key=reward_account_sort_key)
    for i, account in enumerate(accounts):
        key, _ = reward_account_credential(account)
        if key.startswith("script:"):
            needed.append(NeededScript(RedeemerTag.WITHDRAWAL, i, bytes.fromhex(key[7:]),
                                       {"purpose": "withdraw", "rewardAccount": reward_address_text(account)}))
    return needed


def _witness_scripts(ptx: ParsedTx) -> dict[bytes, Any]:
    ws = ptx.tx.transaction_witness_set
    out: dict[bytes, Any] = {}
    for group in (ws.native_scripts, ws.plutus_v1_script, ws.plutus_v2_script, ws.plutus_v3_script):
        for item in group or []:
            out[script_hash(item).payload] = item
    return out


def _reference_scripts(ctx: RuleContext, ptx: ParsedTx) -> dict[bytes, Any]:
    body = ptx.tx.transaction_body
    out: dict[bytes, Any] = {}
    for ref in list(body.inputs) + list(body.reference_inputs or []):
        script = ctx.resolved[ref].script
        if script is not None:
            out[script_hash(script).payload] = script
    return out


def verified_signers(ctx: RuleContext, ptx: ParsedTx) -> set[bytes]:
    """Key hashes of the vkey witnesses; an invalid signature is a rejection (3100)."""
    signers: set[bytes] = set()
    invalid: list[str] = []
    for witness in ptx.tx.transaction_witness_set.vkey_witnesses or []:
        vkey = bytes(witness.vkey.payload)
        if ctx.check_signatures:
            try:
                VerifyKey(vkey).verify(ptx.tx_id, bytes(witness.signature))
            except (BadSignatureError, ValueError):
                invalid.append(vkey.hex())
                continue
        signers.add(_blake224(vkey))
    if invalid:
        reject(3100, f"{len(invalid)} signature(s) do not verify over the body hash {ptx.tx_id_hex}",
               {"invalidSignatories": invalid},
               "sign the transaction id (blake2b-256 of the body) after the last body change")
    return signers


def required_signers(ctx: RuleContext, ptx: ParsedTx, certs: CertEffects) -> set[bytes]:
    body = ptx.tx.transaction_body
    required: set[bytes] = set()
    for ref in list(body.inputs) + list(body.collateral or []):
        part = ctx.resolved[ref].address.payment_part
        if isinstance(part, VerificationKeyHash):
            required.add(part.payload)
    for _, credential, _ in certs.witnesses:
        if isinstance(credential, VerificationKeyHash):
            required.add(credential.payload)
    for account in body.withdraws or {}:
        key, _ = reward_account_credential(bytes(account))
        if key.startswith("key:"):
            required.add(bytes.fromhex(key[4:]))
    required.update(bytes(h.payload) for h in body.required_signers or [])
    return required


def native_script_holds(script: NativeScript, signers: set[bytes], lower: int | None, upper: int | None) -> bool:
    if isinstance(script, ScriptPubkey):
        return bytes(script.key_hash.payload) in signers
    if isinstance(script, ScriptAll):
        return all(native_script_holds(s, signers, lower, upper) for s in script.native_scripts)
    if isinstance(script, ScriptAny):
        return any(native_script_holds(s, signers, lower, upper) for s in script.native_scripts)
    if isinstance(script, ScriptNofK):
        return sum(native_script_holds(s, signers, lower, upper) for s in script.native_scripts) >= int(script.n)
    if isinstance(script, InvalidBefore):
        return lower is not None and lower >= script.before
    if isinstance(script, InvalidHereAfter):
        return upper is not None and upper <= script.after
    return False


def check_witnesses(ctx: RuleContext, ptx: ParsedTx, certs: CertEffects) -> WitnessResult:
    signers = verified_signers(ctx, ptx)
    needed = needed_scripts(ctx, ptx, certs)
    witness = _witness_scripts(ptx)
    available = {**_reference_scripts(ctx, ptx), **witness}
    needed_hashes = {n.script_hash for n in needed}
    missing = sorted({n.script_hash.hex() for n in needed if n.script_hash not in available})
    if missing:
        reject(3102, f"{len(missing)} needed script(s) neither in the witness set nor referenced",
               {"missingScripts": missing}, "attach the script or reference an output that carries it")
    extraneous = sorted(h.hex() for h in witness if h not in needed_hashes)
    if extraneous:
        reject(3104, f"{len(extraneous)} script(s) in the witness set are not needed",
               {"extraneousScripts": extraneous}, "remove scripts that no input, policy or credential needs")
    body = ptx.tx.transaction_body
    if ctx.check_signatures:
        failing = sorted({n.script_hash.hex() for n in needed
                          if isinstance(available[n.script_hash], NativeScript)
                          and not native_script_holds(available[n.script_hash], signers,
                                                      body.validity_start, body.ttl)})
        if failing:
            reject(3103, f"{len(failing)} native script(s) fail", {"failingNativeScripts": failing},
                   "add the signatures the script requires or fix the validity interval")
        missing_signers = sorted(h.hex() for h in required_signers(ctx, ptx, certs) - signers)
        if missing_signers:
            reject(3101, f"{len(missing_signers)} required signature(s) missing",
                   {"missingSignatories": missing_signers},
                   "sign with the keys of every key-locked input, collateral, credential and required signer")
    plutus = tuple(n for n in needed if not isinstance(available[n.script_hash], NativeScript))
    _check_redeemers(ptx, plutus)
    _check_datums(ctx, ptx, plutus, available)
    _check_integrity(ctx, ptx, plutus, available)
    return WitnessResult(plutus, available)


def _check_redeemers(ptx: ParsedTx, plutus: tuple[NeededScript, ...]) -> None:
    wanted = {(n.tag, n.index): n for n in plutus}
    given = {(r.tag, r.index) for r in ptx.redeemers()}
    missing = [n.purpose for key, n in wanted.items() if key not in given]
    if missing:
        reject(3109, f"{len(missing)} Plutus script(s) have no redeemer", {"missingRedeemers": missing},
               "add a redeemer for each listed purpose (spend indices follow sorted inputs)")
    extra = sorted(given - set(wanted), key=lambda k: (k[0].value, k[1]))
    if extra:
        reject(3110, f"{len(extra)} redeemer(s) point to no Plutus script",
               {"extraneousRedeemers": [js.redeemer_pointer(t, i) for t, i in extra]},
               "remove them or fix their index (inputs are sorted by tx id, then index)")


def _check_datums(ctx: RuleContext, ptx: ParsedTx, plutus: tuple[NeededScript, ...], available: dict[bytes, Any]) -> None:
    body = ptx.tx.transaction_body
    provided = {hashlib.blake2b(item, digest_size=32).digest() for item in ptx.spans.datum_items}
    spent = sorted(body.inputs, key=js.input_sort_key)
    needed: set[bytes] = set()
    orphans = []
    for n in plutus:
        if n.tag != RedeemerTag.SPEND:
            continue
        out: TransactionOutput = ctx.resolved[spent[n.index]]
        if out.datum_hash is not None:
            needed.add(out.datum_hash.payload)
        elif out.datum is None and LANGUAGE_OF[type(available[n.script_hash])] != "PlutusV3":
            orphans.append(spent[n.index])
    if orphans:
        reject(3114, "Plutus V1/V2 script input(s) without a datum can never be spent",
               {"orphanScriptInputs": js.output_references(orphans)})
    missing = sorted(h.hex() for h in needed - provided)
    if missing:
        reject(3111, f"{len(missing)} datum(s) of spent script inputs are not in the witness set",
               {"missingDatums": missing}, "attach the datum whose hash the input carries")
    allowed = set(needed)
    for out in list(body.outputs) + [ctx.resolved[r] for r in list(body.inputs) + list(body.reference_inputs or [])]:
        if out.datum_hash is not None:
            allowed.add(out.datum_hash.payload)
    extraneous = sorted(h.hex() for h in provided - allowed)
    if extraneous:
        reject(3112, f"{len(extraneous)} datum(s) in the witness set are not needed",
               {"extraneousDatums": extraneous}, "remove datums no input or output refers to")


def _check_integrity(ctx: RuleContext, ptx: ParsedTx, plutus: tuple[NeededScript, ...], available: dict[bytes, Any]) -> None:
    languages = {LANGUAGE_OF[type(available[n.script_hash])] for n in plutus}
    computed = script_integrity_hash(
        ctx.params, ptx.spans.redeemers, ptx.spans.datums, languages, has_redeemers=bool(ptx.redeemers())
    )
    declared = ptx.tx.transaction_body.script_data_hash
    declared_bytes = declared.payload if declared is not None else None
    if declared_bytes != computed:
        reject(3113, "script integrity hash does not match the redeemers, datums and cost models",
               {"providedScriptIntegrity": declared_bytes.hex() if declared_bytes else None,
                "computedScriptIntegrity": computed.hex() if computed else None},
               "recompute script_data_hash after the last change to redeemers or datums, "
               "with the devnet's cost models")
