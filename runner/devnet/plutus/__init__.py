"""Phase 2: Plutus script evaluation (``phase2``) over the script context built from a
transaction (``script_context``); ``uplc_speed`` makes the UPLC machine fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.devnet._front import front_door

if TYPE_CHECKING:
    from runner.devnet.plutus.phase2 import (
        NotEvaluable,
        RedeemerEvaluation,
        ScriptRun,
        evaluate_scripts,
        script_contexts,
    )
    from runner.devnet.plutus.script_context import ContextError

__all__ = [
    "ContextError",
    "NotEvaluable",
    "RedeemerEvaluation",
    "ScriptRun",
    "evaluate_scripts",
    "script_contexts",
]

#: public name -> the module that defines it (loaded on first use, see runner.devnet._front)
EXPORTS = {
    "ContextError": "runner.devnet.plutus.script_context",
    "evaluate_scripts": "runner.devnet.plutus.phase2",
    "NotEvaluable": "runner.devnet.plutus.phase2",
    "RedeemerEvaluation": "runner.devnet.plutus.phase2",
    "script_contexts": "runner.devnet.plutus.phase2",
    "ScriptRun": "runner.devnet.plutus.phase2",
}

__getattr__, __dir__ = front_door(__name__, EXPORTS, globals())
