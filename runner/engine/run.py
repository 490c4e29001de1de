"""The engine: runs steps (observe -> decide -> build -> journal -> sign -> submit -> confirm).

Crash safety (DESIGN.md §5): before anything else, every open journal entry is resolved
against the chain (:meth:`Engine.recover`): on chain -> confirmed; in mempool -> waited
for; pending (inputs unspent, deadline ahead) -> the SAME signed bytes are resubmitted;
dead -> closed.  Only then do steps observe, so a transaction is never rebuilt with new
inputs while the old one can still land.  Every transaction of an action is journaled
(fsync'd) before the first is submitted.  A 3117 (inputs spent) on our own transaction
means it already landed; on a transaction that did not land it means someone else did
the work: the step observes again and says "already done".
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field

import pycardano as pc

from runner.engine import events as ev
from runner.engine.adapter import UnsignedTx, sign, signed_cbor
from runner.engine.chainview import describe_rejection, is_already_spent
from runner.engine.context import Context
from runner.engine.observe import KnownAfterApply
from runner.engine.step import ChainMoved, Step, WorkAlreadyDone
from runner.errors import (
    ChainUnavailable,
    InDoubt,
    LedgerRejection,
    MilestonesError,
    StateError,
    UserInputError,
)
from runner.store.journal import JournalEntry, bytes_problem

#: Test hook: called with the phase name ("built", "journaled", "sent" (accepted, not yet
#: recorded), "submitted", "confirming", "confirmed"); the crash tests kill the process there.
PhaseHook = Callable[[str], None]


def inputs_moved(exc: LedgerRejection) -> bool:
    """Evaluation or submission refused because an input we read is gone (3117; evaluation's
    3004 "unknown transaction input"; or a 3010 whose per-validator errors are 3117, as Ogmios
    reports a spent script input): the chain moved since we looked."""
    if exc.ogmios_code == 3117:
        return True
    if exc.ogmios_code == 3004:
        return "unknown transaction input" in f"{exc.data} {exc.message}".lower()
    if exc.ogmios_code == 3010 and isinstance(exc.data, list):
        return any(isinstance(e, dict) and isinstance(e.get("error"), dict) and e["error"].get("code") == 3117
                   for e in exc.data)
    return False


def moved_under(exc: BaseException) -> LedgerRejection | None:
    """The "inputs moved" refusal behind ``exc`` (itself, or its cause: the builder wraps a
    batch's refusal, e.g. "every pot failed"), else None."""
    seen: BaseException | None = exc
    for _ in range(16):  # a cause chain is short; never loop on a cycle
        if seen is None:
            return None
        if isinstance(seen, LedgerRejection) and inputs_moved(seen):
            return seen
        # the cause, or the exception being handled when it was raised (unless raised "from None")
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)
    return None


def _summary(tx: UnsignedTx, tx_id: str) -> ev.TxSummary:
    collateral = int(tx.body.total_collateral or 0)
    return ev.TxSummary(tx_id, tx.kind, tx.fee, tx.size, len(tx.inputs), collateral)


@dataclass
class Outcome:
    """What one action's transactions came to."""

    landed: list[str] = field(default_factory=list)
    done_by_others: bool = False


class Engine:
    def __init__(self, ctx: Context, *, on_phase: PhaseHook | None = None) -> None:
        self.ctx = ctx
        self.on_phase: PhaseHook = on_phase or (lambda phase: None)
        self.results: dict[str, dict[str, object]] = {}
        #: plan mode: the unsigned transactions each step would submit (``--no-submit``)
        self.built: dict[str, list[UnsignedTx]] = {}

    # ------------------------------------------------------------------ public

    def run(self, steps: Sequence[Step]) -> Iterator[ev.Event]:
        """Recover, then run each step; yields events. Plan mode (``ctx.plan_mode``) stops
        after building: nothing is journaled or submitted."""
        for repair in self.ctx.data.repairs:
            yield ev.Repaired("data", repair.path, repair.what, repair.set_aside)
        if not self.ctx.plan_mode:
            yield from self.recover()
        pending = False
        for step in steps:
            before = len(self.ctx.data.repairs)
            yield from self._step(step, pending)
            for repair in self.ctx.data.repairs[before:]:
                yield ev.Repaired(step.id, repair.path, repair.what, repair.set_aside)
            pending = pending or self.ctx.memo.get("planned_change") is True

    def recover(self) -> Iterator[ev.Event]:
        """Resolve open entries; and re-check recently confirmed ones: a rollback may have
        dropped them (then the same bytes go again, or the step rebuilds if they are dead)."""
        journal, settings = self.ctx.journal, self.ctx.settings
        horizon = settings.wall_clock() - settings.recheck_confirmed_s
        for entry in journal.entries():
            if entry.status == "confirmed" and entry.created >= horizon:
                fate = self.ctx.chain.fate(entry.tx_id, entry.inputs, 1, entry.deadline_slot)
                if fate == "on chain":
                    continue
                yield ev.Recovered(entry.step, entry.tx_id, "rolled back", f"now {fate}")
                entry = journal.mark(entry, "submitted", "rolled back out of the chain")
            elif not entry.is_open:
                continue
            yield from self._resolve(entry)

    def _resolve(self, entry: JournalEntry) -> Iterator[ev.Event]:
        journal = self.ctx.journal
        problem = bytes_problem(entry)
        if problem:
            aside = journal.set_aside(entry)
            raise StateError(f"journal entry {entry.tx_id} does not hold its transaction: {problem}",
                             location=str(aside), hint="it was moved to quarantine/ and will not be submitted; "
                             "run again (the step rebuilds if still needed) and check who can write the data directory")
        fate = self.ctx.chain.fate(entry.tx_id, entry.inputs, 1, entry.deadline_slot)
        if fate == "on chain":
            journal.mark(entry, "confirmed", "found on chain after a restart")
        elif fate == "dead":
            journal.mark(entry, "dead", "inputs spent elsewhere or deadline passed")
        else:
            if fate == "pending":
                yield from self._submit(entry, fee=0, resubmission=True)
            yield from self._confirm(entry)
        yield ev.Recovered(entry.step, entry.tx_id, fate if fate != "pending" else "resubmitted")

    # ------------------------------------------------------------------ one step

    def _step(self, step: Step, pending_before: bool) -> Iterator[ev.Event]:
        ctx = self.ctx
        yield ev.StepStarted(step.id, step.kind)
        changed = False
        facts = None
        moved: MilestonesError | None = None
        for _ in range(ctx.settings.max_rounds):
            try:
                facts = step.observe(ctx)
                decision = step.decide(facts)
                for what, why in step.ignored(facts):
                    yield ev.Ignored(step.id, what, why)
                if decision.noop:
                    if not changed:
                        yield ev.Noop(step.id, decision.reason)
                    break
                txs = step.build(ctx, facts, decision)
            except WorkAlreadyDone as done:
                yield ev.Noop(step.id, done.reason)
                break
            except KnownAfterApply:
                if ctx.plan_mode and pending_before:
                    yield ev.Planned(step.id, step.kind, (), True)
                    facts = None
                    break
                raise
            except ChainMoved as signal:  # the build found something it observed gone: look again
                moved = signal.error
                continue
            except (LedgerRejection, UserInputError) as exc:
                if moved_under(exc) is None:
                    raise
                moved = exc  # another writer spent what we read (a payer UTxO, a pot): look again
                continue
            moved = None
            if not txs:  # the chain moved under the build (e.g. another runner released): look again
                continue
            if ctx.plan_mode:
                yield ev.Planned(step.id, decision.reason, tuple(_summary(t, t.tx_id) for t in txs))
                ctx.memo["planned_change"] = True
                self.built[step.id] = txs
                break
            signed = [signed_cbor(t, ctx.keys.keys()) for t in txs]
            ids = [t.tx_id for t in txs]  # the hash of the body bytes the signed CBOR carries
            yield ev.Planned(step.id, decision.reason, tuple(_summary(t, i) for t, i in zip(txs, ids, strict=True)))
            self.on_phase("built")
            outcome = yield from self._apply(step, txs, ids, signed)
            changed = changed or bool(outcome.landed)
            if not step.repeat and not outcome.done_by_others:
                facts = step.observe(ctx)
                break
        else:
            if moved is not None:  # the chain kept moving under every round
                raise moved
        if facts is not None:
            self.results[step.id] = step.result(ctx, facts)
        yield ev.StepFinished(step.id, changed, self.results.get(step.id, {}))

    def _apply(self, step: Step, txs: list[UnsignedTx], ids: list[str], signed: list[bytes]
               ) -> Generator[ev.Event, None, Outcome]:
        entries = []
        for n, (tx, tx_id, cbor) in enumerate(zip(txs, ids, signed, strict=True)):
            entry = JournalEntry(step.id, tx_id, cbor.hex(),
                                 tuple(f"{i.transaction_id.payload.hex()}#{i.index}" for i in tx.body.inputs),
                                 tx.deadline_slot, sequence=n)
            entries.append(self.ctx.journal.record(entry))
            yield ev.Journaled(step.id, tx_id)
        self.on_phase("journaled")
        outcome = Outcome()
        for entry, tx in zip(entries, txs, strict=True):
            status = yield from self._submit(entry, tx.fee, step=step)
            if status == "done by others":
                outcome.done_by_others = True
                continue
            if status == "landed":
                outcome.landed.append(entry.tx_id)
                continue
            self.on_phase("submitted")
            if (yield from self._confirm(entry)):
                outcome.landed.append(entry.tx_id)
        return outcome

    # ------------------------------------------------------------------ submit, confirm

    def _submit(self, entry: JournalEntry, fee: int, *, resubmission: bool = False,
                step: Step | None = None) -> Generator[ev.Event, None, str]:
        """'submitted' | 'landed' (ours, already on chain) | 'done by others'."""
        chain, journal = self.ctx.chain, self.ctx.journal
        try:
            chain.submit(bytes.fromhex(entry.cbor_hex))  # not retried: a lost answer is resolved below
            self.on_phase("sent")
        except LedgerRejection as exc:
            if is_already_spent(exc):
                if chain.fate(entry.tx_id, entry.inputs, 1, entry.deadline_slot) == "on chain":
                    journal.mark(entry, "confirmed", "already on chain (3117 on resubmission)")
                    yield ev.AlreadyDone(entry.step, entry.tx_id, "our transaction had already landed")
                    return "landed"
                journal.mark(entry, "dead", "inputs spent by another transaction")
                yield ev.AlreadyDone(entry.step, entry.tx_id, "another transaction spent these inputs first")
                return "done by others"
            reason = step.already_done(exc) if step is not None else None
            journal.mark(entry, "dead", reason or describe_rejection(exc))
            if reason:
                yield ev.AlreadyDone(entry.step, entry.tx_id, reason)
                return "done by others"
            exc.hint = exc.hint or "the ledger refused the transaction; it was not retried"
            raise
        except ChainUnavailable:
            fate = chain.fate(entry.tx_id, entry.inputs, 1, entry.deadline_slot)
            if fate not in ("on chain", "in mempool"):
                raise InDoubt(f"submitting {entry.tx_id} failed and the chain does not show it",
                              location=str(self.ctx.data.journal_dir / f"{entry.tx_id}.json"),
                              hint="run the same command again: the journal resubmits the same transaction"
                              ) from None
        journal.mark(entry, "submitted")
        yield ev.Submitted(entry.step, entry.tx_id, fee)
        return "submitted"

    def _confirm(self, entry: JournalEntry) -> Generator[ev.Event, None, bool]:
        """Wait for ``confirmations`` blocks on top (deadline); a rollback resubmits."""
        ctx, chain = self.ctx, self.ctx.chain
        settings = ctx.settings
        deadline = settings.clock() + settings.confirm_timeout
        seen_at: int | None = None
        self.on_phase("confirming")
        while True:
            fate = chain.fate(entry.tx_id, entry.inputs, 1, entry.deadline_slot)
            if fate == "on chain":
                height = chain.block_height()
                seen_at = height if seen_at is None else seen_at
                # depth from the block that holds it (Kupo + Ogmios); first sight when unknown
                included = chain.inclusion_height(entry.tx_id) if settings.confirmations else None
                depth = height - (included if included is not None and included <= height else seen_at)
                if depth >= settings.confirmations:
                    ctx.journal.mark(entry, "confirmed")
                    self.on_phase("confirmed")
                    yield ev.Confirmed(entry.step, entry.tx_id, depth)
                    return True
            elif fate == "dead":
                ctx.journal.mark(entry, "dead", "dropped: inputs spent elsewhere or deadline passed")
                return False
            elif fate == "pending" and seen_at is not None:  # rolled back out of the chain
                seen_at = None
                yield from self._submit(entry, 0, resubmission=True)
            if settings.clock() > deadline:
                raise InDoubt(f"{entry.tx_id} not confirmed within {settings.confirm_timeout:.0f} s",
                              hint="run the command again later: the journal keeps waiting for it")
            settings.sleep(settings.poll_interval)


def signed_envelope(tx_cbor_hex: str, description: str = "") -> dict[str, str]:
    """A cardano-cli text envelope of a signed transaction (``--no-submit``)."""
    return {"type": "Tx ConwayEra", "description": description or "Ledger Cddl Format", "cborHex": tx_cbor_hex}


def sign_only(ctx: Context, txs: Sequence[UnsignedTx]) -> list[pc.Transaction]:
    return [sign(t, ctx.keys.keys()) for t in txs]
