"""Phase 1: the rules a transaction must pass before its scripts run, one per
cardano-ledger predicate failure, in one registry (``registry.PHASE1``); ``utxo``,
``certs`` and ``witness`` hold the checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.devnet._front import front_door

if TYPE_CHECKING:
    from runner.devnet.rules.registry import (
        PHASE1,
        RULES_BY_NAME,
        Rule,
        Validation,
        evaluate_unchecked,
        resolve,
        run_phase2,
        run_rules,
        validate_phase1,
    )
    from runner.devnet.rules.utxo import RuleContext, reject

__all__ = [
    "PHASE1",
    "RULES_BY_NAME",
    "Rule",
    "RuleContext",
    "Validation",
    "evaluate_unchecked",
    "reject",
    "resolve",
    "run_phase2",
    "run_rules",
    "validate_phase1",
]

#: public name -> the module that defines it (loaded on first use, see runner.devnet._front)
EXPORTS = {
    "evaluate_unchecked": "runner.devnet.rules.registry",
    "PHASE1": "runner.devnet.rules.registry",
    "reject": "runner.devnet.rules.utxo",
    "resolve": "runner.devnet.rules.registry",
    "Rule": "runner.devnet.rules.registry",
    "RuleContext": "runner.devnet.rules.utxo",
    "RULES_BY_NAME": "runner.devnet.rules.registry",
    "run_phase2": "runner.devnet.rules.registry",
    "run_rules": "runner.devnet.rules.registry",
    "validate_phase1": "runner.devnet.rules.registry",
    "Validation": "runner.devnet.rules.registry",
}

__getattr__, __dir__ = front_door(__name__, EXPORTS, globals())
