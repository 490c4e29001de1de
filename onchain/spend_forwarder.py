"""Spend forwarder: an allocation UTxO may be spent only if the schedule's batch
validator runs in the same transaction as a (zero) withdrawal.

Parameter ``batch_hash``: the script hash of THIS schedule's batch validator
(``batch_release.py``).  The forwarder never reads its own datum: the batch validator
checks every input whose payment credential is the forwarder's (it derives the
forwarder's hash from its own, see batch_release.py), so nothing here can be faked.

Deliberately minimal, because it runs once per released allocation (~24k memory units):
* the batch validator's credential must be the FIRST withdrawal of the transaction
  (script credentials sort first, by hash; a release withdraws from nothing else, so
  this only refuses transactions that mix a release with another script withdrawal);
* no purpose check: under any other purpose (minting policy F, stake or DRep
  credential F) the script also demands the batch withdrawal, and nothing in the
  schedule trusts a token, a delegation or a vote made by F.
"""
from schedule_types import *


def validator(batch_hash: bytes, context: RawContext) -> None:
    # Comparing the hash alone is enough: a key credential whose hash equals a script
    # hash would need a blake2b-224 preimage.
    first: ScriptCredential = fst_pair(head_list(un_map_data(context.transaction.withdrawals)))
    assert first.credential_hash == batch_hash, "forwarder: batch validator not run"
