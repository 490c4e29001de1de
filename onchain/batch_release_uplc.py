"""Batch validator of a schedule, written by hand in UPLC (this module only prints its text).

Run as a zero withdrawal (purpose Rewarding).  OpShin compiled the same rules to ~150k
memory units per released allocation (argument unpacking, copied lists, wrapped builtins
called through closures); written directly it is ~40 builtin calls per allocation input.
``python -m runner.contract.build`` imports :func:`program` and parses its text with the
``uplc`` parser; nothing else runs.  The rules (unchanged from the OpShin version):

Build-time parameters (applied by the build; they pin the forwarder's compiled code):
  fwd_prefix, fwd_suffix -- the bytes around the 28-byte parameter in
      ``0x03 || cbor(flat(spend_forwarder applied to batch_hash))``; so
      forwarder hash = blake2b_224(fwd_prefix || own hash || fwd_suffix).
Schedule parameters (all Data): cert_policy, owner, expiry (POSIX ms), token_policy,
token_name.

Release (redeemer Constr 0): now = finite validity lower bound (open bound t: t + 1).
One pass over the inputs; every input whose payment credential EQUALS
ScriptCredential(forwarder) (whatever its stake part) must carry an inline datum
Constr _ [beneficiary, amount, milestone, vesting] with vesting <= now (unIData),
amount >= 0 (unIData) and a certificate token (cert_policy, milestone) in a reference
input (quantity != 0).  Two-slot cache of verified milestone ids: a hit needs no new
scan, but the slots start as B "" and a hit on B "" is refused (b"" is never a valid id).
Consecutive allocation inputs with the same beneficiary (Data equality) form a group;
each group is paid by the next output (after the previous group's output) whose address
equals the beneficiary exactly and holds >= the group's tokens and >= the group's
lovelace.  The output pointer only moves forward: one output never pays two groups.
Reclaim (redeemer Constr 1): now >= expiry and owner among the required signers.
Any other redeemer fails.
Publishing: only TxCertRegStaking (Constr 0) passes.  Every other purpose fails.
"""

from __future__ import annotations

import re

FORCES = {
    "headList": 1, "tailList": 1, "nullList": 1, "ifThenElse": 1, "mkCons": 1,
    "fstPair": 2, "sndPair": 2,
}  # fmt: skip


def b(name: str) -> str:
    """A builtin, forced as often as its type needs."""
    term = f"(builtin {name})"
    for _ in range(FORCES.get(name, 0)):
        term = f"(force {term})"
    return term


def app(f: str, *args: str) -> str:
    for a in args:
        f = f"[{f} {a}]"
    return f


def lam(*names_and_body: str) -> str:
    *names, body = names_and_body
    for n in reversed(names):
        body = f"(lam {n} {body})"
    return body


def let(name: str, value: str, body: str) -> str:
    return app(lam(name, body), value)


def ite(cond: str, then: str, other: str) -> str:
    """Lazy if-then-else (both branches delayed)."""
    return f"(force {app(b('ifThenElse'), cond, f'(delay {then})', f'(delay {other})')})"


def fail(message: str) -> str:
    """A failure; :func:`program` makes it ``(error)``, or a traced error with ``traced``."""
    assert "}" not in message
    return "{fail:" + message + "}"


def check(cond: str, then: str, message: str) -> str:
    """``then`` if ``cond`` holds, else the script fails (with ``message`` when traced)."""
    return ite(cond, then, fail(message))


def rec(name: str, *params_and_body: str) -> str:
    """A self-applied recursive function: call it as ``call(name, ...)``."""
    return lam(name, *params_and_body)


def call(name: str, *args: str) -> str:
    return app(f"[{name} {name}]", *args)


def head(x: str) -> str:
    return app(b("headList"), x)


def tail(x: str, n: int = 1) -> str:
    for _ in range(n):
        x = app(b("tailList"), x)
    return x


def fields(d: str) -> str:
    return app(b("sndPair"), app(b("unConstrData"), d))


def tag(d: str) -> str:
    return app(b("fstPair"), app(b("unConstrData"), d))


def eq_int(x: str, y: str) -> str:
    return app(b("equalsInteger"), x, y)


def eq_data(x: str, y: str) -> str:
    return app(b("equalsData"), x, y)


def le(x: str, y: str) -> str:
    return app(b("lessThanEqualsInteger"), x, y)


def un_i(x: str) -> str:
    return app(b("unIData"), x)


UNIT = "(con unit ())"
TRUE, FALSE = "(con bool True)", "(con bool False)"
EMPTY_ID = "(con data (B #))"


def lovelace_of(value: str) -> str:
    """ADA sits first in every ledger Value of a ScriptContext."""
    return un_i(
        app(b("sndPair"), head(app(b("unMapData"), app(b("sndPair"), head(app(b("unMapData"), value))))))
    )


# quantity of (pol, nm) in a map of pairs (0 when absent); pol and nm are Data (B ...)
FIND_NAME = rec(
    "self", "l", "nm",
    ite(app(b("nullList"), "l"), "(con integer 0)",
        let("p", head("l"),
            ite(eq_data(app(b("fstPair"), "p"), "nm"),
                un_i(app(b("sndPair"), "p")),
                call("self", tail("l"), "nm")))),
)  # fmt: skip
FIND_POLICY = rec(
    "self", "l", "pol", "nm",
    ite(app(b("nullList"), "l"), "(con integer 0)",
        let("p", head("l"),
            ite(eq_data(app(b("fstPair"), "p"), "pol"),
                call("find_name", app(b("unMapData"), app(b("sndPair"), "p")), "nm"),
                call("self", tail("l"), "pol", "nm")))),
)  # fmt: skip


def quantity(value: str, pol: str, nm: str) -> str:
    return call("find_policy", app(b("unMapData"), value), pol, nm)


# the certificate (cert_policy, m) in some reference input, else fail
CERTIFIED = rec(
    "self", "l", "m",
    ite(app(b("nullList"), "l"), fail("batch: not certified"),
        ite(eq_int(quantity(head(tail(fields(head(tail(fields(head("l"))))))), "cert_policy", "m"), "(con integer 0)"),
            call("self", tail("l"), "m"),
            UNIT)),
)  # fmt: skip

# pay one group: the next output at exactly `group`; returns the outputs after it
PAY = rec(
    "self", "outs", "group", "tokens", "lov",
    let("o", fields(head("outs")),
        ite(eq_data(head("o"), "group"),
            let("v", head(tail("o")),
                check(le("tokens", quantity("v", "token_policy", "token_name")),
                      check(le("lov", lovelace_of("v")), tail("outs"),
                            "batch: allocation ADA must go to the beneficiary"),
                      "batch: too few tokens")),
            call("self", tail("outs"), "group", "tokens", "lov"))),
)  # fmt: skip

STEP_NEXT = call("self", tail("ins"), "outs", "c1", "c2", "group", "tokens", "lov", "open")

ALLOCATION = (
    let("rest", tail("of"),
    let("v", head("rest"),
    let("a", fields(head(fields(head(tail("rest"))))),
    let("ben", head("a"),
    let("a1", tail("a"),
    let("amount", un_i(head("a1")),
    let("a2", tail("a1"),
    let("m", head("a2"),
    check(le(un_i(head(tail("a2"))), "now"), message="batch: not vested", then=
    check(le("(con integer 0)", "amount"), message="batch: negative amount", then=
    let("hit1", eq_data("m", "c1"),
    let("unit", ite(ite("hit1", TRUE, eq_data("m", "c2")),
                 ite(eq_data("m", EMPTY_ID), fail("batch: empty milestone id"), UNIT),
                 call("certified", "refs", "m")),
    let("n2", ite("hit1", "c2", "c1"),
    let("l", lovelace_of("v"),
    ite(ite("open", eq_data("ben", "group"), FALSE),
        call("self", tail("ins"), "outs", "m", "n2", "group",
             app(b("addInteger"), "tokens", "amount"), app(b("addInteger"), "lov", "l"), TRUE),
        call("self", tail("ins"),
             ite("open", call("pay", "outs", "group", "tokens", "lov"), "outs"),
             "m", "n2", "ben", "amount", "l", TRUE))))))))))))))))
)  # fmt: skip

LOOP = rec(
    "self", "ins", "outs", "c1", "c2", "group", "tokens", "lov", "open",
    ite(app(b("nullList"), "ins"),
        ite("open", let("unit", call("pay", "outs", "group", "tokens", "lov"), UNIT), UNIT),
        let("of", fields(head(tail(fields(head("ins"))))),
            ite(eq_data(head(fields(head("of"))), "fwd"), ALLOCATION, STEP_NEXT))),
)  # fmt: skip

RELEASE = (
    let("find_name", FIND_NAME,
    let("find_policy", FIND_POLICY,
    let("certified", CERTIFIED,
    let("pay", PAY,
    let("own", app(b("unBData"), head(fields(head("pfields")))),
    let("fwd", app(b("constrData"), "(con integer 1)",
                   app(b("mkCons"),
                       app(b("bData"), app(b("blake2b_224"),
                           app(b("appendByteString"),
                               app(b("appendByteString"), app(b("unBData"), "fwd_prefix"), "own"),
                               app(b("unBData"), "fwd_suffix")))),
                       app(b("mkNilData"), UNIT))),
    let("refs", app(b("unListData"), head(tail("txf"))),
    let("loop", LOOP,
        call("loop", app(b("unListData"), head("txf")), app(b("unListData"), head(tail("txf", 2))),
             EMPTY_ID, EMPTY_ID, EMPTY_ID, "(con integer 0)", "(con integer 0)", FALSE)))))))))
)  # fmt: skip

SIGNED = rec(
    "self", "l",
    ite(app(b("nullList"), "l"), fail("batch: owner must sign"),
        ite(eq_data(head("l"), "owner"), UNIT, call("self", tail("l")))),
)  # fmt: skip

RECLAIM = check(
    le(un_i("expiry"), "now"),
    let("signed", SIGNED, call("signed", app(b("unListData"), head(tail("txf", 8))))),
    "batch: not expired",
)

# finite lower bound: Interval = C0 [LowerBound = C0 [Extended, Closure], upper]
NOW = (
    let("lb", fields(head(fields(head(tail("txf", 7))))),
    let("ext", app(b("unConstrData"), head("lb")),
        check(eq_int(app(b("fstPair"), "ext"), "(con integer 1)"), message="batch: lower bound must be finite", then=
            let("t", un_i(head(app(b("sndPair"), "ext"))),
                ite(eq_int(tag(head(tail("lb"))), "(con integer 0)"),
                    app(b("addInteger"), "t", "(con integer 1)"), "t")))))
)  # fmt: skip

REWARDING = (
    let("now", NOW,
    let("rtag", tag(head(tail("ctxf"))),
        ite(eq_int("rtag", "(con integer 0)"), RELEASE,
            check(eq_int("rtag", "(con integer 1)"), RECLAIM, "batch: redeemer must be Release or Reclaim"))))
)  # fmt: skip

MAIN = (
    let("ctxf", fields("ctx"),
    let("txf", fields(head("ctxf")),
    let("purpose", app(b("unConstrData"), head(tail("ctxf", 2))),
    let("pfields", app(b("sndPair"), "purpose"),
    let("ptag", app(b("fstPair"), "purpose"),
        ite(eq_int("ptag", "(con integer 2)"), REWARDING,
            check(eq_int("ptag", "(con integer 3)"), message="batch: withdraw only", then=
                  check(eq_int(tag(head(tail("pfields"))), "(con integer 0)"), UNIT,
                        "batch: only stake registration"))))))))
)  # fmt: skip

PARAMETERS = ("fwd_prefix", "fwd_suffix", "cert_policy", "owner", "expiry", "token_policy", "token_name")


def _failure(message: str, traced: bool) -> str:
    if not traced:
        return "(error)"
    text = message.replace("\\", "\\\\").replace('"', '\\"')
    return f'(force [[(force (builtin trace)) (con string "{text}")] (delay (error))])'


def program(traced: bool = False) -> str:
    """The UPLC text of the unparameterised batch validator; ``traced`` keeps the failure
    messages (a diagnostic build: bigger and dearer, never the committed one)."""
    text = f"(program 1.1.0 {lam(*PARAMETERS, 'ctx', MAIN)})"
    return re.sub(r"\{fail:([^}]*)\}", lambda m: _failure(m.group(1), traced), text)


if __name__ == "__main__":
    print(program())
