"""All network I/O: the ChainBackend seam, Ogmios + Kupo clients and the embedded devnet."""
