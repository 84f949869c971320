"""The ``stockpile`` command line run in-process, for tests: the same click app as the installed
entry point (``stockpile.cli:main``: its exit codes, its one-line errors), through click's
``CliRunner``, without the ~1.5 s of imports a new interpreter pays per command.

``stockpile(*args, env=...)`` returns a ``subprocess.CompletedProcess`` (``returncode``, ``stdout``,
``stderr``), as ``subprocess.run`` of the installed command would; an exception the command did
not handle is appended to ``stderr`` as the traceback the interpreter would print, so a test that
asserts "no traceback" still fails on one. Use a real subprocess where the process itself is
what is tested (killed mid-way, signals, the installed script, a wheel outside the repository).
"""

from __future__ import annotations

import subprocess
import traceback
from collections.abc import Mapping

from click.testing import CliRunner


def stockpile(*args: object, env: Mapping[str, str | None] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``stockpile ARGS`` in this process; ``env`` is set (None: unset) for the command only."""
    from stockpile.cli import main

    argv = [str(a) for a in args]
    result = CliRunner(mix_stderr=False).invoke(main, argv, env=dict(env or {}), prog_name="stockpile")
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit) and result.exc_info:
        stderr += "".join(traceback.format_exception(*result.exc_info))
    return subprocess.CompletedProcess(["stockpile", *argv], result.exit_code, result.stdout, stderr)
