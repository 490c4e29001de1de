"""Command groups registered on the `milestones` Typer app (one import line each in runner/cli.py)."""
