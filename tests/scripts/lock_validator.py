"""Test spend validator: the redeemer must equal the datum's secret, the datum's owner must
sign, and the validity range must start no earlier than the datum's `not_before`; the
ScriptInfo must carry the same datum as the spent output."""
from opshin.prelude import *


@dataclass()
class Lock(PlutusData):
    CONSTR_ID = 0
    secret: int
    owner: bytes
    not_before: int


@dataclass()
class SomeDatum(PlutusData):
    CONSTR_ID = 0
    datum: Anything


@dataclass()
class SpendingInfo(PlutusData):
    CONSTR_ID = 1
    tx_out_ref: TxOutRef
    datum: SomeDatum


@dataclass()
class RawContext(PlutusData):
    CONSTR_ID = 0
    transaction: Anything
    redeemer: Anything
    purpose: SpendingInfo


def validator(raw: Anything) -> None:
    context: ScriptContext = raw
    lock: Lock = own_datum_unsafe(context)
    secret: int = context.redeemer
    assert lock.secret == secret, "wrong secret"
    assert lock.owner in context.transaction.signatories, "owner did not sign"
    lower = context.transaction.validity_range.lower_bound.limit
    assert isinstance(lower, FinitePOSIXTime), "no lower bound"
    assert lower.time >= lock.not_before, "too early"
    shape: RawContext = raw
    info_datum: Lock = shape.purpose.datum.datum
    assert info_datum == lock, "script info datum differs"
