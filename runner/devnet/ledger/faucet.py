"""Real, signed transactions for the faucet (and for tests and benchmarks).

``fund`` must not be a back door that writes UTxOs: it builds a payment like any
wallet would, signs it with the faucet key and submits it through every rule. Test
tokens are minted under a native-script policy that requires the faucet's signature.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pycardano import (
    Address,
    Asset,
    AssetName,
    MultiAsset,
    NativeScript,
    SigningKey,
    Transaction,
    TransactionBody,
    TransactionInput,
    TransactionOutput,
    TransactionWitnessSet,
    Value,
    VerificationKeyWitness,
)

from runner.devnet.ledger.fees import ledger_size, min_fee, min_utxo
from runner.devnet.ledger.genesis import Wallet, faucet_policy
from runner.devnet.ledger.params import LedgerParams
from runner.errors import UserInputError


def sign(body: TransactionBody, keys: Sequence[SigningKey], native_scripts: Sequence[NativeScript] = (),
         **witness_fields: Any) -> Transaction:
    """Witness ``body`` with every key (signatures over the body hash)."""
    digest = body.hash()
    witnesses = [VerificationKeyWitness(k.to_verification_key(), k.sign(digest)) for k in keys]
    ws = TransactionWitnessSet(vkey_witnesses=witnesses or None,
                               native_scripts=list(native_scripts) or None, **witness_fields)
    return Transaction(body, ws)


def balanced_payment(params: LedgerParams, inputs: Sequence[tuple[TransactionInput, TransactionOutput]],
                     outputs: Sequence[TransactionOutput], change_address: Address,
                     keys: Sequence[SigningKey], *, mint: MultiAsset | None = None,
                     native_scripts: Sequence[NativeScript] = (), ttl: int | None = None) -> Transaction:
    """A signed transaction whose change output takes the rest, at exactly the min fee."""
    total_in = Value(0, MultiAsset())
    for _, out in inputs:
        total_in = total_in + out.amount
    if mint:
        total_in = total_in + Value(0, mint)
    total_out = Value(0, MultiAsset())
    for out in outputs:
        total_out = total_out + out.amount
    fee = 0
    for _ in range(5):
        change = total_in - total_out - Value(fee, MultiAsset())
        change_out = TransactionOutput(change_address, change)
        if change.coin < min_utxo(params, change_out):
            raise UserInputError(f"the inputs ({total_in.coin} lovelace) cannot pay the outputs, fee and change",
                                 hint="spend more or larger inputs")
        body = TransactionBody(inputs=[r for r, _ in inputs], outputs=[*outputs, change_out], fee=fee,
                               mint=mint or None, ttl=ttl)
        tx = sign(body, keys, native_scripts)
        required = min_fee(params, ledger_size(tx))
        if fee >= required:
            return tx
        fee = required
    raise AssertionError("fee did not converge")  # pragma: no cover - sizes stabilise in 2 rounds


def faucet_tokens(faucet_policy: NativeScript, assets: Mapping[str | bytes, int]) -> MultiAsset:
    names = {AssetName(n.encode() if isinstance(n, str) else bytes(n)): int(q) for n, q in assets.items()}
    return MultiAsset({faucet_policy.hash(): Asset(names)}) if names else MultiAsset()


def faucet_payment(params: LedgerParams, faucet: Wallet, faucet_utxos: Sequence[tuple[TransactionInput, TransactionOutput]],
                   address: Address, lovelace: int, assets: Mapping[str | bytes, int]) -> Transaction:
    """The faucet's payment of ``lovelace`` (and minted ``assets``) to ``address``, paid from
    ``faucet_utxos`` (the faucet wallet's outputs), signed and balanced."""
    policy = faucet_policy(faucet)
    minted = faucet_tokens(policy, assets)
    target = TransactionOutput(address, Value(lovelace, minted))
    pool = sorted(
        ((r, o) for r, o in faucet_utxos if not o.amount.multi_asset),
        key=lambda ro: -ro[1].amount.coin,
    )
    chosen, total = [], 0
    for ref, out in pool:
        chosen.append((ref, out))
        total += out.amount.coin
        if total >= lovelace + 5_000_000:
            break
    if total < lovelace + 5_000_000:
        raise UserInputError(f"the devnet faucet has only {total} lovelace in ADA-only outputs",
                             hint="reset the devnet or create it with a larger faucet_lovelace")
    return balanced_payment(params, chosen, [target], faucet.address, [faucet.signing_key],
                            mint=minted or None, native_scripts=[policy] if minted else ())
