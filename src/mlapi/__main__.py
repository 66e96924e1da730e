"""Run the CLI with ``python -m mlapi``."""

from mlapi.cli import main

main()
