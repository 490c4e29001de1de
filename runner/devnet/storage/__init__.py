"""runner.devnet.storage."""
