"""The schedule rehearsal (``milestones devnet demo``): deploy, register, certify, release
on a throwaway devnet or a given Ogmios/Kupo. It drives the contract builder, the chain
clients and the devnet's servers, so it sits above all three, out of the chain layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.devnet._front import front_door

if TYPE_CHECKING:
    from runner.rehearsal.demo import ORACLES, answer_42_script, demo_key, run_demo

__all__ = [
    "ORACLES",
    "answer_42_script",
    "demo_key",
    "run_demo",
]

#: public name -> the module that defines it (loaded on first use, see runner.devnet._front)
EXPORTS = {
    "answer_42_script": "runner.rehearsal.demo",
    "demo_key": "runner.rehearsal.demo",
    "ORACLES": "runner.rehearsal.demo",
    "run_demo": "runner.rehearsal.demo",
}

__getattr__, __dir__ = front_door(__name__, EXPORTS, globals())
