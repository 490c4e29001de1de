"""Deterministic devnet wallets and the genesis UTxO set.

Rehearsals must be reproducible: the same seed gives the same keys, addresses, genesis
UTxOs and therefore the same transaction ids. A key is ``blake2b-256(seed ":" name)``
used as an ed25519 seed; the stake key uses the name ``<name>/stake``. These keys are
for a throwaway devnet only: anyone who knows the seed can spend.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pycardano import (
    Address,
    Network,
    PaymentSigningKey,
    PaymentVerificationKey,
    ScriptHash,
    ScriptPubkey,
    StakeSigningKey,
    StakeVerificationKey,
    TransactionId,
    TransactionInput,
    TransactionOutput,
)

FAUCET = "faucet"


@dataclass(frozen=True)
class Wallet:
    """A devnet wallet. ``repr`` never shows the signing keys."""

    name: str
    signing_key: PaymentSigningKey
    verification_key: PaymentVerificationKey
    address: Address
    stake_signing_key: StakeSigningKey
    stake_verification_key: StakeVerificationKey

    def __repr__(self) -> str:
        return f"Wallet(name={self.name!r}, address={self.address})"

    @property
    def key_hash(self) -> bytes:
        return bytes(self.verification_key.hash())


def _key_seed(seed: str, name: str) -> bytes:
    return hashlib.blake2b(f"{seed}:{name}".encode(), digest_size=32).digest()


def derive_wallet(seed: str, name: str, network: Network = Network.TESTNET) -> Wallet:
    """The wallet ``name`` of the devnet ``seed``: same inputs, same keys, always."""
    sk = PaymentSigningKey(_key_seed(seed, name))
    stake_sk = StakeSigningKey(_key_seed(seed, f"{name}/stake"))
    vk = PaymentVerificationKey.from_signing_key(sk)
    stake_vk = StakeVerificationKey.from_signing_key(stake_sk)
    address = Address(payment_part=vk.hash(), staking_part=stake_vk.hash(), network=network)
    return Wallet(name, sk, vk, address, stake_sk, stake_vk)


def faucet_policy(faucet: Wallet) -> ScriptPubkey:
    """The test-token minting policy: a native script requiring the faucet's signature."""
    return ScriptPubkey(faucet.verification_key.hash())


def faucet_policy_id(faucet: Wallet) -> ScriptHash:
    return faucet_policy(faucet).hash()


def genesis_tx_id(seed: str) -> TransactionId:
    """The pseudo transaction that 'created' the genesis outputs (no such tx exists)."""
    return TransactionId(hashlib.blake2b(f"genesis:{seed}".encode(), digest_size=32).digest())


def genesis_outputs(
    seed: str,
    wallets: list[Wallet],
    *,
    initial_lovelace: int,
    utxos_per_wallet: int,
    faucet_lovelace: int,
) -> list[tuple[TransactionInput, TransactionOutput]]:
    """Every wallet gets ``initial_lovelace`` split over ``utxos_per_wallet`` outputs.

    The faucet (a wallet named ``faucet``) gets ``faucet_lovelace`` instead. Several
    outputs per wallet let tests spend in parallel and keep one aside as collateral.
    """
    tx_id = genesis_tx_id(seed)
    out: list[tuple[TransactionInput, TransactionOutput]] = []
    for wallet in wallets:
        total = faucet_lovelace if wallet.name == FAUCET else initial_lovelace
        share, rest = divmod(total, utxos_per_wallet)
        for i in range(utxos_per_wallet):
            amount = share + (rest if i == 0 else 0)
            out.append((TransactionInput(tx_id, len(out)), TransactionOutput(wallet.address, amount)))
    return out
