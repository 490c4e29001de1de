"""`python cli.py <command>` as in the quick-start guide: the same CLI as `milestones`."""

from runner.cli import main

if __name__ == "__main__":
    main()
