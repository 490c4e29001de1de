"""Test rewarding script: the withdrawal of its own credential must equal the redeemer.

V3 keys withdrawals by `Credential` and `Rewarding` carries a `Credential` (OpShin's
prelude still says StakingCredential), so this validator reads them through its own types."""
from opshin.prelude import *


@dataclass()
class RewardingInfo(PlutusData):
    CONSTR_ID = 2
    credential: ScriptCredential


@dataclass()
class RawTxInfo(PlutusData):
    CONSTR_ID = 0
    inputs: Anything
    reference_inputs: Anything
    outputs: Anything
    fee: int
    mint: Anything
    certificates: Anything
    withdrawals: Dict[Anything, int]


@dataclass()
class RawContext(PlutusData):
    CONSTR_ID = 0
    transaction: RawTxInfo
    redeemer: int
    purpose: RewardingInfo


def validator(raw: Anything) -> None:
    context: RawContext = raw
    own: Anything = context.purpose.credential
    assert context.transaction.withdrawals[own] == context.redeemer, "wrong withdrawal"
    assert context.transaction.fee > 0, "fee is not an integer"
