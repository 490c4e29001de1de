"""Slot <-> POSIX time for the devnet, and the era summaries clients derive time from.

The devnet has one era (Conway) from slot 0; the six earlier eras are empty (they start
and end at slot 0). Clients such as pycardano's Ogmios context expect all seven entries
and drop an entry that has no ``end``, so Conway gets an end (``horizon_epochs`` after
the current epoch, like a node's safe-zone horizon) instead of ``null``.

Epochs are numbered from 1 (``FIRST_EPOCH``): pycardano's Ogmios client treats epoch 0 as
an error. The empty Babbage era carries the step from epoch 0 to 1, so the usual
hard-fork arithmetic over the summaries agrees with :meth:`SlotConfig.epoch_of_slot`
The ledger (``Ledger.epoch``) and the Ogmios server (``queryLedgerState/epoch``,
``eraSummaries``, ``eraStart``, ``/health``) both read epochs and summaries from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FIRST_EPOCH = 1
#: 3k/f with the security parameter 2160 and active-slot coefficient 1/20 of mainnet.
SAFE_ZONE = 3 * 2160 * 20

ERAS = ("byron", "shelley", "allegra", "mary", "alonzo", "babbage", "conway")


@dataclass(frozen=True)
class SlotConfig:
    """Where slot 0 sits in POSIX time, and how long a slot lasts."""

    system_start_ms: int
    slot_length_ms: int = 1000
    epoch_length: int = 432_000

    def __post_init__(self) -> None:
        if self.slot_length_ms <= 0 or self.epoch_length <= 0:
            raise ValueError("slot_length_ms and epoch_length must be positive")
        if self.system_start_ms % 1000:
            # Ogmios' startTime and pycardano's genesis system_start are whole seconds: a
            # sub-second start would shift every client-side slot->time conversion.
            raise ValueError(f"system_start_ms must be a whole second, got {self.system_start_ms}")

    def slot_to_posix_ms(self, slot: int) -> int:
        return self.system_start_ms + slot * self.slot_length_ms

    def posix_ms_to_slot(self, posix_ms: int) -> int:
        """The slot containing ``posix_ms`` (floor); times before slot 0 map to slot 0."""
        return max(0, (posix_ms - self.system_start_ms) // self.slot_length_ms)

    def epoch_of_slot(self, slot: int) -> int:
        return FIRST_EPOCH + slot // self.epoch_length

    def to_dict(self) -> dict[str, int]:
        return {
            "system_start_ms": self.system_start_ms,
            "slot_length_ms": self.slot_length_ms,
            "epoch_length": self.epoch_length,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SlotConfig:
        return cls(int(raw["system_start_ms"]), int(raw["slot_length_ms"]), int(raw["epoch_length"]))


def _bound(config: SlotConfig, slot: int, epoch: int) -> dict[str, Any]:
    """cardano.json ``Bound``: time is relative to the system start, as Ogmios sends it."""
    return {"time": {"seconds": slot * config.slot_length_ms // 1000}, "slot": slot, "epoch": epoch}


def era_summaries(
    config: SlotConfig, current_slot: int = 0, *, safe_zone: int = SAFE_ZONE, horizon_epochs: int = 2
) -> list[dict[str, Any]]:
    """Ogmios ``queryLedgerState/eraSummaries`` result (cardano.json ``EraSummary``) for 7 eras.

    Conway ends ``horizon_epochs`` epochs after the epoch of ``current_slot``, as a node's
    safe-zone horizon does: far enough for any conversion a client makes now, present so
    that clients keep the entry. The server and the ledger's tests both use this function:
    it is the one place where devnet slots, epochs and times meet.
    """
    params = {
        "epochLength": config.epoch_length,
        "slotLength": {"milliseconds": config.slot_length_ms},
        "safeZone": safe_zone,
    }
    origin, first = _bound(config, 0, 0), _bound(config, 0, FIRST_EPOCH)
    summaries = [{"start": origin, "end": origin, "parameters": params} for _ in ERAS[:5]]
    summaries.append({"start": origin, "end": first, "parameters": params})  # babbage: epoch 0 -> 1
    end_epoch = config.epoch_of_slot(max(0, current_slot)) + horizon_epochs
    end_slot = (end_epoch - FIRST_EPOCH) * config.epoch_length
    summaries.append({"start": first, "end": _bound(config, end_slot, end_epoch), "parameters": params})
    return summaries
