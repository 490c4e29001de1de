"""Batch validator of a schedule, run as a zero withdrawal (purpose Rewarding).

Build-time parameters (applied by ``python -m runner.contract.build``; they pin the
forwarder's compiled code):
  fwd_prefix, fwd_suffix -- the bytes around the 28-byte parameter in
      ``0x03 || cbor(flat(spend_forwarder applied to batch_hash))``; so
      forwarder hash = blake2b_224(fwd_prefix || own hash || fwd_suffix).
      The batch validator thus KNOWS the forwarder address of its schedule without a
      circular parameter and without trusting any redeemer or datum field.
Schedule parameters:
  cert_policy              -- the schedule's certificate policy id
  owner                    -- payment key hash allowed to reclaim after expiry
  expiry                   -- POSIX ms; reclaim needs validity lower bound >= expiry
  token_policy, token_name -- the distributed token

Release: one pass over the inputs; every input whose payment credential is the
forwarder's must carry an inline AllocationDatum with vesting_time <= the finite
validity lower bound and a milestone whose certificate token (cert_policy, milestone_id)
sits in a reference input.  Consecutive allocation inputs with the same beneficiary
address form a group; each group is paid by the next output (after the previous
group's output) whose address equals the beneficiary exactly and which holds at least
the group's tokens AND at least the group's lovelace (the allocation UTxOs' ADA goes
with the tokens, so no submitter can pocket it).  The output pointer only moves
forward: one output never pays two groups.  Amounts must be >= 0: a forged allocation
with a negative amount must not cancel a real one inside a group.
Reclaim: validity lower bound >= expiry and the owner signed; schedule inputs may go
anywhere (this also clears malformed UTxOs sent to the forwarder address).
Publishing: only a stake registration certificate passes (deploy step).  Every other
purpose fails.
"""
from schedule_types import *


def lower_bound(tx: RawTxInfo) -> int:
    """The finite validity lower bound (an open bound t means > t: t + 1)."""
    bound = tx.validity_range.lower_bound
    limit = bound.limit
    assert isinstance(limit, FinitePOSIXTime), "batch: lower bound must be finite"
    closed = bound.closed
    t = limit.time
    if isinstance(closed, FalseData):
        t = t + 1
    return t


def has_certificate(refs: Anything, cert_policy: bytes, milestone: bytes) -> bool:
    """Does a reference input hold the certificate token (cert_policy, milestone)?"""
    while not null_list(refs) and token_quantity(as_txin(head_list(refs)).resolved.value, cert_policy, milestone) == 0:
        refs = tail_list(refs)
    return not null_list(refs)


def pay_group(
    outputs: Anything,
    beneficiary: Anything,
    tokens: int,
    lovelace: int,
    token_policy: bytes,
    token_name: bytes,
) -> Anything:
    """Find the next output paying ``beneficiary``; check it; return the outputs after it."""
    rest = outputs
    while not equals_data(as_txout(head_list(rest)).address, beneficiary):
        rest = tail_list(rest)
    value = as_txout(head_list(rest)).value
    assert token_quantity(value, token_policy, token_name) >= tokens, "batch: too few tokens"
    assert lovelace_of(value) >= lovelace, "batch: allocation ADA must go to the beneficiary"
    return tail_list(rest)


def release(
    tx: RawTxInfo,
    forwarder: Anything,
    cert_policy: bytes,
    token_policy: bytes,
    token_name: bytes,
) -> None:
    now = lower_bound(tx)
    refs = un_list_data(tx.reference_inputs)
    outputs = un_list_data(tx.outputs)
    checked = b""
    checked2 = b""
    group: Anything = Nothing()
    group_open = False
    tokens = 0
    lovelace = 0
    for txin in tx.inputs:
        out = txin.resolved
        address: RawAddress = out.address
        if address.payment_credential == forwarder:
            inline: SomeOutputDatum = out.datum
            allocation: RawAllocation = inline.datum
            assert allocation.vesting_time <= now, "batch: not vested"
            milestone = allocation.milestone_id
            # two-slot cache of verified milestone ids (a batch usually releases one or
            # two milestones); b"" is the empty slot and never a valid milestone id
            if milestone != checked:
                if milestone != checked2:
                    assert has_certificate(refs, cert_policy, milestone), "batch: not certified"
                else:
                    assert milestone != b"", "batch: empty milestone id"
                checked2 = checked
                checked = milestone
            else:
                assert milestone != b"", "batch: empty milestone id"
            amount = allocation.amount
            assert amount >= 0, "batch: negative amount"
            beneficiary = allocation.beneficiary
            if beneficiary == group:
                tokens = tokens + amount
                lovelace = lovelace + un_i_data(snd_pair(head_list(un_map_data(snd_pair(head_list(un_map_data(out.value)))))))
            else:
                if group_open:
                    # pay_group, inlined (runs once per group)
                    candidate: RawTxOut = head_list(outputs)
                    while candidate.address != group:
                        outputs = tail_list(outputs)
                        candidate = as_txout(head_list(outputs))
                    paid = candidate.value
                    assert token_quantity(paid, token_policy, token_name) >= tokens, "batch: too few tokens"
                    assert lovelace_of(paid) >= lovelace, "batch: allocation ADA must go to the beneficiary"
                    outputs = tail_list(outputs)
                group_open = True
                group = beneficiary
                tokens = amount
                lovelace = un_i_data(snd_pair(head_list(un_map_data(snd_pair(head_list(un_map_data(out.value)))))))
    if group_open:
        outputs = pay_group(outputs, group, tokens, lovelace, token_policy, token_name)


def signed_by(signatories: Anything, key: bytes) -> bool:
    while not null_list(signatories) and un_b_data(head_list(signatories)) != key:
        signatories = tail_list(signatories)
    return not null_list(signatories)


def validator(
    fwd_prefix: bytes,
    fwd_suffix: bytes,
    cert_policy: bytes,
    owner: bytes,
    expiry: POSIXTime,
    token_policy: bytes,
    token_name: bytes,
    context: RawContext,
) -> None:
    purpose = context.purpose
    tx = context.transaction
    if isinstance(purpose, RewardingInfo):
        own = purpose.credential.credential_hash
        forwarder: Anything = ScriptCredential(blake2b_224(fwd_prefix + own + fwd_suffix))
        redeemer: Union[Release, Reclaim] = context.redeemer
        if isinstance(redeemer, Reclaim):
            assert lower_bound(tx) >= expiry, "batch: not expired"
            assert signed_by(un_list_data(tx.signatories), owner), "batch: owner must sign"
        else:
            release(tx, forwarder, cert_policy, token_policy, token_name)
    elif isinstance(purpose, CertifyingInfo):
        registration: Union[RegisterStake, UnregisterStake] = purpose.certificate
        assert isinstance(registration, RegisterStake), "batch: only stake registration"
    else:
        assert False, "batch: withdraw only"
