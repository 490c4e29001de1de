"""Batch validator of a schedule, written by hand in UPLC (this module only prints its text).

Run as a zero withdrawal (purpose Rewarding).  ``python -m runner.contract.build`` imports
:func:`program` and parses its text with the ``uplc`` parser; nothing else runs.

Build-time parameters (applied by the build; they pin the forwarder's compiled code):
  forwarder_prefix, forwarder_suffix -- the bytes around the 28-byte parameter in
      ``0x03 || cbor(flat(spend_forwarder applied to batch_hash))``; so
      forwarder hash = blake2b_224(forwarder_prefix || own hash || forwarder_suffix).
Schedule parameters (all Data): cert_policy, owner, expiry (POSIX ms), token_policy, token_name.

Release (redeemer Constr 0): now = finite validity lower bound (open bound t: t + 1).
One pass over the inputs with ONE output pointer that starts at output 0 and only moves
forward.  Every input whose payment credential EQUALS ScriptCredential(forwarder)
(whatever its stake part) is a POT and must carry an inline datum
``Constr _ [milestone_id, vesting_time, entries, payout_datum]`` with
  * vesting_time <= now, and a certificate token (cert_policy, milestone_id) in a reference
    input (two-slot cache of verified ids; b"" is the empty slot and never a valid id);
  * entries = a list of ``Constr _ [beneficiary address, amount]``, sorted by strictly
    ascending ``serialiseData(beneficiary)`` (so no beneficiary appears twice);
  * entry k is paid by the NEXT output: its address equals the beneficiary exactly, it holds
    >= amount of (token_policy, token_name), its datum equals the pot's ``payout_datum``
    (fixed by the owner at register time; NoOutputDatum by default) and it carries no
    reference script.  So the releaser chooses nothing another contract could check on that
    output: no other contract's tagged payment can ride on it.  An entry with amount <= 0
    can never be paid (no output holds a zero or negative quantity: the ledger refuses
    them at decoding), so no separate sign check is needed (the mutation check found the
    one the first version had equivalent);
  * the pot's token quantity equals the sum of its entries (no surplus for the releaser),
    and the outputs that paid its entries hold together >= the pot's lovelace.
Reclaim (redeemer Constr 1): now >= expiry and owner among the required signers.
Any other redeemer fails.  Publishing: only TxCertRegStaking (Constr 0) passes.  Every
other purpose fails.
"""

from __future__ import annotations

import re

FORCES = {
    "headList": 1, "tailList": 1, "nullList": 1, "ifThenElse": 1, "mkCons": 1,
    "fstPair": 2, "sndPair": 2, "trace": 1,
}  # fmt: skip

# ------------------------------------------------------------------ field positions (Plutus V3)
#: One table for every record this script reads (ledger order, see the Plutus V3 ledger API;
#: runner/devnet/plutus/script_context.py builds the same layouts).
LAYOUTS: dict[str, tuple[str, ...]] = {
    "ScriptContext": ("tx_info", "redeemer", "script_info"),
    "TxInfo": (
        "inputs", "reference_inputs", "outputs", "fee", "mint", "certificates", "withdrawals",
        "validity_range", "signatories", "redeemers", "data", "id", "votes", "proposals",
        "current_treasury", "treasury_donation",
    ),
    "TxInInfo": ("out_ref", "resolved"),
    "TxOut": ("address", "value", "datum", "reference_script"),
    "Address": ("payment_credential", "stake_credential"),
    "Interval": ("lower_bound", "upper_bound"),
    "LowerBound": ("extended", "closed"),
    "RewardingInfo": ("credential",),
    "CertifyingInfo": ("index", "certificate"),
    "Pot": ("milestone_id", "vesting_time", "entries", "payout_datum"),
    "Entry": ("beneficiary", "amount"),
}  # fmt: skip
SCRIPT_INFO = {"minting": 0, "spending": 1, "rewarding": 2, "certifying": 3}
REDEEMER = {"release": 0, "reclaim": 1}
EXTENDED_FINITE = 1
CLOSED_FALSE = 0
TX_CERT_REGISTER_STAKING = 0


def forced(name: str) -> str:
    """A builtin, forced as often as its type needs."""
    term = f"(builtin {name})"
    for _ in range(FORCES.get(name, 0)):
        term = f"(force {term})"
    return term


def builtin(name: str) -> str:
    """A builtin; the polymorphic ones are forced once, at the top of the program (a
    variable costs one machine step, ``(force (force (builtin sndPair)))`` three)."""
    return f"builtin_{name}" if name in FORCES else forced(name)


def apply(function: str, *arguments: str) -> str:
    for argument in arguments:
        function = f"[{function} {argument}]"
    return function


def lam(*names_and_body: str) -> str:
    *names, body = names_and_body
    for name in reversed(names):
        body = f"(lam {name} {body})"
    return body


def lets(bindings: list[tuple[str, str]], body: str) -> str:
    """``let a = x; let b = y; ... in body``, written flat by the caller."""
    for name, value in reversed(bindings):
        body = apply(lam(name, body), value)
    return body


def when(condition: str, then: str, otherwise: str) -> str:
    """Lazy if-then-else (both branches delayed)."""
    return f"(force {apply(builtin('ifThenElse'), condition, f'(delay {then})', f'(delay {otherwise})')})"


def fail(message: str) -> str:
    """A failure; :func:`program` makes it ``(error)``, or a traced error with ``traced``."""
    assert "}" not in message
    return "{fail:" + message + "}"


def require(condition: str, message: str, then: str) -> str:
    """``then`` if ``condition`` holds, else the script fails (with ``message`` when traced)."""
    return when(condition, then, fail(message))


def recursive(name: str, *parameters_and_body: str) -> str:
    """A self-applied recursive function: its body calls itself as ``call(name, ...)``."""
    return lam(name, *parameters_and_body)


def call(name: str, *arguments: str) -> str:
    return apply(f"[{name} {name}]", *arguments)


def head(items: str) -> str:
    return apply(builtin("headList"), items)


def tail(items: str, times: int = 1) -> str:
    for _ in range(times):
        items = apply(builtin("tailList"), items)
    return items


def is_empty(items: str) -> str:
    return apply(builtin("nullList"), items)


def fields_of(data: str) -> str:
    return apply(builtin("sndPair"), apply(builtin("unConstrData"), data))


def tag_of(data: str) -> str:
    return apply(builtin("fstPair"), apply(builtin("unConstrData"), data))


def field(fields: str, layout: str, name: str) -> str:
    """Field ``name`` of a record of ``layout`` whose field list is ``fields``."""
    return head(tail(fields, LAYOUTS[layout].index(name)))


def integer(value: int) -> str:
    return f"(con integer {value})"


def same_integer(x: str, y: str) -> str:
    return apply(builtin("equalsInteger"), x, y)


def same_data(x: str, y: str) -> str:
    return apply(builtin("equalsData"), x, y)


def at_most(x: str, y: str) -> str:
    return apply(builtin("lessThanEqualsInteger"), x, y)


def below(x: str, y: str) -> str:
    return apply(builtin("lessThanInteger"), x, y)


def plus(x: str, y: str) -> str:
    return apply(builtin("addInteger"), x, y)


def as_integer(data: str) -> str:
    return apply(builtin("unIData"), data)


def as_list(data: str) -> str:
    return apply(builtin("unListData"), data)


UNIT = "(con unit ())"
TRUE, FALSE = "(con bool True)", "(con bool False)"
EMPTY_ID = "(con data (B #))"
EMPTY_BYTES = "(con bytestring #)"
NOTHING = "(con data (Constr 1 []))"
NO_PAIRS = "(con (list (pair data data)) [])"
NO_DATA = "(con (list data) [])"


def lovelace_of(value: str) -> str:
    """ADA sits first in every ledger Value of a ScriptContext."""
    ada = head(apply(builtin("unMapData"), value))
    return as_integer(apply(builtin("sndPair"), head(apply(builtin("unMapData"), apply(builtin("sndPair"), ada)))))


# quantity of (policy, name) in a map of pairs (0 when absent); policy and name are Data (B ...)
FIND_NAME = recursive(
    "find_name", "assets", "name",
    when(is_empty("assets"), integer(0),
         lets([("asset", head("assets"))],
              when(same_data(apply(builtin("fstPair"), "asset"), "name"),
                   as_integer(apply(builtin("sndPair"), "asset")),
                   call("find_name", tail("assets"), "name")))),
)  # fmt: skip
FIND_POLICY = recursive(
    "find_policy", "policies", "policy", "name",
    when(is_empty("policies"), integer(0),
         lets([("entry", head("policies"))],
              when(same_data(apply(builtin("fstPair"), "entry"), "policy"),
                   call("find_name", apply(builtin("unMapData"), apply(builtin("sndPair"), "entry")), "name"),
                   call("find_policy", tail("policies"), "policy", "name")))),
)  # fmt: skip


def quantity(value: str, policy: str, name: str) -> str:
    return call("find_policy", apply(builtin("unMapData"), value), policy, name)


def granted(value: str) -> str:
    return quantity(value, "token_policy", "token_name")


# the certificate (cert_policy, milestone) in some reference input, else fail
CERTIFIED = recursive(
    "certified", "references", "milestone",
    when(is_empty("references"), fail("batch: not certified"),
         lets([("resolved", fields_of(field(fields_of(head("references")), "TxInInfo", "resolved")))],
              when(same_integer(quantity(field("resolved", "TxOut", "value"), "cert_policy", "milestone"),
                                integer(0)),
                   call("certified", tail("references"), "milestone"),
                   UNIT))),
)  # fmt: skip

def token_part(amount: str) -> str:
    """The token part of a payment's Value, as the ledger shows it: [(token_policy, {token_name: amount})]."""
    inner = apply(builtin("mapData"), apply(builtin("mkCons"), apply(builtin("mkPairData"), "token_name", amount),
                                           NO_PAIRS))
    return apply(builtin("mkCons"), apply(builtin("mkPairData"), "token_policy", inner), NO_PAIRS)


def expected_payment(beneficiary: str, ada: str, amount: str) -> str:
    """TxOut = Constr 0 [beneficiary, {ADA: the output's own, token: amount}, payout_datum, Nothing]:
    the releaser chooses the lovelace only."""
    value = apply(builtin("mapData"), apply(builtin("mkCons"), ada, token_part(amount)))
    rest = apply(builtin("mkCons"), beneficiary, apply(builtin("mkCons"), value, "payout_tail"))
    return apply(builtin("constrData"), integer(0), rest)


# one pot's entries, each paid by the next output; at the end the pot's sums are checked
# and the walk goes on with the next input (free variables: the pot and walk's state)
PAY_ENTRIES = recursive(
    "pay", "entries", "outputs", "previous_key", "tokens", "paid",
    when(is_empty("entries"),
         require(same_integer("tokens", granted("pot_value")), "batch: pot tokens must equal its entries",
         require(at_most(lovelace_of("pot_value"), "paid"), "batch: pot ADA must go to the beneficiaries",
                 call("walk", tail("inputs"), "outputs", "cache_next", "cache_other"))),
         lets([
             ("entry", fields_of(head("entries"))),
             ("beneficiary", field("entry", "Entry", "beneficiary")),
             ("amount_data", field("entry", "Entry", "amount")),
             ("amount", as_integer("amount_data")),
             ("key", apply(builtin("serialiseData"), "beneficiary")),
             ("output", head("outputs")),
             ("ada", head(apply(builtin("unMapData"), field(fields_of("output"), "TxOut", "value")))),
         ],
         require(apply(builtin("lessThanByteString"), "previous_key", "key"),
                 "batch: entries must be sorted, each beneficiary once",
         require(same_data("output", expected_payment("beneficiary", "ada", "amount_data")),
                 "batch: each entry is paid by the next output, exactly",
                 call("pay", tail("entries"), tail("outputs"), "key", plus("tokens", "amount"),
                      plus("paid", as_integer(apply(builtin("sndPair"), head(apply(
                          builtin("unMapData"), apply(builtin("sndPair"), "ada"))))))))))),
)  # fmt: skip

POT = lets(
    [
        ("pot_value", field("resolved", "TxOut", "value")),
        ("pot", fields_of(head(fields_of(field("resolved", "TxOut", "datum"))))),
        ("milestone", field("pot", "Pot", "milestone_id")),
        ("payout_tail", apply(builtin("mkCons"), field("pot", "Pot", "payout_datum"),
                              apply(builtin("mkCons"), NOTHING, NO_DATA))),
        ("hit", same_data("milestone", "cache_first")),
        ("checked", when(when("hit", TRUE, same_data("milestone", "cache_second")),
                         when(same_data("milestone", EMPTY_ID), fail("batch: empty milestone id"), UNIT),
                         call("certified", "references", "milestone"))),
        ("cache_next", "milestone"),
        ("cache_other", when("hit", "cache_second", "cache_first")),
        ("pay", PAY_ENTRIES),
    ],
    require(at_most(as_integer(field("pot", "Pot", "vesting_time")), "now"), "batch: not vested",
            call("pay", as_list(field("pot", "Pot", "entries")), "outputs", EMPTY_BYTES, integer(0), integer(0))),
)  # fmt: skip

WALK = recursive(
    "walk", "inputs", "outputs", "cache_first", "cache_second",
    when(is_empty("inputs"), UNIT,
         lets([("resolved", fields_of(field(fields_of(head("inputs")), "TxInInfo", "resolved")))],
              when(same_data(field(fields_of(field("resolved", "TxOut", "address")), "Address", "payment_credential"),
                             "forwarder"),
                   POT,
                   call("walk", tail("inputs"), "outputs", "cache_first", "cache_second")))),
)  # fmt: skip

FORWARDER_HASH = apply(
    builtin("blake2b_224"),
    apply(builtin("appendByteString"),
          apply(builtin("appendByteString"), apply(builtin("unBData"), "forwarder_prefix"), "own_hash"),
          apply(builtin("unBData"), "forwarder_suffix")),
)  # fmt: skip

RELEASE = lets(
    [
        ("find_name", FIND_NAME),
        ("find_policy", FIND_POLICY),
        ("certified", CERTIFIED),
        ("own_hash", apply(builtin("unBData"),
                           head(fields_of(field("script_info_fields", "RewardingInfo", "credential"))))),
        ("forwarder", apply(builtin("constrData"), integer(1),
                            apply(builtin("mkCons"), apply(builtin("bData"), FORWARDER_HASH),
                                  apply(builtin("mkNilData"), UNIT)))),
        ("references", as_list(field("tx_info", "TxInfo", "reference_inputs"))),
        ("walk", WALK),
    ],
    call("walk", as_list(field("tx_info", "TxInfo", "inputs")), as_list(field("tx_info", "TxInfo", "outputs")),
         EMPTY_ID, EMPTY_ID),
)  # fmt: skip

SIGNED = recursive(
    "signed", "signatories",
    when(is_empty("signatories"), fail("batch: owner must sign"),
         when(same_data(head("signatories"), "owner"), UNIT, call("signed", tail("signatories")))),
)  # fmt: skip

RECLAIM = require(
    at_most(as_integer("expiry"), "now"), "batch: not expired",
    lets([("signed", SIGNED)], call("signed", as_list(field("tx_info", "TxInfo", "signatories")))),
)

# finite lower bound: Interval = C0 [LowerBound = C0 [Extended, Closure], upper]
NOW = lets(
    [
        ("lower", fields_of(field(fields_of(field("tx_info", "TxInfo", "validity_range")), "Interval", "lower_bound"))),
        ("extended", apply(builtin("unConstrData"), field("lower", "LowerBound", "extended"))),
    ],
    require(same_integer(apply(builtin("fstPair"), "extended"), integer(EXTENDED_FINITE)),
            "batch: lower bound must be finite",
            lets([("time", as_integer(head(apply(builtin("sndPair"), "extended"))))],
                 when(same_integer(tag_of(field("lower", "LowerBound", "closed")), integer(CLOSED_FALSE)),
                      plus("time", integer(1)), "time"))),
)  # fmt: skip

REWARDING = lets(
    [("now", NOW), ("redeemer", tag_of(field("context", "ScriptContext", "redeemer")))],
    when(same_integer("redeemer", integer(REDEEMER["release"])), RELEASE,
         require(same_integer("redeemer", integer(REDEEMER["reclaim"])), "batch: redeemer must be Release or Reclaim",
                 RECLAIM)),
)  # fmt: skip

MAIN = lets(
    [
        ("context", fields_of("script_context")),
        ("tx_info", fields_of(field("context", "ScriptContext", "tx_info"))),
        ("script_info", apply(builtin("unConstrData"), field("context", "ScriptContext", "script_info"))),
        ("script_info_fields", apply(builtin("sndPair"), "script_info")),
        ("purpose", apply(builtin("fstPair"), "script_info")),
    ],
    when(same_integer("purpose", integer(SCRIPT_INFO["rewarding"])), REWARDING,
         require(same_integer("purpose", integer(SCRIPT_INFO["certifying"])), "batch: withdraw only",
                 require(same_integer(tag_of(field("script_info_fields", "CertifyingInfo", "certificate")),
                                      integer(TX_CERT_REGISTER_STAKING)),
                         "batch: only stake registration", UNIT))),
)  # fmt: skip

PARAMETERS = ("forwarder_prefix", "forwarder_suffix", "cert_policy", "owner", "expiry", "token_policy",
              "token_name")


def _failure(message: str, traced: bool) -> str:
    if not traced:
        return "(error)"
    text = message.replace("\\", "\\\\").replace('"', '\\"')
    return f'(force [[{forced("trace")} (con string "{text}")] (delay (error))])'


def program(traced: bool = False) -> str:
    """The UPLC text of the unparameterised batch validator; ``traced`` keeps the failure
    messages (a diagnostic build: bigger and dearer, never the committed one)."""
    hoisted = lets([(f"builtin_{name}", forced(name)) for name in FORCES if name != "trace"], MAIN)
    text = f"(program 1.1.0 {lam(*PARAMETERS, 'script_context', hoisted)})"
    return re.sub(r"\{fail:([^}]*)\}", lambda m: _failure(m.group(1), traced), text)


if __name__ == "__main__":
    print(program())
