"""Shared material of the phase-2 tests and benchmark: compiled test validators and
transactions that exercise them.

Validators are compiled with OpShin's Python ``build`` once per source text and OpShin
version, and cached on disk (compiling takes seconds; evaluating takes milliseconds).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import opshin
from pycardano import (
    Address,
    Asset,
    AssetName,
    ExecutionUnits,
    MultiAsset,
    Network,
    PlutusData,
    PlutusV2Script,
    PlutusV3Script,
    Redeemer,
    RedeemerTag,
    Transaction,
    TransactionBody,
    TransactionId,
    TransactionInput,
    TransactionOutput,
    TransactionWitnessSet,
    VerificationKeyHash,
    Withdrawals,
    datum_hash,
    plutus_script_hash,
)
from pycardano.plutus import RedeemerKey, RedeemerMap, RedeemerValue
from uplc.tools import flatten, parse

from runner.devnet import LedgerParams, SlotConfig

__all__ = [
    "CLOCK",
    "COST_MODELS",
    "MAX_UNITS",
    "OWNER",
    "PARAMS",
    "SCRIPTS",
    "STRANGER",
    "WALLET",
    "Lock",
    "Spend",
    "always_tx",
    "compile_script",
    "mint_tx",
    "redeemers",
    "script_address",
    "txin",
    "uplc_script",
    "withdraw_tx",
]

SCRIPTS = Path(__file__).resolve().parents[2] / "tests" / "scripts"  # the OpShin sources it compiles
PARAMS = LedgerParams.mainnet()
COST_MODELS = PARAMS.cost_models
MAX_UNITS = ExecutionUnits(PARAMS.max_tx_ex_mem, PARAMS.max_tx_ex_steps)
CLOCK = SlotConfig(system_start_ms=1_700_000_000_000)
OWNER = VerificationKeyHash(bytes.fromhex("11" * 28))
STRANGER = VerificationKeyHash(bytes.fromhex("22" * 28))
WALLET = Address(VerificationKeyHash(bytes.fromhex("33" * 28)), network=Network.TESTNET)


@dataclass
class Lock(PlutusData):  # type: ignore[misc]  # pycardano ships no type hints
    """The datum of ``lock_validator.py``."""

    CONSTR_ID = 0
    secret: int
    owner: bytes
    not_before: int


def compile_script(name: str, cache_dir: Path) -> PlutusV3Script:
    """``tests/scripts/<name>.py`` compiled by OpShin, cached by source hash on disk."""
    source = (SCRIPTS / f"{name}.py").read_text()
    key = hashlib.sha256(f"{opshin.__version__}\n{source}".encode()).hexdigest()[:24]
    cached = cache_dir / f"{name}-{key}.plutus"
    if cached.exists():
        return PlutusV3Script(cached.read_bytes())
    script = _build(str(SCRIPTS / f"{name}.py"))
    partial = cached.with_suffix(f".{os.getpid()}.partial")  # xdist workers race here
    partial.write_bytes(bytes(script))
    os.replace(partial, cached)
    return script


@functools.cache
def _build(path: str) -> PlutusV3Script:
    from opshin.builder import build

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    # the test validators compare unchecked data on purpose; keep OpShin's notes quiet
    logging.getLogger("opshin").setLevel(logging.ERROR)
    return build(path)


def txin(n: int, index: int = 0) -> TransactionInput:
    return TransactionInput(TransactionId(bytes([n]) * 32), index)


def script_address(script: PlutusV3Script) -> Address:
    return Address(plutus_script_hash(script), network=Network.TESTNET)


def redeemers(entries: list[tuple[RedeemerTag, int, object, ExecutionUnits]], form: str) -> object:
    """The same redeemers in the legacy list form or the Conway map form."""
    if form == "map":
        return RedeemerMap(
            {RedeemerKey(tag, i): RedeemerValue(data, units) for tag, i, data, units in entries}
        )
    out = []
    for tag, i, data, units in entries:
        r = Redeemer(data, units)
        r.tag, r.index = tag, i
        out.append(r)
    return out


@dataclass
class Spend:
    """One spend of ``lock_validator`` with every knob the tests turn."""

    script: PlutusV3Script
    secret: int = 42
    datum_secret: int = 42
    signer: VerificationKeyHash | None = OWNER
    validity_start: int | None = 1_000
    not_before_slot: int = 1_000
    datum_mode: str = "inline"  # or "hash"
    form: str = "list"
    units: ExecutionUnits = field(default_factory=lambda: ExecutionUnits(MAX_UNITS.mem, MAX_UNITS.steps))
    by_reference: bool = False
    fillers: int = 0  # extra key-locked inputs around the script input
    script_input: int = 7  # its tx id byte: sorts among the fillers

    def build(self) -> tuple[Transaction, dict[TransactionInput, TransactionOutput]]:
        lock = Lock(
            self.datum_secret,
            OWNER.payload,
            CLOCK.slot_to_posix_ms(self.not_before_slot),
        )
        addr = script_address(self.script)
        spent = txin(self.script_input)
        locked = (
            TransactionOutput(addr, 5_000_000, datum=lock)
            if self.datum_mode == "inline"
            else TransactionOutput(addr, 5_000_000, datum_hash=datum_hash(lock))
        )
        resolved = {spent: locked}
        inputs = [spent]
        for n in range(self.fillers):
            ref = txin(100 + n) if n % 2 else txin(1, n)
            resolved[ref] = TransactionOutput(WALLET, 2_000_000)
            inputs.append(ref)
        refs = []
        if self.by_reference:
            holder = txin(200)
            resolved[holder] = TransactionOutput(WALLET, 20_000_000, script=self.script)
            refs.append(holder)
        body = TransactionBody(
            inputs=inputs,
            outputs=[TransactionOutput(WALLET, 4_000_000)],
            fee=1_000_000,
            validity_start=self.validity_start,
            ttl=50_000,
            required_signers=[self.signer] if self.signer else None,
            reference_inputs=refs or None,
        )
        index = sorted(inputs, key=lambda r: (r.transaction_id.payload, r.index)).index(spent)
        witness = TransactionWitnessSet(
            plutus_v3_script=None if self.by_reference else [self.script],
            plutus_data=[lock] if self.datum_mode == "hash" else None,
            redeemer=redeemers([(RedeemerTag.SPEND, index, self.secret, self.units)], self.form),
        )
        return Transaction(body, witness), resolved


def uplc_script(source: str) -> PlutusV3Script:
    return PlutusV3Script(flatten(parse(source)))


def always_tx(script: PlutusV3Script | PlutusV2Script) -> tuple[Transaction, dict[TransactionInput, TransactionOutput]]:
    spent = txin(9)
    resolved = {spent: TransactionOutput(script_address(script), 3_000_000)}
    body = TransactionBody(inputs=[spent], outputs=[TransactionOutput(WALLET, 2_000_000)], fee=1_000_000)
    witness = TransactionWitnessSet(
        redeemer=redeemers([(RedeemerTag.SPEND, 0, 0, MAX_UNITS)], "list"),
        plutus_v3_script=[script] if isinstance(script, PlutusV3Script) else None,
        plutus_v2_script=[script] if isinstance(script, PlutusV2Script) else None,
    )
    return Transaction(body, witness), resolved


def mint_tx(
    script: PlutusV3Script, minted: int, redeemer: int, form: str = "list"
) -> tuple[Transaction, dict[TransactionInput, TransactionOutput]]:
    fee_input = txin(3)
    resolved = {fee_input: TransactionOutput(WALLET, 10_000_000)}
    policy = plutus_script_hash(script)
    other = plutus_script_hash(uplc_script("(program 1.1.0 (lam ctx (con unit ())))"))
    mint = MultiAsset({policy: Asset({AssetName(b"ms"): minted}), other: Asset({AssetName(b"zz"): 1})})
    index = sorted([policy.payload, other.payload]).index(policy.payload)
    body = TransactionBody(
        inputs=[fee_input],
        outputs=[TransactionOutput(WALLET, 9_000_000)],
        fee=1_000_000,
        mint=mint,
    )
    witness = TransactionWitnessSet(
        plutus_v3_script=[
            script,
            uplc_script("(program 1.1.0 (lam ctx (con unit ())))"),
        ],
        redeemer=redeemers(
            [
                (RedeemerTag.MINT, index, redeemer, MAX_UNITS),
                (RedeemerTag.MINT, 1 - index, 0, MAX_UNITS),
            ],
            form,
        ),
    )
    return Transaction(body, witness), resolved


def withdraw_tx(script: PlutusV3Script, amount: int, redeemer: int) -> tuple[Transaction, dict[TransactionInput, TransactionOutput]]:
    fee_input = txin(4)
    resolved = {fee_input: TransactionOutput(WALLET, 10_000_000)}
    # a key account: sorts after script accounts whatever its hash
    key_account = bytes([0xE0]) + bytes.fromhex("00" * 28)
    script_account = bytes([0xF0]) + plutus_script_hash(script).payload
    body = TransactionBody(
        inputs=[fee_input],
        outputs=[TransactionOutput(WALLET, 9_000_000 + amount)],
        fee=1_000_000,
        withdraws=Withdrawals({key_account: 7, script_account: amount}),
    )
    witness = TransactionWitnessSet(
        plutus_v3_script=[script],
        redeemer=redeemers([(RedeemerTag.WITHDRAWAL, 0, redeemer, MAX_UNITS)], "list"),
    )
    return Transaction(body, witness), resolved
