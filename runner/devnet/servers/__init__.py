"""runner.devnet.servers."""
