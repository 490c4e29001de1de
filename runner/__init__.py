"""milestones: milestone-gated token distribution on Cardano, run from YAML plans."""

__version__ = "0.1.0"
