"""``python -m polygeo`` runs the command-line interface."""

from polygeo.cli import main

main()
