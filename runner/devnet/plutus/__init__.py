"""runner.devnet.plutus."""
