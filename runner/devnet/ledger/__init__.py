"""runner.devnet.ledger."""
