"""runner.devnet.servers.ogmios."""
