"""Command modules of the `milestones` CLI; each registers its commands on ``runner.cli.app``."""
