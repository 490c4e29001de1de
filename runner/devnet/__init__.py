"""runner.devnet."""
