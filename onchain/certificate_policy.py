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
    with a key whose blake2b_224 hash sits in ``oracles`` at byte 28 * oracle_index
    (0 <= oracle_index; an index past the end reads fewer than 28 bytes, which never
    equal a key hash, so indexes outside 0..N-1 are refused),
  * the key hashes are strictly ascending (so each oracle counts once) and there are
    at least ``quorum`` entries,
  * the transaction mints exactly one token under this policy: name = milestone_id,
  * the first output at this policy's own script address (no stake credential) holds
    that token and has an inline datum equal to the redeemer (the record of signers).
Milestone ids are non-empty (the batch validator uses b"" as its empty cache slot).
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
    assert milestone != b"", "cert: empty milestone id"
    message = b"milestones:cert:v1" + own + milestone
    count = 0
    last = b""
    entries = un_list_data(cert.signatures)
    while not null_list(entries):
        entry: SignatureEntry = head_list(entries)
        vkey = entry.vkey
        pkh = blake2b_224(vkey)
        assert less_than_byte_string(last, pkh), "cert: signers not ascending"
        assert entry.oracle_index >= 0, "cert: oracle index out of range"
        assert slice_byte_string(28 * entry.oracle_index, 28, oracles) == pkh, "cert: not an oracle"
        assert verify_ed25519_signature(vkey, message, entry.signature), "cert: bad signature"
        last = pkh
        count += 1
        entries = tail_list(entries)
    assert count >= quorum, "cert: quorum not reached"
    tx = context.transaction
    # the mint (no ada entry) under this policy must be exactly {milestone: 1}
    minted = un_map_data(tx.mint)
    while un_b_data(fst_pair(head_list(minted))) != own:
        minted = tail_list(minted)
    tokens = un_map_data(snd_pair(head_list(minted)))
    assert null_list(tail_list(tokens)), "cert: mints other tokens"
    assert un_b_data(fst_pair(head_list(tokens))) == milestone, "cert: wrong token name"
    assert un_i_data(snd_pair(head_list(tokens))) == 1, "cert: must mint exactly one token"
    home: Anything = Address(ScriptCredential(own), NoStakingCredential())
    out = as_txout(head_list(skip_to(un_list_data(tx.outputs), home)))
    assert token_quantity(out.value, own, milestone) == 1, "cert: token not locked"
    locked: SomeOutputDatum = out.datum
    assert equals_data(locked.datum, redeemer), "cert: datum must record the signers"
