"""Spend forwarder: an allocation UTxO may be spent only if the schedule's batch
validator runs in the same transaction as a (zero) withdrawal.

Parameter ``batch_hash``: the script hash of THIS schedule's batch validator
(``batch_release.py``).  The forwarder never reads its own datum: the batch validator
checks every input at the forwarder's address (it derives this address from its own
hash, see batch_release.py), so there is nothing here to trust or to fake.
Any purpose other than spending fails.
"""
from schedule_types import *


def validator(batch_hash: bytes, context: RawContext) -> None:
    purpose = context.purpose
    assert isinstance(purpose, SpendingInfo), "forwarder: spend only"
    wanted: Anything = ScriptCredential(batch_hash)
    withdrawals = un_map_data(context.transaction.withdrawals)
    while not equals_data(fst_pair(head_list(withdrawals)), wanted):
        withdrawals = tail_list(withdrawals)
