"""``python -m service`` runs the ``claims`` command."""

from service.cli import main

main()
