"""The PyPI `ogmios` client (a third party, unmodified) against `devnet up`: it follows the chain,
sees a rollback, and runs every ledger-state query; every raw answer validates against the
vendored Ogmios v6.14 schema."""

from __future__ import annotations

import json
import sys
from typing import Any

import ogmios
import pytest
from ogmios.datatypes import Ada, Direction, Origin, Point
from ogmios.errors import InvalidResponseError
from pycardano import StakeCredential, StakeRegistration
from websockets.sync.client import connect

from runner.devnet.ledger.ledger import Ledger
from runner.devnet.servers.serve import serving
from runner.testing.schemas import assert_ogmios


@pytest.fixture(scope="module")
def devnet():
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    from runner.testing.ledger import HandTx

    ledger = Ledger.create(seed="pypi-ogmios")
    ledger.fund(ledger.wallet("bob").address, 5_000_000)
    hand = HandTx(ledger)
    credential = StakeCredential(ledger.wallet("alice").verification_key.hash())
    ledger.submit(hand.build(hand.utxos("alice")[:1], [], [hand.w("alice")],
                             certificates=[StakeRegistration(credential)], adjust=-2_000_000))
    with serving(ledger) as running:
        running.stake_key = credential.credential.payload.hex()
        yield running


@pytest.fixture()
def client(devnet):
    with ogmios.Client(devnet.ogmios.host, devnet.ogmios.port) as opened:
        yield opened


def test_the_client_follows_the_chain_and_sees_a_rollback(devnet, client):
    ledger = devnet.ledger
    point, tip, _ = client.find_intersection.execute([Origin()])
    assert isinstance(point, Origin) and tip.id == ledger.tip.block_hash
    direction, _, back, _ = client.next_block.execute()
    assert direction == Direction.backward and isinstance(back, Origin)
    heights = [client.next_block.execute()[2].height for _ in ledger.blocks]
    assert heights == list(range(len(ledger.blocks)))
    with connect(devnet.ogmios_url) as ws:
        ws.send(json.dumps({"jsonrpc": "2.0", "method": "devnet/rollback",
                            "params": {"blocks": 1, "toMempool": True}, "id": 1}))
        assert "result" in json.loads(ws.recv())
    direction, tip, back, _ = client.next_block.execute()
    assert direction == Direction.backward
    assert (back.slot, back.id) == (ledger.tip.slot, ledger.tip.block_hash) and tip.height == ledger.tip.height
    with devnet.guard.lock:  # put the rolled-back transactions into a new block
        ledger.tick()
    direction, _, block, _ = client.next_block.execute()
    assert direction == Direction.forward and block.id == ledger.tip.block_hash


def test_ledger_state_can_be_acquired_at_the_tip_only_and_released(devnet, client):
    tip = devnet.ledger.tip
    point, _ = client.acquire_ledger_state.execute(Point(tip.slot, tip.block_hash))
    assert point.id == tip.block_hash
    assert client.query_epoch.execute()[0] >= 1
    with pytest.raises(Exception, match="2000"):
        client.acquire_ledger_state.execute(Point(tip.slot + 1, "ab" * 32))


def test_every_query_answers_through_the_client(devnet, client):
    ledger = devnet.ledger
    assert client.query_block_height.execute()[0] == ledger.tip.height
    assert client.query_network_tip.execute()[0].id == ledger.tip.block_hash
    assert client.query_ledger_tip.execute()[0].id == ledger.tip.block_hash
    assert client.query_start_time.execute()[0].year == 1970
    assert client.query_genesis_configuration.execute("shelley")[0] is not None
    assert client.query_epoch.execute()[0] == ledger.epoch
    assert client.query_era_start.execute()[1:3] == (0, 1)  # Conway from slot 0, epoch 1
    assert len(client.query_era_summaries.execute()[0]) == 7
    assert client.query_utxo.execute([ogmios.Address(str(ledger.wallet("bob").address))])[0]
    assert client.query_protocol_parameters.execute()[0] is not None
    assert client.query_proposed_protocol_parameters.execute()[0] is None  # none proposed
    summaries, _ = client.query_reward_account_summaries.execute(keys=[devnet.stake_key])
    assert summaries == [{"from": "verificationKey", "credential": devnet.stake_key,
                          "rewards": {"ada": {"lovelace": 0}}, "deposit": {"ada": {"lovelace": 2_000_000}}}]
    assert list(client.query_projected_rewards.execute(stake=[Ada(1)])[0].values()) == [{}]  # no pools
    assert client.query_rewards_provenance.execute()[0]["stakePools"] == {}
    guardrails, anchor, _ = client.query_constitution.execute()
    assert guardrails["hash"] and anchor["url"]
    assert client.query_constitutional_committee.execute()[0] == {"members": [], "quorum": None}
    treasury, reserves, _ = client.query_treasury_and_reserves.execute()
    assert (treasury.lovelace, reserves.lovelace) == (0, 0)


@pytest.mark.parametrize("query", [lambda c: c.query_live_stake_distribution.execute(),
                                   lambda c: c.query_stake_pools.execute([])], ids=["live", "pools"])
def test_the_client_refuses_an_empty_pool_map_itself(client, query):
    """The devnet has no pools; the client (1.4.3) treats an empty result as unparsable. The
    answer did arrive, well-formed: the refusal names the empty result."""
    with pytest.raises(InvalidResponseError, match=r"'result': \{\}"):
        query(client)


RAW_QUERIES: list[tuple[str, Any]] = [
    ("queryLedgerState/rewardAccountSummaries", {"keys": []}),
    ("queryLedgerState/rewardAccountSummaries", "STAKE_KEY"),
    ("queryLedgerState/stakePools", None),
    ("queryLedgerState/stakePools", {"includeStake": True}),
    ("queryLedgerState/liveStakeDistribution", None),
    ("queryLedgerState/constitution", None),
    ("queryLedgerState/constitutionalCommittee", None),
    ("queryLedgerState/delegateRepresentatives", None),
    ("queryLedgerState/governanceProposals", None),
    ("queryLedgerState/governanceProposals", {"proposals": []}),
    ("queryLedgerState/projectedRewards", {"stake": [{"ada": {"lovelace": 5}}]}),
    ("queryLedgerState/rewardsProvenance", None),
    ("queryLedgerState/stakePoolsPerformances", None),
    ("queryLedgerState/treasuryAndReserves", None),
    ("queryLedgerState/operationalCertificates", None),
]


def _raw(devnet: Any, method: str, params: Any) -> dict[str, Any]:
    with connect(devnet.ogmios_url) as ws:
        request: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": 9}
        if params is not None:
            request["params"] = params
        ws.send(json.dumps(request))
        return json.loads(ws.recv())  # type: ignore[no-any-return]


@pytest.mark.parametrize("method,params", RAW_QUERIES)
def test_every_new_query_answer_validates_against_the_schema(devnet, method, params):
    if params == "STAKE_KEY":
        params = {"keys": [devnet.stake_key]}
    reply = _raw(devnet, method, params)
    assert "result" in reply, reply
    name = "QueryLedgerState" + method.split("/")[1][0].upper() + method.split("/")[1][1:] + "Response"
    assert_ogmios(name, reply)


@pytest.mark.parametrize("method,params", [
    ("queryLedgerState/rewardAccountSummaries", {"keys": ["nope"]}),
    ("queryLedgerState/rewardAccountSummaries", {"colour": []}),
    ("queryLedgerState/stakePools", {"includeStake": "yes"}),
    ("queryLedgerState/constitution", {"x": 1}),
    ("queryLedgerState/treasuryAndReserves", [1]),
    ("acquireLedgerState", {"point": "tip"}),
    ("releaseLedgerState", {"x": 1}),
])
def test_new_queries_refuse_junk_params(devnet, method, params):
    reply = _raw(devnet, method, params)
    assert reply["error"]["code"] == -32602 and reply["id"] == 9
    assert_ogmios("RpcError", reply)


def test_an_acquired_state_expires_when_the_tip_moves(devnet):
    ledger = devnet.ledger
    with connect(devnet.ogmios_url) as ws:
        def call(method: str, params: Any = None) -> dict[str, Any]:
            ws.send(json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1}))
            return json.loads(ws.recv())  # type: ignore[no-any-return]

        tip = {"slot": ledger.tip.slot, "id": ledger.tip.block_hash}
        acquired = call("acquireLedgerState", {"point": tip})
        assert_ogmios("AcquireLedgerStateResponse", acquired)
        assert call("queryLedgerState/epoch")["result"] == ledger.epoch
        devnet.guard.write(lambda led: led.tick())
        expired = call("queryLedgerState/epoch")
        assert expired["error"]["code"] == 2003
        assert_ogmios("QueryLedgerStateEpochResponse", expired)
        assert call("queryNetwork/tip")["result"]["id"] == ledger.tip.block_hash  # network queries still work
        released = call("releaseLedgerState")
        assert_ogmios("ReleaseLedgerStateResponse", released)
        assert call("queryLedgerState/epoch")["result"] == ledger.epoch
        refused = call("acquireLedgerState", {"point": {"slot": 0, "id": "ab" * 32}})
        assert refused["error"]["code"] == 2000
        assert_ogmios("AcquireLedgerStateResponse", refused)


def test_reward_account_summaries_take_a_stake_address_as_lucid_sends_it(devnet):
    """Lucid Evolution's Kupmios asks with the reward address (stake_test1...) as a key."""
    from pycardano import Address, Network, VerificationKeyHash

    stake_address = Address(staking_part=VerificationKeyHash(bytes.fromhex(devnet.stake_key)),
                            network=Network.TESTNET)
    reply = _raw(devnet, "queryLedgerState/rewardAccountSummaries", {"keys": [str(stake_address)]})
    assert [s["credential"] for s in reply["result"]] == [devnet.stake_key]
    assert_ogmios("QueryLedgerStateRewardAccountSummariesResponse", reply)
