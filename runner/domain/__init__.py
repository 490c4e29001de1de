"""PURE domain rules: schedule definition, allocations, oracle signatures, quorum, claims.

No network, clock or environment (tests/test_architecture.py enforces it): the engine
feeds these functions chain facts and "now".
"""
