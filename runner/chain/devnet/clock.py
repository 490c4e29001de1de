"""Slot <-> POSIX time for the devnet, and the era summaries clients derive time from.

The devnet has one era (Conway) from slot 0; the six earlier eras are empty (they start
and end at slot 0). Clients such as pycardano's Ogmios context expect all seven entries
and drop an entry that has no ``end``, so Conway gets an end far in the future
(``horizon_epochs``) instead of ``null``.

Epochs are numbered from 1 (``FIRST_EPOCH``): pycardano's Ogmios client treats epoch 0 as
an error. The empty Babbage era carries the step from epoch 0 to 1, so the usual
hard-fork arithmetic over the summaries agrees with :meth:`SlotConfig.epoch_of_slot`
(the same scheme as the devnet's Ogmios server, ``ogmios_shapes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FIRST_EPOCH = 1

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
    return {"time": {"seconds": slot * config.slot_length_ms // 1000}, "slot": slot, "epoch": epoch}


def era_summaries(
    config: SlotConfig, *, safe_zone: int = 129_600, horizon_epochs: int = 1000
) -> list[dict[str, Any]]:
    """Ogmios ``queryLedgerState/eraSummaries`` result (cardano.json ``EraSummary``) for 7 eras.

    Conway's end is ``horizon_epochs`` epochs after slot 0: far enough that no rehearsal
    reaches it, present so that clients keep the entry.
    """
    params = {
        "epochLength": config.epoch_length,
        "slotLength": {"milliseconds": config.slot_length_ms},
        "safeZone": safe_zone,
    }
    origin, first = _bound(config, 0, 0), _bound(config, 0, FIRST_EPOCH)
    summaries = [{"start": origin, "end": origin, "parameters": params} for _ in ERAS[:5]]
    summaries.append({"start": origin, "end": first, "parameters": params})  # babbage: epoch 0 -> 1
    end_slot = horizon_epochs * config.epoch_length
    end = _bound(config, end_slot, config.epoch_of_slot(end_slot))
    summaries.append({"start": first, "end": end, "parameters": params})
    return summaries
