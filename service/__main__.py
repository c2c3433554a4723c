"""``python -m service`` runs the ``claims`` command."""

from service.cli.main import main

main()
