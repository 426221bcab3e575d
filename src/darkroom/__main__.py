"""`python -m darkroom` runs the CLI."""

from darkroom.cli import main

main()
