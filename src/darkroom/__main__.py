"""`python -m darkroom` runs the CLI (or says how to install the server)."""

from darkroom._command import main

main()
