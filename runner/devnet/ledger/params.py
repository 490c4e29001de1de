"""Protocol parameters of the devnet ledger.

The devnet must charge exactly what mainnet charges, or a transaction that passes here
fails there. So the default is a verbatim copy of mainnet's epoch-616 parameters
(``data/mainnet-epoch-616.json``, see ``data/ORIGIN.md``); a file with the same shape
overrides it. Decimal prices are read as exact fractions (``0.0577`` -> ``577/10000``):
the ledger computes fees with rationals, and a float would round differently.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from pycardano import ProtocolParameters

from runner.errors import ConfigError

MAINNET_616 = Path(__file__).parent / "data" / "mainnet-epoch-616.json"

#: Conway constants that are not protocol parameters (cardano-ledger, Conway era).
REF_SCRIPT_TIER_BYTES = 25 * 1024
REF_SCRIPT_TIER_MULTIPLIER = Fraction(6, 5)
MAX_REF_SCRIPTS_SIZE_PER_TX = 200 * 1024
MAX_REF_SCRIPTS_SIZE_PER_BLOCK = 1024 * 1024

LANGUAGES = ("PlutusV1", "PlutusV2", "PlutusV3")


def _frac(value: Any) -> Fraction:
    """Exact fraction of a JSON number or "a/b" string (floats go through their repr)."""
    if isinstance(value, str) and "/" in value:
        num, den = value.split("/", 1)
        return Fraction(int(num), int(den))
    return Fraction(str(value))


@dataclass(frozen=True)
class LedgerParams:
    """The parameters the phase-1 rules read, with exact types (ints and Fractions)."""

    epoch: int
    min_fee_a: int
    min_fee_b: int
    max_block_size: int
    max_tx_size: int
    max_block_header_size: int
    key_deposit: int
    pool_deposit: int
    drep_deposit: int
    gov_action_deposit: int
    min_pool_cost: int
    max_val_size: int
    collateral_percent: int
    max_collateral_inputs: int
    coins_per_utxo_byte: int
    price_mem: Fraction
    price_step: Fraction
    max_tx_ex_mem: int
    max_tx_ex_steps: int
    max_block_ex_mem: int
    max_block_ex_steps: int
    min_fee_ref_script_cost_per_byte: Fraction
    protocol_major: int
    protocol_minor: int
    cost_models: Mapping[str, tuple[int, ...]]
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    source: str = field(default="", compare=False)

    @classmethod
    def mainnet(cls) -> LedgerParams:
        """Mainnet epoch 616, the default of every devnet."""
        return cls.from_file(MAINNET_616)

    @classmethod
    def from_file(cls, path: str | Path) -> LedgerParams:
        try:
            raw = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"cannot read protocol parameters: {exc}",
                location=str(path),
                hint="give a JSON file shaped like runner/devnet/ledger/data/mainnet-epoch-616.json",
            ) from exc
        return cls.from_dict(raw, source=str(path))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], source: str = "<dict>") -> LedgerParams:
        try:
            return cls._from_dict(raw, source)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"protocol parameters are incomplete or malformed: {exc!r}",
                location=source,
                hint="every key of data/mainnet-epoch-616.json is required",
            ) from exc

    @classmethod
    def _from_dict(cls, raw: Mapping[str, Any], source: str) -> LedgerParams:
        models_raw = raw["cost_models_raw"]
        return cls(
            epoch=int(raw.get("epoch", 0)),
            min_fee_a=int(raw["min_fee_a"]),
            min_fee_b=int(raw["min_fee_b"]),
            max_block_size=int(raw["max_block_size"]),
            max_tx_size=int(raw["max_tx_size"]),
            max_block_header_size=int(raw["max_block_header_size"]),
            key_deposit=int(raw["key_deposit"]),
            pool_deposit=int(raw["pool_deposit"]),
            drep_deposit=int(raw.get("drep_deposit", 0)),
            gov_action_deposit=int(raw.get("gov_action_deposit", 0)),
            min_pool_cost=int(raw["min_pool_cost"]),
            max_val_size=int(raw["max_val_size"]),
            collateral_percent=int(raw["collateral_percent"]),
            max_collateral_inputs=int(raw["max_collateral_inputs"]),
            coins_per_utxo_byte=int(raw["coins_per_utxo_size"]),
            price_mem=_frac(raw["price_mem"]),
            price_step=_frac(raw["price_step"]),
            max_tx_ex_mem=int(raw["max_tx_ex_mem"]),
            max_tx_ex_steps=int(raw["max_tx_ex_steps"]),
            max_block_ex_mem=int(raw["max_block_ex_mem"]),
            max_block_ex_steps=int(raw["max_block_ex_steps"]),
            min_fee_ref_script_cost_per_byte=_frac(raw.get("min_fee_ref_script_cost_per_byte", 0)),
            protocol_major=int(raw["protocol_major_ver"]),
            protocol_minor=int(raw["protocol_minor_ver"]),
            cost_models={k: tuple(int(x) for x in v) for k, v in models_raw.items()},
            raw=dict(raw),
            source=source,
        )

    def cost_model(self, language: str) -> list[int]:
        """Raw cost model of "PlutusV1" | "PlutusV2" | "PlutusV3" (also "plutus:v3", "v3")."""
        key = _language_key(language)
        if key not in self.cost_models:
            raise KeyError(f"no cost model for {language}")
        return list(self.cost_models[key])

    def cost_models_by_ogmios_name(self) -> dict[str, list[int]]:
        """Cost models keyed as Ogmios names them ("plutus:v1", ...)."""
        return {f"plutus:v{k[-1]}": list(v) for k, v in self.cost_models.items()}

    def to_pycardano(self) -> ProtocolParameters:
        """pycardano's view, so its TransactionBuilder computes the same fees and hashes."""
        raw = self.raw
        return ProtocolParameters(
            min_fee_constant=self.min_fee_b,
            min_fee_coefficient=self.min_fee_a,
            max_block_size=self.max_block_size,
            max_tx_size=self.max_tx_size,
            max_block_header_size=self.max_block_header_size,
            key_deposit=self.key_deposit,
            pool_deposit=self.pool_deposit,
            pool_influence=_frac(raw.get("a0", 0)),
            monetary_expansion=_frac(raw.get("rho", 0)),
            treasury_expansion=_frac(raw.get("tau", 0)),
            decentralization_param=_frac(raw.get("decentralisation_param") or 0),
            extra_entropy=str(raw.get("extra_entropy") or ""),
            protocol_major_version=self.protocol_major,
            protocol_minor_version=self.protocol_minor,
            min_utxo=int(raw.get("min_utxo", 0)),
            min_pool_cost=self.min_pool_cost,
            price_mem=self.price_mem,
            price_step=self.price_step,
            max_tx_ex_mem=self.max_tx_ex_mem,
            max_tx_ex_steps=self.max_tx_ex_steps,
            max_block_ex_mem=self.max_block_ex_mem,
            max_block_ex_steps=self.max_block_ex_steps,
            max_val_size=self.max_val_size,
            collateral_percent=self.collateral_percent,
            max_collateral_inputs=self.max_collateral_inputs,
            coins_per_utxo_word=int(raw.get("coins_per_utxo_word", 0)),
            coins_per_utxo_byte=self.coins_per_utxo_byte,
            # Zero-padded index keys keep the raw order under pycardano's sorted() (V1)
            # and insertion order (V2, V3): the same trick as its Ogmios backend.
            cost_models={
                lang: {f"{i:03d}": v for i, v in enumerate(model)}
                for lang, model in self.cost_models.items()
            },
            maximum_reference_scripts_size={"bytes": MAX_REF_SCRIPTS_SIZE_PER_TX},
            min_fee_reference_scripts={
                "base": float(self.min_fee_ref_script_cost_per_byte),
                "range": REF_SCRIPT_TIER_BYTES,
                "multiplier": float(REF_SCRIPT_TIER_MULTIPLIER),
            },
        )


def _language_key(language: str) -> str:
    text = language.lower().replace("plutus", "").replace(":", "").replace("_", "")
    return f"PlutusV{text.lstrip('v')}"
