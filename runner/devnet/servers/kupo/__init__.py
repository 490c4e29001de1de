"""runner.devnet.servers.kupo."""
