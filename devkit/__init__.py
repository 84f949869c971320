"""Development-only code shared by the tests, ``make demo`` helpers and the benchmarks.

Not part of the installed package (the wheel holds ``python/stockpile`` only): nothing under
``python/stockpile`` may import ``devkit``. The tests import it through pytest's ``pythonpath``
(pyproject.toml), ``python -m bench`` from the repository root. See devkit/README.md.
"""
