"""runner.devnet.rules."""
