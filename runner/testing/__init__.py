"""Helpers for testing code that uses the devnet ledger (shipped with the package).

:mod:`runner.testing.ledger` holds the plain helpers: tiny always-succeeds/always-fails
scripts, a hand-made transaction builder (:class:`~runner.testing.ledger.HandTx`) and
assertions for accepted/rejected submissions. They need no test framework.
"""
