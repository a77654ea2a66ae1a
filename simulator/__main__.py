"""``python -m simulator`` runs the ``sim`` command line."""

from simulator.cli import main

main()
