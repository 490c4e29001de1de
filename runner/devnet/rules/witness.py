"""Conway UTXOW rules: signatures, scripts, redeemers, datums, script integrity.

The needed scripts and their redeemer pointers follow the ledger's orderings: spend
indices over inputs sorted by (tx id, index), mint over sorted policy ids, publish by
certificate position, withdraw over reward accounts in the ledger's order (script
credentials before key credentials). Hashes are taken over the submitted bytes
(``ledger.cbor``), never over a re-encoding.
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

from runner.devnet.ledger import json_codec as js
from runner.devnet.ledger.fees import script_integrity_hash
from runner.devnet.ledger.types import (
    ParsedTx,
    reward_account_credential,
    reward_account_sort_key,
    reward_address_text,
)
from runner.devnet.rules.certs import CertEffects
from runner.devnet.rules.utxo import RuleContext, reject

LANGUAGE_OF = {PlutusV1Script: "PlutusV1", PlutusV2Script: "PlutusV2", PlutusV3Script: "PlutusV3"}


@dataclass(frozen=True)
class NeededScript:
    """A script the transaction must run or satisfy, and where its redeemer points."""

    tag: RedeemerTag
    index: int
    script_hash: bytes
    purpose: dict[str, Any]


@dataclass(frozen=True)
class WitnessFacts:
    """What the witness rules read, derived once by the resolution step."""

    #: key hashes of the vkey witnesses whose signature verifies (all of them when
    #: signatures are not checked, as in ``Ledger.evaluate``)
    signers: frozenset[bytes]
    #: verification keys (hex) whose signature does not verify over the body hash
    invalid: tuple[str, ...]
    needed: tuple[NeededScript, ...]
    #: script hash -> script, from the witness set and the (reference) inputs' scripts
    available: dict[bytes, Any]
    #: script hash -> script, from the witness set only
    attached: dict[bytes, Any]

    @property
    def plutus(self) -> tuple[NeededScript, ...]:
        """The needed scripts that are Plutus scripts (and are available)."""
        return tuple(n for n in self.needed
                     if n.script_hash in self.available and not isinstance(self.available[n.script_hash], NativeScript))

    @property
    def scripts(self) -> dict[bytes, Any]:
        return self.available


def witness_facts(ctx: RuleContext, ptx: ParsedTx, certs: CertEffects) -> WitnessFacts:
    signers, invalid = _verify_signatures(ctx, ptx)
    attached = _witness_scripts(ptx)
    return WitnessFacts(signers, invalid, tuple(needed_scripts(ctx, ptx, certs)),
                        {**_reference_scripts(ctx, ptx), **attached}, attached)


def _blake224(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=28).digest()


def needed_scripts(ctx: RuleContext, ptx: ParsedTx, certs: CertEffects) -> list[NeededScript]:
    body = ptx.tx.transaction_body
    needed: list[NeededScript] = []
    for i, ref in enumerate(sorted(body.inputs, key=js.input_sort_key)):
        if ref not in ctx.resolved:
            continue  # BadInputsUTxO reports it
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
        script = ctx.resolved[ref].script if ref in ctx.resolved else None
        if script is not None:
            out[script_hash(script).payload] = script
    return out


def _verify_signatures(ctx: RuleContext, ptx: ParsedTx) -> tuple[frozenset[bytes], tuple[str, ...]]:
    """(key hashes of valid vkey witnesses, hex keys of invalid ones)."""
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
    return frozenset(signers), tuple(invalid)


def check_signatures_valid(ctx: RuleContext, ptx: ParsedTx) -> None:
    """InvalidWitnessesUTXOW: every vkey witness signs the body hash."""
    invalid = list(ctx.witness.invalid)
    if invalid:
        reject(3100, f"{len(invalid)} signature(s) do not verify over the body hash {ptx.tx_id_hex}",
               {"invalidSignatories": invalid},
               "sign the transaction id (blake2b-256 of the body) after the last body change")


def required_signers(ctx: RuleContext, ptx: ParsedTx, certs: CertEffects) -> set[bytes]:
    body = ptx.tx.transaction_body
    required: set[bytes] = set()
    for ref in list(body.inputs) + list(body.collateral or []):
        part = ctx.resolved[ref].address.payment_part if ref in ctx.resolved else None
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


def check_scripts_present(ctx: RuleContext, ptx: ParsedTx) -> None:
    """MissingScriptWitnessesUTXOW: every needed script attached or referenced."""
    facts: WitnessFacts = ctx.witness
    missing = sorted({n.script_hash.hex() for n in facts.needed if n.script_hash not in facts.available})
    if missing:
        reject(3102, f"{len(missing)} needed script(s) neither in the witness set nor referenced",
               {"missingScripts": missing}, "attach the script or reference an output that carries it")


def check_no_extraneous_scripts(ctx: RuleContext, ptx: ParsedTx) -> None:
    """ExtraneousScriptWitnessesUTXOW: no attached script that nothing needs."""
    needed = {n.script_hash for n in ctx.witness.needed}
    extraneous = sorted(h.hex() for h in ctx.witness.attached if h not in needed)
    if extraneous:
        reject(3104, f"{len(extraneous)} script(s) in the witness set are not needed",
               {"extraneousScripts": extraneous}, "remove scripts that no input, policy or credential needs")


def check_native_scripts(ctx: RuleContext, ptx: ParsedTx) -> None:
    """ScriptWitnessNotValidatingUTXOW: needed native scripts hold."""
    if not ctx.check_signatures:
        return
    facts: WitnessFacts = ctx.witness
    body = ptx.tx.transaction_body
    failing = sorted({n.script_hash.hex() for n in facts.needed
                      if isinstance(facts.available.get(n.script_hash), NativeScript)
                      and not native_script_holds(facts.available[n.script_hash], set(facts.signers),
                                                  body.validity_start, body.ttl)})
    if failing:
        reject(3103, f"{len(failing)} native script(s) fail", {"failingNativeScripts": failing},
               "add the signatures the script requires or fix the validity interval")


def check_vkey_witnesses(ctx: RuleContext, ptx: ParsedTx) -> None:
    """MissingVKeyWitnessesUTXOW: key-locked inputs and collateral, key credentials of
    certificates and withdrawals, and required signers all sign."""
    if not ctx.check_signatures:
        return
    missing_signers = sorted(h.hex() for h in required_signers(ctx, ptx, ctx.certs) - ctx.witness.signers)
    if missing_signers:
        reject(3101, f"{len(missing_signers)} required signature(s) missing",
               {"missingSignatories": missing_signers},
               "sign with the keys of every key-locked input, collateral, credential and required signer")


def check_redeemers_present(ctx: RuleContext, ptx: ParsedTx) -> None:
    """MissingRedeemers: one redeemer per Plutus script purpose."""
    given = {(r.tag, r.index) for r in ptx.redeemers()}
    missing = [n.purpose for n in ctx.witness.plutus if (n.tag, n.index) not in given]
    if missing:
        reject(3109, f"{len(missing)} Plutus script(s) have no redeemer", {"missingRedeemers": missing},
               "add a redeemer for each listed purpose (spend indices follow sorted inputs)")


def check_no_extra_redeemers(ctx: RuleContext, ptx: ParsedTx) -> None:
    """ExtraRedeemers: every redeemer points at a Plutus script purpose."""
    wanted = {(n.tag, n.index) for n in ctx.witness.plutus}
    given = {(r.tag, r.index) for r in ptx.redeemers()}
    extra = sorted(given - wanted, key=lambda k: (k[0].value, k[1]))
    if extra:
        reject(3110, f"{len(extra)} redeemer(s) point to no Plutus script",
               {"extraneousRedeemers": [js.redeemer_pointer(t, i) for t, i in extra]},
               "remove them or fix their index (inputs are sorted by tx id, then index)")


def _spent_by_plutus(ctx: RuleContext, ptx: ParsedTx) -> list[tuple[Any, TransactionOutput, NeededScript]]:
    spent = sorted(ptx.tx.transaction_body.inputs, key=js.input_sort_key)
    return [(spent[n.index], ctx.resolved[spent[n.index]], n) for n in ctx.witness.plutus if n.tag == RedeemerTag.SPEND]


def check_spent_outputs_have_datums(ctx: RuleContext, ptx: ParsedTx) -> None:
    """UnspendableUTxONoDatumHash: a V1/V2 script output without a datum can never be spent."""
    available = ctx.witness.available
    orphans = [ref for ref, out, n in _spent_by_plutus(ctx, ptx)
               if out.datum_hash is None and out.datum is None
               and LANGUAGE_OF[type(available[n.script_hash])] != "PlutusV3"]
    if orphans:
        reject(3114, "Plutus V1/V2 script input(s) without a datum can never be spent",
               {"orphanScriptInputs": js.output_references(orphans)},
               "such an output is locked forever; only Plutus V3 scripts accept a missing datum")


def _provided_datums(ptx: ParsedTx) -> set[bytes]:
    return {hashlib.blake2b(item, digest_size=32).digest() for item in ptx.spans.datum_items}


def _needed_datums(ctx: RuleContext, ptx: ParsedTx) -> set[bytes]:
    return {out.datum_hash.payload for _, out, _ in _spent_by_plutus(ctx, ptx) if out.datum_hash is not None}


def check_datums_present(ctx: RuleContext, ptx: ParsedTx) -> None:
    """MissingRequiredDatums: the datum of every hashed script input is in the witness set."""
    missing = sorted(h.hex() for h in _needed_datums(ctx, ptx) - _provided_datums(ptx))
    if missing:
        reject(3111, f"{len(missing)} datum(s) of spent script inputs are not in the witness set",
               {"missingDatums": missing}, "attach the datum whose hash the input carries")


def check_no_supplemental_datums(ctx: RuleContext, ptx: ParsedTx) -> None:
    """NotAllowedSupplementalDatums: witness datums are needed or named by an output."""
    body = ptx.tx.transaction_body
    allowed = _needed_datums(ctx, ptx)
    refs = list(body.inputs) + list(body.reference_inputs or [])
    for out in list(body.outputs) + [ctx.resolved[r] for r in refs if r in ctx.resolved]:
        if out.datum_hash is not None:
            allowed.add(out.datum_hash.payload)
    extraneous = sorted(h.hex() for h in _provided_datums(ptx) - allowed)
    if extraneous:
        reject(3112, f"{len(extraneous)} datum(s) in the witness set are not needed",
               {"extraneousDatums": extraneous}, "remove datums no input or output refers to")


def plutus_languages(ctx: RuleContext) -> set[str]:
    return {LANGUAGE_OF[type(ctx.witness.available[n.script_hash])] for n in ctx.witness.plutus}


def check_integrity(ctx: RuleContext, ptx: ParsedTx) -> None:
    """PPViewHashesDontMatch: the script-data hash covers redeemers, datums, cost models."""
    computed = script_integrity_hash(
        ctx.params, ptx.spans.redeemers, ptx.spans.datums, plutus_languages(ctx), has_redeemers=bool(ptx.redeemers())
    )
    declared = ptx.tx.transaction_body.script_data_hash
    declared_bytes = declared.payload if declared is not None else None
    if declared_bytes != computed:
        reject(3113, "script integrity hash does not match the redeemers, datums and cost models",
               {"providedScriptIntegrity": declared_bytes.hex() if declared_bytes else None,
                "computedScriptIntegrity": computed.hex() if computed else None},
               "recompute script_data_hash after the last change to redeemers or datums, "
               "with the devnet's cost models")
