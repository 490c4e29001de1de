"""The engine: every command (and every plan step) is observe -> decide -> build -> journal
-> sign -> submit -> confirm, with the chain as the state.

Public API (small on purpose; the plan runner and the seed commands use only this)::

    from runner.engine import (Engine, Context, Settings, KeyRing, connect, open_context,
                               DeployStep, StakeStep, RegisterStep, CertifyStep, ReleaseStep,
                               ReclaimStep, StatusStep, ScheduleTarget, Where, Selection,
                               REGISTRY, events)

    with open_context(config, keys=KeyRing(...), plan_mode=False) as ctx:   # lock + chain
        engine = Engine(ctx)
        for event in engine.run([DeployStep(target=t, id="deploy:..."), ...]):
            print(event.to_json())          # typed events, see runner/engine/events.py
        engine.results[step_id]             # each step's result dict (the command's JSON)

* ``Context`` = chain (``ChainView`` over a ``ChainBackend``) + data directory + keys +
  ``Settings`` (confirmation depth, deadlines, injectable clock/sleep) + ``plan_mode``.
* A step (``runner/engine/step.py``): ``observe(ctx) -> facts``, ``decide(facts) ->
  Decision`` (pure: an action or "nothing to do, because ..."), ``build(ctx, facts,
  decision) -> [UnsignedTx]``; ``REGISTRY`` maps kind names ("deploy", "stake",
  "register", "certify", "release", "reclaim", "status") to step classes.
* Plan mode (``plan_mode=True``): the same observe/decide/build, then ``Planned``
  events with transaction ids, fees and sizes; nothing is journaled or submitted, no
  lock file is written.  A step that needs something an earlier planned step creates
  reports ``Planned(known_after_apply=True)``.
* Events: ``StepStarted``, ``Noop(reason)``, ``Planned(action, txs)``, ``Journaled``,
  ``Submitted``, ``Confirmed``, ``AlreadyDone(reason)``, ``Recovered(fate)``,
  ``Ignored(what, reason)``, ``Repaired(path)``, ``StepFinished(changed, result)``.
* Errors: ``runner.errors`` (``LedgerRejection`` explained and never retried blindly,
  ``InDoubt`` when a submitted transaction's fate is unknown, ``StateError`` for the lock).

The contract's builder is reached only through ``runner/engine/adapter.py``.
"""

from __future__ import annotations

from runner.engine import events
from runner.engine.backends import Connection, connect
from runner.engine.context import Context, KeyRing, Settings
from runner.engine.run import Engine
from runner.engine.session import open_context
from runner.engine.step import REGISTRY, Decision, Step
from runner.engine.steps_claims import CertifyStep, ReclaimStep, ReleaseStep, Selection, StatusStep, Where
from runner.engine.steps_schedule import DeployStep, RegisterStep, ScheduleTarget, StakeStep

__all__ = [
    "REGISTRY", "CertifyStep", "Connection", "Context", "Decision", "DeployStep", "Engine", "KeyRing",
    "ReclaimStep", "RegisterStep", "ReleaseStep", "ScheduleTarget", "Selection", "Settings", "StakeStep",
    "StatusStep", "Step", "Where", "connect", "events", "open_context",
]
