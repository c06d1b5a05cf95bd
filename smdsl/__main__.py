"""``python -m smdsl`` runs the CLI."""

from smdsl.cli import main

main(prog_name="smdsl")
