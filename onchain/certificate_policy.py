"""Certificate minting policy: one token per certified milestone.

Parameters (per schedule):
  seed     -- the one-shot output reference the register transaction spends; it only
              makes this policy id (and so every script of the schedule) unique.
  oracles  -- the authorised oracles' payment key hashes, concatenated (28 bytes each):
              one bytes parameter costs nothing to unwrap, a list would cost ~22k per run.
  quorum   -- how many distinct oracle signatures a certificate needs.

Minting (redeemer = CertificateDatum(milestone_id, signatures)) succeeds iff
  * every signature entry verifies (ed25519) over the canonical message
        b"milestones:cert:v1" || own policy id (28 bytes) || milestone_id
    with a key whose blake2b_224 hash sits in ``oracles`` at byte 28 * oracle_index,
  * the key hashes are strictly ascending (so each oracle counts once) and there are
    at least ``quorum`` entries,
  * the transaction mints exactly one token under this policy: name = milestone_id,
  * the first output at this policy's own script address (no stake credential) holds
    that token and has an inline datum equal to the redeemer (the record of signers).
Every other purpose fails: in particular SPENDING, which makes the address
``script(own policy id)`` the unspendable home of every certificate.
"""
from schedule_types import *


def validator(seed: TxOutRef, oracles: bytes, quorum: int, context: RawContext) -> None:
    purpose = context.purpose
    assert isinstance(purpose, MintingInfo), "cert: mint only"
    own = purpose.policy_id
    redeemer = context.redeemer
    cert: RawCertificate = redeemer
    milestone = cert.milestone_id
    message = b"milestones:cert:v1" + own + milestone
    count = 0
    last = b""
    for raw in un_list_data(cert.signatures):
        entry: SignatureEntry = raw
        vkey = entry.vkey
        pkh = blake2b_224(vkey)
        assert less_than_byte_string(last, pkh), "cert: signers not ascending"
        assert slice_byte_string(28 * entry.oracle_index, 28, oracles) == pkh, "cert: not an oracle"
        assert verify_ed25519_signature(vkey, message, entry.signature), "cert: bad signature"
        last = pkh
        count += 1
    assert count >= quorum, "cert: quorum not reached"
    tx = context.transaction
    minted = tx.mint.get(own, {b"": 0})
    assert len(minted) == 1, "cert: mints other tokens"
    assert minted.get(milestone, 0) == 1, "cert: must mint exactly one token"
    home: Anything = Address(ScriptCredential(own), NoStakingCredential())
    out = as_txout(head_list(skip_to(un_list_data(tx.outputs), home)))
    assert out.value.get(own, {b"": 0}).get(milestone, 0) == 1, "cert: token not locked"
    locked: SomeOutputDatum = out.datum
    assert equals_data(locked.datum, redeemer), "cert: datum must record the signers"
