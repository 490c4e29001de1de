"""The options of ``milestones devnet ...`` checked before anything is touched: a bad flag is
a message with the flag's name, never a traceback or a half-made devnet."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.errors import UserInputError

MAX_UINT64 = 2**64 - 1


@dataclass(frozen=True)
class GenesisOptions:
    """The clock, starting state and block mode of a new devnet (``--system-start-ms`` ...)."""

    system_start_ms: int = 0
    slot_length_ms: int = 1000
    epoch_length: int = 432_000
    start_slot: int = 0
    utxo_file: Path | None = None
    block_mode: str = "submit"

    def slot_config(self) -> Any:
        """The devnet's SlotConfig; every option is checked here, before any state is touched."""
        from runner.devnet.ledger.clock import SlotConfig

        for flag, value in (("--start-slot", self.start_slot), ("--system-start-ms", self.system_start_ms),
                            ("--slot-length-ms", self.slot_length_ms), ("--epoch-length", self.epoch_length)):
            if not 0 <= value <= MAX_UINT64:
                raise UserInputError(f"{flag} {value} is outside 0 .. 2^64-1 (slots and times are 64-bit "
                                     "on Cardano)", location=flag, hint="e.g. 0")
        if self.block_mode not in ("submit", "tick"):
            raise UserInputError(f"unknown block mode {self.block_mode!r}", location="--block-mode",
                                 hint="submit (a block per transaction) or tick (blocks on `devnet tick`)")
        try:
            return SlotConfig(self.system_start_ms, self.slot_length_ms, self.epoch_length)
        except ValueError as exc:
            raise UserInputError(f"bad devnet clock: {exc}", location="--system-start-ms/--slot-length-ms",
                                 hint="a whole-second POSIX start in ms, positive slot and epoch lengths") from exc


def check_host(host: str, allow_remote: bool) -> None:
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback and not allow_remote:
        raise UserInputError(f"refusing to serve the devnet on {host}: its keys are derived from a "
                             "public seed, anyone who can reach it can spend",
                             location="--host", hint="use 127.0.0.1, or add --allow-remote")


def check_port(port: int, flag: str) -> None:
    if not 0 <= port <= 65535:
        raise UserInputError(f"{flag} {port} is not a TCP port", location=flag,
                             hint="give a port between 1 and 65535 (0 picks a free one)")
