"""``python -m stockpile.cli``: the ``stockpile`` command."""

from stockpile.cli import main

main()
