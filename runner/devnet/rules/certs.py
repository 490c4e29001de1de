"""Stake certificates and withdrawals (Conway CERTS rules, the parts a devnet needs).

What matters for the project is the "withdraw-zero" pattern: a script stake credential
is registered once (legacy ``StakeRegistration``, no witness needed, or Conway's
``StakeRegistrationConway`` with an explicit deposit, which needs one), and later
transactions withdraw 0 from it so that its script runs once per transaction.
Withdrawals are checked against the state *before* the transaction's certificates, as
in Conway. Rewards never accrue here, so every balance is 0. The devnet has no stake
pools and no DReps: delegations to them are refused with the ledger's own codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

from pycardano import (
    DRepKind,
    ScriptHash,
    StakeAndVoteDelegation,
    StakeDelegation,
    StakeDeregistration,
    StakeDeregistrationConway,
    StakeRegistration,
    StakeRegistrationAndDelegation,
    StakeRegistrationAndDelegationAndVoteDelegation,
    StakeRegistrationAndVoteDelegation,
    StakeRegistrationConway,
    VerificationKeyHash,
    VoteDelegation,
)
from pycardano.crypto.bech32 import encode as bech32_encode

from runner.devnet.ledger import json_codec as js
from runner.devnet.ledger.types import (
    ParsedTx,
    StakeAccount,
    credential_key,
    reward_account_credential,
    reward_address_text,
)
from runner.devnet.rules.utxo import RuleContext, reject
from runner.errors import LedgerRejection

Credential: TypeAlias = "VerificationKeyHash | ScriptHash"

#: Certificates whose credential must witness the transaction (all but legacy registration).
_WITNESSED = (
    StakeDeregistration, StakeDelegation, StakeRegistrationConway, StakeDeregistrationConway,
    VoteDelegation, StakeAndVoteDelegation, StakeRegistrationAndDelegation,
    StakeRegistrationAndVoteDelegation, StakeRegistrationAndDelegationAndVoteDelegation,
)
_REGISTERING = (
    StakeRegistration, StakeRegistrationConway, StakeRegistrationAndDelegation,
    StakeRegistrationAndVoteDelegation, StakeRegistrationAndDelegationAndVoteDelegation,
)
_WITH_POOL = (StakeDelegation, StakeAndVoteDelegation, StakeRegistrationAndDelegation,
              StakeRegistrationAndDelegationAndVoteDelegation)
_WITH_DREP = (VoteDelegation, StakeAndVoteDelegation, StakeRegistrationAndVoteDelegation,
              StakeRegistrationAndDelegationAndVoteDelegation)


@dataclass
class CertEffects:
    deposits: int = 0
    refunds: int = 0
    changes: dict[str, StakeAccount | None] = field(default_factory=dict)
    #: (certificate index, credential, Ogmios certificate type) for every certificate
    #: that needs a witness
    witnesses: list[tuple[int, Credential, str]] = field(default_factory=list)
    #: the first DELEG failure met while walking the certificates (raised by check_certificates)
    failure: LedgerRejection | None = None


def _origin(credential: Credential) -> str:
    return "script" if isinstance(credential, ScriptHash) else "verificationKey"


def is_supported(cert: Any) -> bool:
    """Stake registration, deregistration and vote delegation: what the devnet models."""
    return isinstance(cert, _WITNESSED + _REGISTERING)


def check_withdrawals_in_rewards(ctx: RuleContext, ptx: ParsedTx) -> None:
    """WithdrawalsNotInRewardsCERTS: registered accounts, withdrawn exactly (0 here)."""
    incomplete: dict[str, Any] = {}
    for account, amount in (ptx.tx.transaction_body.withdraws or {}).items():
        key, _ = reward_account_credential(bytes(account))
        if ctx.stake.get(key) is None or int(amount) != 0:
            incomplete[reward_address_text(bytes(account))] = js.ada(int(amount))
    if incomplete:
        reject(3141, "withdrawal(s) from unregistered reward accounts or not equal to the balance (0 on the devnet)",
               {"incompleteWithdrawals": incomplete},
               "register the stake credential in an earlier transaction and withdraw exactly 0")


def check_withdrawals_delegated(ctx: RuleContext, ptx: ParsedTx) -> None:
    """ConwayWdrlNotDelegatedToDRep: key credentials withdraw only once delegated (protocol 10)."""
    marginalized: list[str] = []
    for account in ptx.tx.transaction_body.withdraws or {}:
        key, _ = reward_account_credential(bytes(account))
        registered = ctx.stake.get(key)
        if (registered is not None and key.startswith("key:") and registered.drep is None
                and ctx.params.protocol_major >= 10):
            marginalized.append(key[4:])
    if marginalized:
        reject(3150, "withdrawals from key credentials need a DRep delegation (Conway, protocol 10)",
               {"marginalizedCredentials": marginalized},
               "delegate the stake key's votes (e.g. to always-abstain) first")


def check_certificates(ctx: RuleContext, ptx: ParsedTx) -> None:
    """ConwayDelegPredFailure: StakeKeyRegisteredDELEG (3145), StakeKeyNotRegisteredDELEG (3146),
    IncorrectDepositDELEG / RefundIncorrectDELEG (3151), DelegateeStakePoolNotRegisteredDELEG
    (3140), DelegateeDRepNotRegisteredDELEG (3153), found while resolving the certificates."""
    if ctx.certs.failure is not None:
        raise ctx.certs.failure


def certificate_effects(ctx: RuleContext, ptx: ParsedTx) -> CertEffects:
    """Deposits, refunds, account changes and needed witnesses of the certificates, in
    order (a certificate sees the state the earlier ones leave). Never raises: the first
    failure is kept for :func:`check_certificates`."""
    effects = CertEffects()
    try:
        _walk(ctx, ptx, effects)
    except LedgerRejection as exc:
        effects.failure = exc
    return effects


def _walk(ctx: RuleContext, ptx: ParsedTx, effects: CertEffects) -> None:
    state: dict[str, StakeAccount | None] = {}

    def current(key: str) -> StakeAccount | None:
        return state[key] if key in state else ctx.stake.get(key)

    for index, cert in enumerate(ptx.tx.transaction_body.certificates or []):
        if not is_supported(cert):
            continue  # refused by the devnet-scope rule
        credential = cert.stake_credential.credential
        key = credential_key(credential)
        if isinstance(cert, _WITNESSED):
            effects.witnesses.append((index, credential, _ogmios_type(cert)))
        if isinstance(cert, _REGISTERING):
            if current(key) is not None:
                reject(3145, f"certificate #{index}: stake credential already registered",
                       {"knownCredential": credential.payload.hex(), "from": _origin(credential)})
            deposit = getattr(cert, "coin", ctx.params.key_deposit)
            _same_deposit(index, "deposit", deposit, ctx.params.key_deposit, "keyDeposit")
            state[key] = StakeAccount(deposit)
            effects.deposits += deposit
        account = current(key)
        if account is None:
            reject(3146, f"certificate #{index}: stake credential is not registered",
                   {"unknownCredential": credential.payload.hex(), "from": _origin(credential)},
                   "register it first (it may be in the same transaction, before this certificate)")
        if isinstance(cert, _WITH_POOL):
            pool = bech32_encode("pool", bytes(cert.pool_keyhash.payload))
            reject(3140, f"certificate #{index}: the devnet has no stake pool {pool}", {"unknownStakePool": pool},
                   "the devnet has no stake pools: delegate votes only (always-abstain)")
        if isinstance(cert, _WITH_DREP):
            state[key] = StakeAccount(account.deposit, _drep_delegation(index, cert.drep), account.pool)
        if isinstance(cert, (StakeDeregistration, StakeDeregistrationConway)):
            _same_deposit(index, "refund", getattr(cert, "coin", account.deposit), account.deposit, "the deposit")
            state[key] = None
            effects.refunds += account.deposit
    effects.changes = state


def _same_deposit(index: int, what: str, given: int, expected: int, name: str) -> None:
    if given != expected:
        reject(3151, f"certificate #{index}: {what} {given} differs from {name} {expected}",
               {"providedDeposit": js.ada(given), "expectedDeposit": js.ada(expected)})


def _ogmios_type(cert: Any) -> str:
    if isinstance(cert, (StakeDeregistration, StakeDeregistrationConway)):
        return "stakeCredentialDeregistration"
    if isinstance(cert, StakeRegistrationConway):
        return "stakeCredentialRegistration"
    return "stakeDelegation"


def _drep_delegation(index: int, drep: Any) -> str:
    if drep.kind == DRepKind.ALWAYS_ABSTAIN:
        return "abstain"
    if drep.kind == DRepKind.ALWAYS_NO_CONFIDENCE:
        return "noConfidence"
    origin = "script" if drep.kind == DRepKind.SCRIPT_HASH else "verificationKey"
    reject(3153, f"certificate #{index}: the devnet has no registered DRep",
           {"unknownDelegateRepresentative": {"type": "registered", "from": origin,
                                              "id": drep.credential.payload.hex()}},
           "delegate to always-abstain or always-no-confidence on the devnet")
