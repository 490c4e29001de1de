"""The ONE module of the engine that knows the contract's builder (``runner.contract``).

Everything contract-shaped the engine needs goes through here — schedule parameters and
addresses, decoding what is locked and certified, the builder's entry points — in the
engine's own terms (:class:`Locked`, :class:`Schedule`), so that a new contract layout
changes this file and nothing else (it did: contract v2 locks one "pot" per (milestone,
vesting time) whose datum lists beneficiary -> amount; the engine sees one
:class:`Locked` per (beneficiary, milestone) entry, with the pot's reference).
Pure: no I/O; chain facts come in as pycardano UTxOs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pycardano as pc
import uplc
import uplc.ast

from runner.contract import pots as P
from runner.contract import transactions as T
from runner.contract import tx_release as R
from runner.contract.blueprint import (
    ScheduleParameters,
    SeedRef,
    apply_parameters,
    load_blueprint,
    schedule_scripts,
    script_hash_hex,
)
from runner.contract.datums import certificate_message, entry_key, from_plutus_address, to_plutus_address
from runner.contract.tx_core import ChainSnapshot, Evaluator, UnsignedTx, sign, signed_cbor
from runner.domain.schedule import ScheduleDefinition, ledger_network, milestone_bytes

__all__ = ["ChainSnapshot", "Evaluator", "Locked", "Schedule", "UnsignedTx", "sign", "signed_cbor"]

SCRIPT_NAMES = T.SCRIPT_NAMES
Deployment = T.Deployment
NothingToRelease = R.NothingToRelease


@dataclass(frozen=True)
class Locked:
    """An allocation still locked on chain (decoded from its UTxO)."""

    beneficiary: str
    milestone: str
    amount: int
    vesting_ms: int
    ref: str  # "txid#index"

    @property
    def key(self) -> tuple[str, str]:
        return (self.beneficiary, self.milestone)


@dataclass(frozen=True)
class Schedule:
    """A definition bound to its one-shot seed: parameters, scripts, addresses."""

    params: ScheduleParameters
    scripts: Any  # ScheduleScripts
    network: pc.Network

    @property
    def allocation_address(self) -> str:
        return str(self.scripts.allocation_address(self.network))

    @property
    def certificate_address(self) -> str:
        return str(self.scripts.certificate_address(self.network))

    @property
    def policy_id(self) -> bytes:
        return bytes(self.scripts.certificate_policy_id)

    @property
    def seed(self) -> str:
        return f"{self.params.seed.tx_id.hex()}#{self.params.seed.index}"

    def message(self, milestone: str) -> bytes:
        return certificate_message(self.policy_id, milestone_bytes(milestone))

    def deployment(self, certificate_utxos: Sequence[pc.UTxO]) -> Deployment | None:
        """The deployment if the three reference scripts sit at the certificate address."""
        wanted = {name: bytes(pc.plutus_script_hash(getattr(self.scripts, name))) for name in SCRIPT_NAMES}
        found: dict[str, pc.UTxO] = {}
        for u in certificate_utxos:
            script = u.output.script
            if isinstance(script, pc.PlutusV3Script):
                digest = bytes(pc.plutus_script_hash(script))
                for name, h in wanted.items():
                    if h == digest:
                        found.setdefault(name, u)
        if len(found) != len(SCRIPT_NAMES):
            return None
        return Deployment(self.params, self.scripts, found, self.network)


def _seed(ref: str) -> SeedRef:
    tx_id, index = ref.split("#")
    return SeedRef(bytes.fromhex(tx_id), int(index))


def parameters(definition: ScheduleDefinition, seed_ref: str) -> ScheduleParameters:
    return ScheduleParameters(_seed(seed_ref), definition.owner, tuple(o.key_hash for o in definition.oracles),
                              definition.quorum, definition.expiry_ms, definition.token_policy,
                              definition.token_name)


def schedule_for(params: ScheduleParameters, network: str) -> Schedule:
    """Applying the parameters costs ~0.3 s; the result depends on them only: cached."""
    return _schedule_for(params, ledger_network(network) == pc.Network.MAINNET)


@functools.lru_cache(maxsize=64)
def _schedule_for(params: ScheduleParameters, mainnet: bool) -> Schedule:
    return Schedule(params, schedule_scripts(params), pc.Network.MAINNET if mainnet else pc.Network.TESTNET)


def certificate_address_for(definition: ScheduleDefinition, seed_ref: str) -> str:
    """Only the certificate policy (cheap): where a deployment made from this seed sits."""
    return _certificate_address(seed_ref, tuple(o.key_hash for o in definition.oracles), definition.quorum,
                                definition.network)


@functools.lru_cache(maxsize=4096)
def _certificate_address(seed_ref: str, oracles: tuple[bytes, ...], quorum: int, network: str) -> str:
    cert = apply_parameters(load_blueprint().validator("certificate_policy").compiled_code,
                            _seed(seed_ref).to_plutus(), b"".join(oracles), quorum)
    return str(pc.Address(pc.ScriptHash(bytes.fromhex(script_hash_hex(cert))), network=ledger_network(network)))


# ---------------------------------------------------------------- discovery by address


def _peel(script_cbor: bytes, count: int) -> list[Any]:
    """The last ``count`` data parameters applied to a script, in application order."""
    term = uplc.unflatten(script_cbor).term
    found: list[Any] = []
    for _ in range(count):
        if not isinstance(term, uplc.ast.Apply):
            raise ValueError("the script has fewer applied parameters than expected")  # noqa: TRY004
        found.append(term.x)
        term = term.f
    return list(reversed(found))


def _bytes(node: Any) -> bytes:
    return bytes(node.value)


_FOUND_PARAMETERS: dict[str, ScheduleParameters] = {}


def parameters_from_scripts(allocation_address: str, lookup: Callable[[str], bytes | None]
                            ) -> ScheduleParameters | None:
    """See :func:`_parameters_from_scripts`; a found answer is kept (a script hash fixes
    the script, so the parameters behind an address never change)."""
    if allocation_address not in _FOUND_PARAMETERS:
        found = _parameters_from_scripts(allocation_address, lookup)
        if found is None:
            return None
        _FOUND_PARAMETERS[allocation_address] = found
    return _FOUND_PARAMETERS[allocation_address]


def _parameters_from_scripts(allocation_address: str, lookup: Callable[[str], bytes | None]
                             ) -> ScheduleParameters | None:
    """Recover a schedule's parameters from its allocation address alone: each applied
    script carries its parameters (forwarder -> batch hash -> C, owner, expiry, token;
    C -> seed, oracles, quorum).  ``lookup(script_hash_hex)`` reads a script's CBOR
    (Kupo's ``/scripts``).  None when a script is unknown or not of this contract."""
    try:
        address = pc.Address.from_primitive(allocation_address)
        forwarder = lookup(bytes(address.payment_part).hex())
        if forwarder is None:
            return None
        [batch_hash] = _peel(forwarder, 1)
        batch = lookup(_bytes(batch_hash).hex())
        if batch is None:
            return None
        cert_id, owner, expiry, token_policy, token_name = _peel(batch, 5)
        cert = lookup(_bytes(cert_id).hex())
        if cert is None:
            return None
        seed, oracles, quorum = _peel(cert, 3)
        raw_oracles = _bytes(oracles)
        params = ScheduleParameters(
            SeedRef(_bytes(seed.fields[0]), int(seed.fields[1].value)), _bytes(owner),
            tuple(raw_oracles[i:i + 28] for i in range(0, len(raw_oracles), 28)), int(quorum.value),
            int(expiry.value), _bytes(token_policy), _bytes(token_name))
        rebuilt = _schedule_for(params, address.network == pc.Network.MAINNET)
    except Exception:  # noqa: BLE001  # anything unexpected: not one of our schedules
        return None
    if rebuilt.allocation_address != str(address):
        return None
    return params


# ---------------------------------------------------------------- chain facts


def specs(definition: ScheduleDefinition) -> list[T.AllocationSpec]:
    return [T.AllocationSpec(pc.Address.from_primitive(a.beneficiary), a.amount, milestone_bytes(a.milestone),
                             a.vesting_ms) for a in definition.allocations]


_DECODED: dict[tuple[Any, ...], tuple[list[Locked], list[tuple[pc.UTxO, str]]]] = {}


def decode_locked(dep: Deployment, utxos: Sequence[pc.UTxO], *, definition: ScheduleDefinition | None = None,
                  genuine_txs: frozenset[str] | None = None) -> tuple[list[Locked], list[tuple[pc.UTxO, str]]]:
    """(one :class:`Locked` per pot entry, every other UTxO at the address with why it is
    ignored).  ``definition``: only pots of its layout count; ``genuine_txs``: only pots
    created by these (the schedule's register) transactions count.  An output reference
    always names the same output, so the answer for a set of references is kept."""
    key = (dep.policy_id, tuple(sorted((u.input.transaction_id.payload, u.input.index) for u in utxos)),
           definition.fingerprint() if definition is not None else None, genuine_txs)
    if key not in _DECODED:
        if len(_DECODED) > 256:
            _DECODED.clear()
        _DECODED[key] = _decode_locked(dep, utxos, definition, genuine_txs)
    locked, ignored = _DECODED[key]
    return list(locked), list(ignored)


def _decode_locked(dep: Deployment, utxos: Sequence[pc.UTxO], definition: ScheduleDefinition | None,
                   genuine_txs: frozenset[str] | None) -> tuple[list[Locked], list[tuple[pc.UTxO, str]]]:
    if genuine_txs is not None:
        return _decode_genuine(dep, utxos, genuine_txs)
    scan = P.scan_pots(dep, utxos, schedule=specs(definition) if definition is not None else None)
    locked: list[Locked] = []
    unreadable: list[tuple[pc.UTxO, str]] = []
    for pot in scan.pots:
        try:
            locked.extend(_entries(pot.utxo, pot.datum, dep.network))
        except (ValueError, UnicodeDecodeError):  # anyone can fund a pot with any milestone id
            unreadable.append((pot.utxo, "a backed pot whose milestone id is not UTF-8 text"))
    return locked, [(i.utxo, i.reason) for i in scan.ignored] + unreadable


def _entries(utxo: pc.UTxO, datum: Any, network: pc.Network) -> list[Locked]:
    ref = f"{utxo.input.transaction_id.payload.hex()}#{utxo.input.index}"
    milestone = bytes(datum.milestone_id).decode("utf-8")
    return [Locked(str(from_plutus_address(e.beneficiary, network)), milestone, int(e.amount),
                   int(datum.vesting_time), ref) for e in datum.entries]


def _decode_genuine(dep: Deployment, utxos: Sequence[pc.UTxO], genuine_txs: frozenset[str]
                    ) -> tuple[list[Locked], list[tuple[pc.UTxO, str]]]:
    """Pots created by the schedule's register transactions (which only the owner, who
    holds the seed, can make) are the builder's own: decoding their datum is enough; the
    contract's full check (``scan_pots``, ~20 ms per entry) runs once more in the builder."""
    locked: list[Locked] = []
    ignored: list[tuple[pc.UTxO, str]] = []
    for u in sorted(utxos, key=lambda x: (x.input.transaction_id.payload, x.input.index)):
        if u.output.address.payment_part != dep.allocation_address.payment_part:
            continue
        datum = P.decode_pot_datum(u)
        if u.input.transaction_id.payload.hex() not in genuine_txs:
            what = "a well-formed pot" if datum is not None else "no inline pot datum"
            ignored.append((u, f"{what}, not created by this schedule's register transactions"))
            continue
        try:
            found = _entries(u, datum, dep.network) if datum is not None else None
        except (ValueError, UnicodeDecodeError):
            found = None
        if not found:
            ignored.append((u, "created by a register transaction but not a readable pot"))
            continue
        locked.extend(found)
    return locked, ignored


def certificates(dep: Deployment, certificate_utxos: Sequence[pc.UTxO]) -> dict[str, pc.UTxO]:
    found = R.certificates_at(dep, certificate_utxos)
    return {k.decode("utf-8", "replace"): v for k, v in found.items()}


# ---------------------------------------------------------------- builder entry points


def build_deploy(schedule: Schedule, payer: Sequence[pc.UTxO], snap: ChainSnapshot) -> UnsignedTx:
    return T.deploy(schedule.params, schedule.scripts, payer, snap).tx


def build_stake(dep: Deployment, payer: Sequence[pc.UTxO], snap: ChainSnapshot, evaluate: Evaluator, *,
                registered: bool = False) -> list[UnsignedTx]:
    """[] when ``registered`` (the credential's reward account exists: nothing to do)."""
    tx = T.register_stake(dep, payer, snap, evaluate, registered=registered)
    return [] if tx is None else [tx]


def build_register(dep: Deployment, definition: ScheduleDefinition, seed: pc.UTxO, funding: Sequence[pc.UTxO],
                   snap: ChainSnapshot) -> list[UnsignedTx]:
    return T.register_schedule(dep, specs(definition), seed, funding, snap)


def build_certify(dep: Deployment, milestone: str, signatures: Mapping[bytes, bytes], payer: Sequence[pc.UTxO],
                  snap: ChainSnapshot, evaluate: Evaluator) -> UnsignedTx:
    return T.certify(dep, milestone_bytes(milestone), dict(signatures), payer, snap, evaluate)


def entry_order(beneficiary: str) -> bytes:
    """Where a beneficiary's entry sits in a pot's datum: the contract sorts entries by the
    serialised Plutus form of the address (``--beneficiary-index`` counts in this order)."""
    return entry_key(to_plutus_address(pc.Address.from_primitive(beneficiary)))


def reward_credential(dep: Deployment) -> str:
    """The batch validator's stake credential (hex): releases and reclaims withdraw from it."""
    return bytes(dep.scripts.batch_hash).hex()


def build_release(dep: Deployment, pot_utxos: Sequence[pc.UTxO], certs: Mapping[str, pc.UTxO],
                  payer: Sequence[pc.UTxO], snap: ChainSnapshot, evaluate: Evaluator, *, reward_balance: int = 0,
                  evaluate_after: R.EvaluatorAfter | None = None
                  ) -> tuple[list[UnsignedTx], list[tuple[pc.UTxO, str]]]:
    """Release exactly the pots ``pot_utxos`` (the caller chose them): (transactions,
    pots left out with the reason).  ``reward_balance``: the batch credential's rewards (the
    ledger wants a withdrawal of exactly the balance).  ``evaluate_after``: when the payer's
    UTxOs run out, chain further transactions on the previous one's change (submitted in
    order: see ``runner.contract.tx_release``)."""
    by_bytes = {milestone_bytes(k): v for k, v in certs.items()}
    plan = R.release_plan(dep, pot_utxos, by_bytes, payer, snap, evaluate, reward_balance=reward_balance,
                          evaluate_after=evaluate_after)
    return plan.transactions, [(i.utxo, i.reason) for i in plan.skipped]


def build_reclaim(dep: Deployment, utxos: Sequence[pc.UTxO], payer: Sequence[pc.UTxO], snap: ChainSnapshot,
                  evaluate: Evaluator, *, reward_balance: int = 0, evaluate_after: R.EvaluatorAfter | None = None
                  ) -> list[UnsignedTx]:
    return R.reclaim(dep, utxos, payer, snap, evaluate, reward_balance=reward_balance,
                     evaluate_after=evaluate_after)


def produced_at(txs: Sequence[UnsignedTx], address: str) -> list[pc.UTxO]:
    return [u for tx in txs for u in tx.produced if str(u.output.address) == address]


def pot_datums(definition: ScheduleDefinition) -> list[dict[str, Any]]:
    """The pot datums a register transaction locks (the contract's layout), for display."""
    network = ledger_network(definition.network)
    out = []
    for d in P.layout_pots(specs(definition), (definition.token_policy, definition.token_name), network):
        entries = [{"beneficiary_address": str(from_plutus_address(e.beneficiary, network)),
                    "token_amount": int(e.amount)} for e in d.entries]
        out.append({"milestone_identifier": bytes(d.milestone_id).decode("utf-8", "replace"),
                    "vesting_time_ms": int(d.vesting_time), "entries": entries,
                    "datum_cbor": bytes(d.to_cbor()).hex()})
    return out


def certificate_signers(certificate: pc.UTxO) -> list[tuple[bytes, bytes]]:
    """(vkey, signature) pairs recorded in a certificate's inline datum ([] if unreadable)."""
    from runner.contract.datums import CertificateDatum

    datum = certificate.output.datum
    raw = getattr(datum, "cbor", None)
    try:
        decoded = CertificateDatum.from_cbor(bytes(raw)) if raw is not None else datum
        return [(bytes(e.vkey), bytes(e.signature)) for e in decoded.signatures]
    except Exception:  # noqa: BLE001  # a certificate we cannot read counts no signatures
        return []


def allocation_address_of_certificates(certificate_utxos: Sequence[pc.UTxO], network: pc.Network) -> str | None:
    """From the outputs at a certificate address (the certificate policy id is in every
    oracle message) to the contract address: the reference scripts there are the
    schedule's three scripts; the forwarder is the one whose parameters lead back.
    None when none or several do (anyone can deploy a forwarder leading back to C)."""
    found = allocation_addresses_of_certificates(certificate_utxos, network)
    return found[0] if len(found) == 1 else None


def allocation_addresses_of_certificates(certificate_utxos: Sequence[pc.UTxO], network: pc.Network) -> list[str]:
    """Every forwarder at the certificate address whose parameters lead back: more than
    one means someone planted a schedule of their own on the same certificate policy."""
    scripts = {bytes(pc.plutus_script_hash(u.output.script)).hex(): bytes(u.output.script)
               for u in certificate_utxos if isinstance(u.output.script, pc.PlutusV3Script)}
    found = []
    for digest in sorted(scripts):
        candidate = str(pc.Address(pc.ScriptHash(bytes.fromhex(digest)), network=network))
        if parameters_from_scripts(candidate, scripts.get) is not None:
            found.append(candidate)
    return found
