"""The engine reads the batch credential's reward account (Ogmios
``queryLedgerState/rewardAccountSummaries``, answered by the devnet's real ledger): a
registered credential is not registered again (no evaluation, no transaction), a release
withdraws the account's balance (0 on the devnet: no pools), an unregistered credential is
a clear error instead of a ledger refusal, and a tampered answer (faked at the transport
only) is refused before anything is built."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from runner.chain.kupo import KupoClient
from runner.chain.ogmios import OgmiosClient
from runner.chain.ogmios_kupo import OgmiosKupoBackend
from runner.devnet.servers import kupo_transport, ogmios_call
from runner.engine import discovery
from runner.engine.adapter import reward_credential
from runner.engine.context import Context
from runner.errors import ProtocolError, UserInputError
from runner.testing.engine_world import World, names, run

sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
METHOD = "queryLedgerState/rewardAccountSummaries"


def deployed(tmp_path: Path) -> tuple[World, Context, Any]:
    world = World.create(payer_utxos=4)
    ctx = world.context(tmp_path / "setup")
    deploy = world.schedule_steps()[0]
    run(ctx, [deploy])
    dep = deploy.observe(ctx).require_deployment(ctx)
    return world, ctx, dep


def counting_evaluations(ctx: Context) -> list[int]:
    calls: list[int] = []
    original = ctx.chain.evaluator

    def evaluator() -> Callable[[Any], Any]:
        evaluate = original()

        def counted(tx: Any) -> Any:
            calls.append(1)
            return evaluate(tx)
        return counted

    ctx.chain.evaluator = evaluator  # type: ignore[method-assign]
    return calls


def test_the_devnet_reports_the_credential_registered_only_after_the_stake_step(tmp_path):
    world, ctx, dep = deployed(tmp_path)
    credential = reward_credential(dep)
    assert ctx.chain.reads_rewards
    assert ctx.chain.script_reward_account(credential) is None
    run(ctx, [world.schedule_steps()[1]])
    account = ctx.chain.script_reward_account(credential)
    assert account is not None and account.is_script and account.credential == credential
    assert account.rewards == 0 and account.deposit == ctx.chain.snapshot().params.key_deposit > 0


def test_a_credential_someone_registered_first_is_not_registered_again_nor_evaluated(tmp_path):
    world, _, _ = deployed(tmp_path)
    run(world.context(tmp_path / "stranger"), [world.schedule_steps()[1]])
    mine = world.context(tmp_path / "mine")
    evaluations = counting_evaluations(mine)
    found, _ = run(mine, [world.schedule_steps()[1]])
    assert "Submitted" not in names(found) and evaluations == []
    assert "reward account exists" in next(e.reason for e in found if e.name == "Noop")  # type: ignore[attr-defined]


def certified_without_stake(world: World, tmp_path: Path) -> str:
    deploy, _, register = world.schedule_steps()
    _, engine = run(world.context(tmp_path / "setup"), [deploy, register])
    contract = str(engine.results["register"]["contract_address"])
    ctx = world.context(tmp_path / "setup")
    message = discovery.by_address(ctx, contract).schedule.message("m1")
    run(ctx, [world.certify_step(contract, "m1", message)])
    assert world.definition is not None
    world.advance_past(max(a.vesting_ms for a in world.definition.allocations if a.milestone == "m1"))
    return contract


def test_a_release_from_an_unregistered_credential_is_a_clear_user_error_not_a_ledger_refusal(tmp_path):
    world = World.create(payer_utxos=4)
    contract = certified_without_stake(world, tmp_path)
    with pytest.raises(UserInputError) as raised:
        run(world.context(tmp_path / "mine"), [world.release_step(contract)])
    assert "not registered" in str(raised.value) and raised.value.exit_code == 2
    assert raised.value.location == contract and "register-milestone" in str(raised.value.hint)
    assert not list((tmp_path / "mine" / "journal").glob("*.json"))


def tampered(world: World, change: Callable[[dict[str, Any]], None]) -> OgmiosKupoBackend:
    """The devnet over its real wire, with the reward summaries' answer altered in transit."""
    real = ogmios_call(world.guard)

    def call(method: str, params: Mapping[str, Any] | None) -> Mapping[str, Any]:
        reply = dict(real(method, params))
        if method == METHOD:
            for summary in reply["result"]:
                change(summary)
        return reply

    kupo = KupoClient("http://embedded-devnet", transport=kupo_transport(world.guard))
    return OgmiosKupoBackend(OgmiosClient(call), kupo, closers=(kupo,))


@pytest.mark.parametrize(("change", "says"), [
    (lambda s: s["rewards"]["ada"].update(lovelace=-5), "rewards.ada.lovelace"),
    (lambda s: s["rewards"]["ada"].update(lovelace=10**20), "more than all the ADA"),
    (lambda s: s.update(credential="00" * 28), "not a credential we asked about"),
    (lambda s: s.pop("deposit"), "missing field 'deposit'"),
])
def test_a_tampered_reward_answer_stops_the_release_before_anything_is_built(tmp_path, change, says):
    world, _, _ = deployed(tmp_path)
    _, engine = run(world.context(tmp_path / "setup"), world.schedule_steps())
    contract = str(engine.results["register"]["contract_address"])
    ctx = world.context(tmp_path / "setup")
    run(ctx, [world.certify_step(contract, "m1", discovery.by_address(ctx, contract).schedule.message("m1"))])
    assert world.definition is not None
    world.advance_past(max(a.vesting_ms for a in world.definition.allocations if a.milestone == "m1"))
    before = [world.tokens_of(b) for b in world.beneficiaries]
    mine = world.context(tmp_path / "mine", backend=tampered(world, change))
    with pytest.raises(ProtocolError) as raised:
        run(mine, [world.release_step(contract)])
    assert says in str(raised.value) and raised.value.exit_code == 3
    assert [world.tokens_of(b) for b in world.beneficiaries] == before
    assert not list((tmp_path / "mine" / "journal").glob("*.json"))
    # the honest twin: the same chain, the answer untouched -> released
    run(world.context(tmp_path / "mine"), [world.release_step(contract)])
    assert [world.tokens_of(b) - x for b, x in zip(world.beneficiaries, before, strict=True)] == [100, 200, 300]
