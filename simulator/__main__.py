"""``python -m simulator`` runs the ``sim`` command line."""

from simulator.console import main

main()
