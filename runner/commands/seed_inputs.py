"""Reading the seed commands' flags and files into domain values, every problem at once.

Kept apart from the Typer functions in ``seed.py`` so that each check is a plain
function: parse (collect problems) -> check against the chain (vesting in the past,
tokens the owner does not hold) -> raise one :class:`~runner.domain.problems.BadInput`
before anything is built, written or submitted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pycardano as pc

from runner.domain.problems import Problems
from runner.domain.schedule import (
    ScheduleDefinition,
    check_against_clock,
    check_quorum,
    parse_allocations,
    parse_key_address,
    parse_oracles,
)
from runner.engine import Context, KeyRing, ScheduleTarget, adapter, discovery
from runner.store.datadir import milestone_file

YEAR_MS = 365 * 24 * 3600 * 1000


def read_text(path: Path, flag: str, problems: Problems) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.add(f"{flag} {path}", "file not found")
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(f"{flag} {path}", f"cannot read the file: {exc}")
    return None


def _hex_bytes(text: str, size: int | None, flag: str, problems: Problems) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        value = None
    if value is None or (size is not None and len(value) != size):
        problems.add(flag, f"expected {size} bytes of hex" if size else "expected hex",
                     hint="a policy id is 56 hex characters")
        return b""
    return value


def schedule_target(network: str, allocations_file: Path, oracle_addresses: str, quorum: int, policy_hex: str,
                    token_name: str, owner: bytes, payer: bytes, expiry_s: int | None, expiry_ms: int | None,
                    keys: KeyRing) -> ScheduleTarget:
    problems = Problems()
    where = str(allocations_file)
    text = read_text(allocations_file, "--beneficiary-allocations", problems)
    allocations = parse_allocations(text, where, network, problems) if text is not None else []
    oracles = parse_oracles([a for a in oracle_addresses.split(",") if a.strip()], network, problems)
    check_quorum(quorum, len(oracles), problems)
    policy = _hex_bytes(policy_hex.strip(), 28, "--token-policy-id", problems)
    name = token_name.encode("utf-8")
    if len(name) > 32:
        problems.add("--token-name", "an asset name is at most 32 bytes")
    if expiry_s is not None and expiry_ms is not None:
        problems.add("--expiry", "give --expiry (seconds) or --expiry-ms, not both")
    latest = max((a.vesting_ms for a in allocations), default=0)
    expiry = expiry_ms if expiry_ms is not None else (expiry_s * 1000 if expiry_s is not None else latest + YEAR_MS)
    problems.raise_if_any()
    definition = ScheduleDefinition(network, tuple(allocations), tuple(oracles), quorum, owner, policy, name, expiry)
    net = pc.Network.MAINNET if network == "mainnet" else pc.Network.TESTNET
    return ScheduleTarget(definition, keys.address(owner, net), keys.address(payer, net))


def check_against_chain(ctx: Context, target: ScheduleTarget, allocations_file: Path) -> None:
    """Vesting in the past and tokens the owner lacks; skipped once the schedule is
    registered (a rerun must answer "already done", not refuse past vesting times)."""
    found = discovery.by_definition(ctx, target.definition, target.owner_address)
    if found is not None and not ctx.chain.by_refs([found.schedule.seed]):
        return
    problems = Problems()
    snap = ctx.chain.snapshot()
    check_against_clock(target.definition, snap.now_ms, problems, str(allocations_file))
    policy, name = pc.ScriptHash(target.definition.token_policy), pc.AssetName(target.definition.token_name)
    held = sum(u.output.amount.multi_asset.get(policy, {}).get(name, 0)
               for u in ctx.chain.utxos(target.owner_address))
    if held < target.definition.total_amount:
        problems.add(str(allocations_file), f"over-supply: the allocations total {target.definition.total_amount} "
                                            f"tokens, the owner's address holds {held}", entry="$",
                     field="token_amount", hint="send the tokens to the owner's address, or lower the amounts")
    problems.raise_if_any()


def datums(definition: ScheduleDefinition) -> list[dict[str, Any]]:
    """The pot datums the register transactions lock (one per milestone and vesting time)."""
    return adapter.pot_datums(definition)


def key_address(text: str | None, network: str, flag: str) -> str | None:
    if text is None:
        return None
    problems = Problems()
    address = parse_key_address(text, network, problems, flag)
    problems.raise_if_any()
    return str(address)


# ---------------------------------------------------------------- commit-milestone


def contract_from_signatures(ctx: Context, parsed: list[Any], where: str) -> str:
    """The certificate policy id is inside every signed message: from it, the contract."""
    from runner.domain.signatures import CERTIFICATE_MESSAGE_TAG

    tag = CERTIFICATE_MESSAGE_TAG
    for s in parsed:
        data = s.signed_data
        if data.startswith(tag) and len(data) > len(tag) + 28:
            policy = data[len(tag):len(tag) + 28]
            home = str(pc.Address(pc.ScriptHash(policy), network=ctx.chain.network))
            found = adapter.allocation_addresses_of_certificates(ctx.chain.utxos(home), ctx.chain.network)
            if len(found) == 1:
                return found[0]
            if found:
                problems = Problems()
                problems.add(where, f"several schedules lead back to certificate policy {policy.hex()}: "
                             f"{', '.join(found)} (anyone can deploy one there)", entry="$[0]",
                             field="signed_data", hint="pass --contract-address with the schedule's contract address")
                problems.raise_if_any()
    problems = Problems()
    problems.add(where, "cannot tell the schedule from the signed data (no deployed schedule signs this way)",
                 entry="$[0]", field="signed_data", hint="pass --contract-address")
    problems.raise_if_any()
    raise AssertionError("unreachable")


def verify_for_commit(ctx: Context, resolved: Any, parsed: list[Any], milestone: str, where: str,
                      quorum: int | None, total: int | None, problems: Problems) -> Any:
    """Signatures checked against the schedule; ``problems`` may already hold the file's
    malformed entries: all are reported together."""
    from runner.domain.schedule import Oracle
    from runner.domain.signatures import check_quorum as check_signatures
    from runner.domain.signatures import verify
    from runner.engine.observe import schedule_facts

    params = resolved.schedule.params
    if quorum is not None and quorum != params.quorum:
        problems.add("--quorum-threshold", f"the schedule's quorum is {params.quorum}, not {quorum}")
    if total is not None and total != len(params.oracles):
        problems.add("--total-oracles", f"the schedule has {len(params.oracles)} oracles, not {total}")
    known = {a.milestone for a in schedule_facts(ctx, resolved, history=True).allocations()}
    if milestone not in known:
        problems.add("--milestone-identifier", f"unknown milestone {milestone!r}",
                     hint=f"the schedule's milestones: {', '.join(sorted(known)) or '(none)'}")
        problems.raise_if_any()
    oracles = [Oracle("", h) for h in params.oracles]
    verified = verify(parsed, resolved.schedule.message(milestone), oracles, problems, where)
    check_signatures(verified, params.quorum, problems, where)
    problems.raise_if_any()
    return verified


def _signature_rows(pairs: list[tuple[bytes, bytes]]) -> list[dict[str, str]]:
    from runner.domain.signatures import key_hash

    return sorted(({"oracle_key_hash": key_hash(v).hex(), "verification_key": v.hex(), "signature": s.hex()}
                   for v, s in pairs), key=lambda r: r["oracle_key_hash"])


def write_milestone_file(ctx: Context, resolved: Any, milestone: str, verified: Any,
                         certificate: str | None = None) -> None:
    params = resolved.schedule.params
    ctx.data.write_json(milestone_file(milestone), {
        "milestone_identifier": milestone, "contract_address": resolved.schedule.allocation_address,
        "certificate_policy_id": resolved.schedule.policy_id.hex(), "quorum_threshold": params.quorum,
        "total_oracles": len(params.oracles), "certificate": certificate,
        "signatures": _signature_rows(list(verified.accepted.items()))})


def rebuild_milestone_files(ctx: Context, facts: Any) -> list[str]:
    """Write ``milestones/<id>.json`` for every certified milestone whose file is missing,
    untrusted or stale (the chain's certificate datum has everything)."""
    from runner.engine import reports

    written = []
    for milestone in sorted(facts.certificates):
        record = reports.milestone_record(facts, milestone)
        if record is None:
            continue
        record["signatures"] = _signature_rows([(bytes.fromhex(r["verification_key"]), bytes.fromhex(r["signature"]))
                                                for r in record["signatures"]])
        path = milestone_file(milestone)
        if ctx.data.read_json(path) != record:
            ctx.data.write_json(path, record)
            written.append(path)
    return written


# ---------------------------------------------------------------- devnet helpers


def _require_devnet(config: Any) -> None:
    from runner.domain.schedule import canonical_network
    from runner.errors import UserInputError

    if canonical_network(config.network) != "devnet":
        raise UserInputError("this command works on the devnet only", location="--network",
                             hint="use --network devnet (real networks have no faucet and no time travel)")


def devnet_fund(config: Any, remote: bool, address: str, lovelace: int, tokens: list[str]) -> dict[str, Any]:
    from runner.engine import open_context
    from runner.errors import UserInputError

    _require_devnet(config)
    problems = Problems()
    try:
        target = str(pc.Address.from_primitive(address))
    except Exception:  # noqa: BLE001  # pycardano raises several types for a bad address
        problems.add("--address", f"not a valid bech32 address: {address[:40]!r}")
        target = address
    assets: dict[bytes, int] = {}
    for item in tokens:
        name, _, qty = item.rpartition(":")
        if not name or not qty.isdigit() or int(qty) <= 0:
            problems.add("--tokens", f"expected NAME:QUANTITY, got {item!r}")
        else:
            assets[name.encode()] = int(qty)
    problems.raise_if_any()
    with open_context(config, plan_mode=True, remote=remote) as (_, connection):
        if connection.embedded is not None:
            from runner.devnet import FAUCET, faucet_policy_id

            def pay(ledger: Any) -> tuple[Any, bytes]:
                return ledger.fund(target, lovelace, assets or None), bytes(faucet_policy_id(ledger.wallet(FAUCET)))

            ref, policy = connection.embedded.write(pay)
            return {"funded": target, "lovelace": lovelace, "tokens": {k.decode(): v for k, v in assets.items()},
                    "output": f"{ref.transaction_id.payload.hex()}#{ref.index}", "token_policy_id": policy.hex()}
        if assets:
            raise UserInputError("test tokens are minted by the embedded devnet only", location="--tokens",
                                 hint="unset OGMIOS_URL/KUPO_URL, or fund ADA only")
        reply = connection.devnet_control("devnet/fund", {"address": target, "lovelace": lovelace})
        return {"funded": target, "lovelace": lovelace, "tokens": {}, "output": reply.get("output"),
                "token_policy_id": None}


def devnet_advance(config: Any, remote: bool, to_ms: int | None, seconds: int | None) -> dict[str, Any]:
    from runner.engine import open_context
    from runner.errors import UserInputError

    _require_devnet(config)
    if (to_ms is None) == (seconds is None):
        raise UserInputError("give --to-ms or --seconds", location="advance-time", hint="e.g. --seconds 3600")
    with open_context(config, plan_mode=True, remote=remote) as (ctx, connection):
        target = to_ms if to_ms is not None else ctx.chain.snapshot().now_ms + int(seconds or 0) * 1000
        connection.devnet_control("devnet/advance", {"posixMs": target})
        status = connection.devnet_control("devnet/tick", {})
    return {"posix_ms": status.get("posix_ms"), "slot": status.get("slot"), "tip": status.get("tip")}
