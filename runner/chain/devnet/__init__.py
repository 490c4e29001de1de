"""The embedded devnet: a validating Conway ledger emulator (phase 1 and phase 2)."""
