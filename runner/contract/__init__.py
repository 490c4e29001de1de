"""Blueprint loading, datum/redeemer types and transaction builders (pure: no network)."""
