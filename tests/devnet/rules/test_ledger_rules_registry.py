"""The phase-1 rule registry: one rule per cardano-ledger predicate, one home per Ogmios
code, every rule runnable alone over a resolved transaction, every code with a rejection
test that submits a transaction and expects that code."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from pycardano import (
    DRep,
    DRepKind,
    RedeemerTag,
    StakeCredential,
    StakeRegistration,
    VoteDelegation,
)

from runner.devnet.ledger.types import ParsedTx
from runner.devnet.rules import registry as validate
from runner.errors import LedgerRejection
from runner.testing.ledger import ALWAYS_SUCCEEDS, HandTx, redeemer

TESTS = Path(__file__).resolve().parents[2]
DEVNET = TESTS.parent / "runner" / "devnet"


def _rejection_test_files(code: int) -> list[str]:
    """Test modules that submit a transaction and expect ``code`` (runner.testing.ledger.rejected)."""
    call = re.compile(rf"\brejected\([^\n]*?,\s*{code}\)")
    return sorted(p.name for p in TESTS.rglob("test_*.py") if call.search(p.read_text()))


def test_every_code_in_the_registry_has_a_rejection_test():
    missing = [(rule.predicate, code) for rule in validate.PHASE1 for code in rule.codes
               if not _rejection_test_files(code)]
    assert missing == []


def test_the_coverage_check_can_fail():
    assert _rejection_test_files(3119) and not _rejection_test_files(9999)


def test_each_code_has_one_rule_and_each_rule_its_own_name():
    codes = [code for rule in validate.PHASE1 for code in rule.codes]
    assert len(codes) == len(set(codes))
    assert len(validate.RULES_BY_NAME) == len(validate.PHASE1)


def test_each_code_is_raised_in_one_module_only_the_module_of_its_rule():
    sources = {p.relative_to(DEVNET).as_posix(): p.read_text() for p in DEVNET.rglob("*.py")}
    for rule in validate.PHASE1:
        home = Path(inspect.getsourcefile(rule.check) or "").resolve().relative_to(DEVNET).as_posix()
        for code in rule.codes:
            raising = re.compile(rf"(reject\(|ogmios_code=){code}\b")
            where = sorted(name for name, text in sources.items() if raising.search(text))
            assert where == [home], (rule.predicate, code, where)


def test_each_rule_names_its_predicate_in_its_docstring():
    for rule in validate.PHASE1:
        assert rule.predicate in (inspect.getdoc(rule.check) or ""), rule.predicate


# --- each rule alone over a resolved transaction ----------------------------------------


def _honest(ledger, hand):
    """Transactions of several shapes that pass every rule (keys, scripts, certificates)."""
    alice = hand.w("alice")
    cred = StakeCredential(alice.stake_verification_key.hash())
    locked = hand.lock(ALWAYS_SUCCEEDS)
    spend = hand.build([(locked, ledger.utxo[locked])], [], [alice], change_to=alice.address,
                       collateral=[hand.utxos("alice")[2][0]],
                       witness={"redeemer": [redeemer(RedeemerTag.SPEND, 0)], "plutus_v3_script": [ALWAYS_SUCCEEDS]},
                       integrity=True)
    register = hand.build(hand.utxos("alice")[1:2], [], [alice], certificates=[StakeRegistration(cred)],
                          adjust=-2_000_000)
    return [hand.pay(), spend, register]


def _resolved(ledger, tx):
    ptx = ParsedTx.parse(bytes(tx.to_cbor()))
    return validate.resolve(ledger._context(), ptx), ptx


@pytest.mark.parametrize("rule", validate.PHASE1, ids=lambda r: r.predicate)
def test_each_rule_runs_alone_over_honest_transactions(ledger, hand, rule):
    for tx in _honest(ledger, hand):
        ctx, ptx = _resolved(ledger, tx)
        rule.check(ctx, ptx)


def test_the_rules_run_in_any_order(ledger, hand):
    for tx in _honest(ledger, hand):
        ctx, ptx = _resolved(ledger, tx)
        validate.run_rules(ctx, ptx, tuple(reversed(validate.PHASE1)))
        ledger.submit(tx)


def test_resolution_never_raises_and_a_rule_alone_still_judges(ledger, hand):
    """An unknown input, an unregistered credential, a missing stake-key signature:
    resolution derives the facts anyway; each rule, run alone, finds its own problem."""
    from pycardano import TransactionId, TransactionInput, TransactionOutput

    alice = hand.w("alice")
    ghost = (TransactionInput(TransactionId(b"\x07" * 32), 0), TransactionOutput(alice.address, 10_000_000))
    cred = StakeCredential(alice.stake_verification_key.hash())
    drep = DRep(DRepKind.VERIFICATION_KEY_HASH, hand.w("bob").verification_key.hash())
    tx = hand.build([ghost], [], [hand.w("bob")], certificates=[VoteDelegation(cred, drep)])
    ctx, ptx = _resolved(ledger, tx)
    for predicate, code in [("BadInputsUTxO", 3117), ("ConwayDelegPredFailure", 3146),
                            ("MissingVKeyWitnessesUTXOW", 3101)]:
        with pytest.raises(LedgerRejection) as info:
            validate.RULES_BY_NAME[predicate].check(ctx, ptx)
        assert info.value.ogmios_code == code


def test_a_rule_raising_an_undeclared_code_is_an_internal_error(ledger, hand):
    def rogue(ctx, ptx):
        validate.rules.reject(3123, "not mine")

    ctx, ptx = _resolved(ledger, hand.pay())
    with pytest.raises(RuntimeError, match="does not declare"):
        validate.run_rules(ctx, ptx, (validate.Rule("Rogue", "UTXO", (3119,), rogue),))


def test_evaluation_runs_only_its_prerequisite_rules(ledger_factory):
    """Ledger.evaluate ignores fee and signatures (pycardano drafts) but not a missing script."""
    ledger = ledger_factory()
    hand = HandTx(ledger)
    alice = hand.w("alice")
    locked = hand.lock(ALWAYS_SUCCEEDS)

    def draft(scripts):
        return hand.build([(locked, ledger.utxo[locked])], [], [], change_to=alice.address, fee=0,
                          witness={"redeemer": [redeemer(RedeemerTag.SPEND, 0)], "plutus_v3_script": scripts})

    [result] = ledger.evaluate(draft([ALWAYS_SUCCEEDS]))
    assert result.ok
    with pytest.raises(LedgerRejection) as info:
        ledger.evaluate(draft(None))
    assert info.value.ogmios_code == 3102
