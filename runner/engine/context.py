"""What every step sees: the chain, the data directory, the keys, the settings.

Keys: cardano-cli ``.skey`` text envelopes, loaded once into a :class:`KeyRing` that
signs and exposes only key hashes and addresses.  Its ``repr`` names hashes, never key
bytes; nothing in the engine writes a key to output, logs, the journal or the cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pycardano as pc

from runner.engine.chainview import ChainView
from runner.errors import UserInputError
from runner.store.datadir import DataDir
from runner.store.journal import Journal


@dataclass(frozen=True)
class Settings:
    """How the engine waits: confirmation depth (blocks), deadlines (seconds), polling."""

    confirmations: int = 0
    confirm_timeout: float = 120.0
    poll_interval: float = 1.0
    max_rounds: int = 4  # observe/decide/act rounds per step (a release may need several)
    #: confirmed transactions younger than this are checked again at the next run (rollbacks)
    recheck_confirmed_s: float = 3600.0
    clock: Callable[[], float] = field(default=time.monotonic)
    wall_clock: Callable[[], float] = field(default=time.time)
    sleep: Callable[[float], None] = field(default=time.sleep)


class KeyRing:
    """Signing keys by payment key hash; the keys themselves never leave this object."""

    def __init__(self, keys: Iterable[pc.SigningKey] = ()) -> None:
        self._keys: dict[bytes, pc.SigningKey] = {}
        for key in keys:
            self.add(key)

    def add(self, key: pc.SigningKey) -> bytes:
        key_hash = bytes(key.to_verification_key().hash())
        self._keys[key_hash] = key
        return key_hash

    def load(self, path: Path, flag: str) -> bytes:
        """Read a cardano-cli ``.skey`` envelope; a bad file is named, its content never shown."""
        try:
            key = pc.PaymentSigningKey.load(str(path))
        except FileNotFoundError as exc:
            raise UserInputError("signing key file not found", location=f"{flag} {path}",
                                 hint="give the path of a cardano-cli .skey file") from exc
        except Exception:  # noqa: BLE001  # pycardano raises many types; `from None`: the content stays secret
            raise UserInputError("not a cardano-cli payment signing key envelope", location=f"{flag} {path}",
                                 hint='expected {"type": "PaymentSigningKeyShelley_ed25519", "cborHex": ...}'
                                 ) from None
        return self.add(key)

    def keys(self) -> list[pc.SigningKey]:
        return list(self._keys.values())

    def has(self, key_hash: bytes) -> bool:
        return key_hash in self._keys

    def raw_seed(self, key_hash: bytes) -> bytes:
        """The 32-byte ed25519 seed, for oracle signing in :mod:`runner.domain.signatures`."""
        return bytes(self._keys[key_hash].payload)

    def address(self, key_hash: bytes, network: pc.Network) -> str:
        return str(pc.Address(pc.VerificationKeyHash(key_hash), network=network))

    def __repr__(self) -> str:
        return f"KeyRing({', '.join(h.hex()[:12] for h in self._keys)})"


@dataclass
class Context:
    chain: ChainView
    data: DataDir
    keys: KeyRing
    network: str
    settings: Settings = field(default_factory=Settings)
    plan_mode: bool = False
    #: schedule lookups already done in this run (discovery is not repeated per step)
    memo: dict[str, object] = field(default_factory=dict)

    @property
    def journal(self) -> Journal:
        return Journal(self.data.journal_dir)
