"""`stockpile ...` run in-process, for tests where the process itself is not what is tested.

The installed `stockpile` script calls `stockpile.cli:main`; click's CliRunner invokes the same
`main` (its `main()` maps mistakes to one line and exit 2, as in the script), in milliseconds
instead of the ~1.5 s CPU a new process spends importing. The result is a
`subprocess.CompletedProcess`, so assertions read as they would for a real process:
- logging the command sets up (`logging.basicConfig(stream=sys.stderr)`) lands in the captured
  stderr, as in a process of its own (pytest's handlers are set aside while the command runs);
- an exception escaping the app is appended to stderr as the traceback the script would print.

Keep a real process where the process is the point: daemons, signals, kills, listening sockets,
the installed entry point itself, a wheel outside the repository.
"""

from __future__ import annotations

import logging
import subprocess
import traceback
from collections.abc import Mapping


def run(*args: object, env: Mapping[str, str | None] | None = None) -> subprocess.CompletedProcess[str]:
    """`stockpile *args` through click's CliRunner; ``env`` entries set (None: unset) for the call."""
    from click.testing import CliRunner

    from stockpile.cli import main

    argv = [str(a) for a in args]
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers = []
    try:
        r = CliRunner(mix_stderr=False).invoke(main, argv, env=dict(env or {}), prog_name="stockpile")
    finally:
        root.handlers = handlers
        root.setLevel(level)
    stderr = r.stderr
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        stderr += "".join(traceback.format_exception(r.exception))
    return subprocess.CompletedProcess(["stockpile", *argv], r.exit_code, r.stdout, stderr)

