"""Serialisation shortcuts of the builder equal what they stand for.

``tx_values.min_lovelace`` serialises an output once and adjusts the coin's CBOR length
arithmetically; it must equal the plain definition — serialise the output with the coin it
would hold, iterate until the coin covers (160 + size) * coinsPerUTxOByte — for every shape
of output (addresses, tokens, datums, reference scripts, coins at every CBOR length).
``datums.entry_key`` keeps each address shape's CBOR: it must equal serialising the
address, for every shape (a pointer stake part and odd hash lengths included).
``tx_values.balance`` sums values on plain dicts: it must equal pycardano's ``Value``
arithmetic, the order of the assets included (it decides the change output's CBOR)."""

from __future__ import annotations

import copy
import hashlib

import cbor2
import pycardano as pc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.contract import datums as D
from runner.contract.tx_values import balance, cbor_uint_size, min_lovelace
from runner.devnet.ledger.params import LedgerParams

PARAMS = LedgerParams.mainnet().to_pycardano()
#: every length a CBOR unsigned integer can take, at both ends
COINS = [0, 1, 23, 24, 255, 256, 65_535, 65_536, 849_070, 1_000_000, 4_294_967_295, 4_294_967_296,
         45_000_000_000_000_000]


def serialised_definition(params: pc.ProtocolParameters, output: pc.TransactionOutput) -> int:
    """The min-UTxO by the definition: the output as it would be, serialised every round."""
    out = output
    for _ in range(8):
        need = (160 + len(out.to_cbor())) * int(params.coins_per_utxo_byte)
        if out.amount.coin >= need:
            return need
        out = copy.deepcopy(out)
        out.amount.coin = need
    raise AssertionError("did not converge")


def _hash(label: str, n: int = 28) -> bytes:
    return hashlib.blake2b(label.encode(), digest_size=n).digest()


addresses = st.sampled_from([
    pc.Address(pc.VerificationKeyHash(_hash("pay")), network=pc.Network.TESTNET),
    pc.Address(pc.VerificationKeyHash(_hash("pay")), pc.VerificationKeyHash(_hash("stake")),
               network=pc.Network.MAINNET),
    pc.Address(pc.ScriptHash(_hash("script")), network=pc.Network.TESTNET),
    pc.Address(pc.ScriptHash(_hash("script")), pc.ScriptHash(_hash("stake script")), network=pc.Network.TESTNET),
])
quantities = st.one_of(st.sampled_from(COINS[1:]), st.integers(min_value=1, max_value=2**63 - 1))
assets = st.dictionaries(st.binary(min_size=0, max_size=32), quantities, min_size=1, max_size=4)
multi_assets = st.dictionaries(st.integers(0, 50).map(lambda i: _hash(f"policy {i}")), assets, max_size=3)
datums = st.one_of(
    st.just({}),
    st.binary(max_size=200).map(lambda b: {"datum": pc.RawPlutusData(cbor2.CBORTag(121, [b]))}),
    st.integers(0, 10).map(lambda i: {"datum_hash": pc.DatumHash(_hash(f"datum {i}", 32))}),
)
scripts = st.one_of(st.none(), st.binary(min_size=1, max_size=300).map(pc.PlutusV3Script))
coins = st.one_of(st.sampled_from(COINS), st.integers(min_value=0, max_value=2**64 - 1))


@st.composite
def outputs(draw: st.DrawFn) -> pc.TransactionOutput:
    multi = pc.MultiAsset.from_primitive(draw(multi_assets))
    value = pc.Value(draw(coins), multi)
    return pc.TransactionOutput(draw(addresses), value, script=draw(scripts), post_alonzo=draw(st.booleans()),
                                **draw(datums))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outputs())
def test_min_lovelace_equals_the_definition_for_any_output(output: pc.TransactionOutput) -> None:
    before = output.to_cbor()
    assert min_lovelace(PARAMS, output) == serialised_definition(PARAMS, output)
    assert output.to_cbor() == before  # the output is not touched


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_the_coins_cbor_length_is_cbor2s(n: int) -> None:
    assert cbor_uint_size(n) == len(cbor2.dumps(n))


def test_boundary_coins_of_a_plain_output_move_the_size_by_the_integers_length() -> None:
    address = pc.Address(pc.VerificationKeyHash(_hash("pay")), network=pc.Network.TESTNET)
    for coin in COINS:
        out = pc.TransactionOutput(address, pc.Value(coin))
        assert min_lovelace(PARAMS, out) == serialised_definition(PARAMS, out), coin


credentials = st.builds(lambda script, h: (D.ScriptCredential if script else D.PubKeyCredential)(h),
                        st.booleans(), st.binary(min_size=0, max_size=32))
stakes = st.one_of(
    st.just(D.NoStakingCredential()),
    credentials.map(lambda c: D.SomeStakingCredential(D.StakingHash(c))),
    st.tuples(st.integers(0, 2**40), st.integers(0, 2**16), st.integers(0, 2**16)).map(
        lambda t: D.SomeStakingCredential(D.StakingPtr(*t))),
)


@settings(max_examples=300, deadline=None)
@given(credentials, stakes)
def test_entry_key_equals_the_addresss_serialised_data_for_any_shape(pay: D.Credential, stake: D.PlutusAddress
                                                                    ) -> None:
    address = D.PlutusAddress(pay, stake)
    expected = bytes(address.to_cbor())
    assert D.entry_key(address) == expected
    assert D.entry_key(D.PlutusAddress.from_cbor(expected)) == expected  # decoded from a datum: the same


def pycardano_fold(coin: int, mint: pc.MultiAsset | None, plus: list[pc.Value], minus: list[pc.Value]) -> pc.Value:
    """What ``tx_core._assemble`` computed with pycardano's own ``Value`` arithmetic."""
    total = pc.Value(coin, mint or pc.MultiAsset())
    for v in plus:
        total = total + v
    for v in minus:
        total = total - v
    return total


small_assets = st.dictionaries(st.sampled_from([b"", b"A", b"GRANT", b"m1"]), st.integers(-3, 3), max_size=3)
small_multi = st.dictionaries(st.integers(0, 3).map(lambda i: _hash(f"policy {i}")), small_assets, max_size=3)
values = st.builds(lambda c, m: pc.Value(c, pc.MultiAsset.from_primitive(m)), st.integers(0, 10**7),
                   small_multi.map(lambda m: {p: {n: abs(q) for n, q in a.items()} for p, a in m.items()}))


@settings(max_examples=400, deadline=None)
@given(st.integers(-10**6, 10**6), st.one_of(st.none(), small_multi.map(pc.MultiAsset.from_primitive)),
       st.lists(values, max_size=5), st.lists(values, max_size=5))
def test_balance_equals_pycardanos_value_arithmetic_order_included(
        coin: int, mint: pc.MultiAsset | None, plus: list[pc.Value], minus: list[pc.Value]) -> None:
    expected = pycardano_fold(coin, copy.deepcopy(mint), plus, minus)
    found = balance(coin, mint, plus, minus)
    assert found == expected
    assert [(p, list(a.items())) for p, a in found.multi_asset.items()] == \
        [(p, list(a.items())) for p, a in expected.multi_asset.items()]  # the same order: the same CBOR
    assert found.to_cbor() == expected.to_cbor()
