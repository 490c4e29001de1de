"""runner.rehearsal."""
