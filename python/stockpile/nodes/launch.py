"""Node processes started from one process that imported the package once (``make demo``).

A ``stockpile ... node`` process started afresh spends ~1.5 s CPU importing web3, SQLAlchemy and
the package before it does anything; the demo starts seven. :func:`launch` runs ``stockpile ARGV``
(the CLI's ``main``, as the installed script does) in a child forked from a fork server
(multiprocessing's ``forkserver``: a clean process, no threads or connections, that imports the
node commands once, then forks one child per node). Each node is still a process of its own: its
own pid, environment, sockets and signal handlers, stopped with SIGTERM and killable; it starts in
milliseconds. The answer is :class:`Launched`, the part of ``subprocess.Popen`` the demo uses.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

# imported once in the fork server: what `stockpile oracle node` and `stockpile reserve node` import
PRELOAD = ("stockpile.cli", "stockpile.oracle.cli", "stockpile.oracle.node", "stockpile.oracle.config",
           "stockpile.reserve.cli", "stockpile.reserve.node", "web3", "sqlalchemy")

@functools.cache
def _forkserver() -> Any:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(PRELOAD))
    return ctx


def _run(argv: list[str], env: dict[str, str], stdout: Connection | None, log_path: str, cwd: str | None) -> None:
    """In the child: environment, working folder, stdout (the pipe, else the log) and stderr (the log), then the CLI."""
    os.environ.update(env)
    if cwd is not None:
        os.chdir(cwd)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(stdout.fileno() if stdout is not None else log, 1)
    os.dup2(log, 2)
    os.close(log)
    if stdout is not None:
        stdout.close()
    from stockpile.cli import main

    main(args=argv, prog_name="stockpile")  # exits (SystemExit: the process's exit code)


class Launched:
    """A launched node: ``pid``, ``stdout`` (text, when asked for), ``poll``, ``wait``, ``terminate``,
    ``kill``, ``send_signal``, ``returncode``, as on ``subprocess.Popen``."""

    def __init__(self, process: Any, stdout: IO[str] | None, argv: Sequence[str]):
        self._process = process
        self.stdout = stdout
        self.args = ["stockpile", *argv]
        self.pid: int = process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        if self.stdout is not None:
            self.stdout.close()
        return self._process.exitcode

    def send_signal(self, sig: int) -> None:
        if self._process.exitcode is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def launch(argv: Sequence[str | Path], env: Mapping[str, str] | None = None, log: str | Path = os.devnull,
           capture_stdout: bool = False, cwd: str | Path | None = None) -> Launched:
    """``stockpile ARGV`` as a child of the fork server, with ``env`` added to this process's
    environment, in ``cwd`` (default: this process's working folder); stderr (and stdout unless
    ``capture_stdout``: then a pipe read as ``.stdout``) appended to ``log``."""
    ctx = _forkserver()
    reader, writer = ctx.Pipe(duplex=False) if capture_stdout else (None, None)
    process = ctx.Process(target=_run, args=(list(map(str, argv)), {**os.environ, **(env or {})}, writer, str(log),
                                             str(cwd if cwd is not None else Path.cwd())),
                          daemon=False, name=f"stockpile {' '.join(map(str, argv[:2]))}")
    process.start()
    stdout = None
    if reader is not None and writer is not None:
        writer.close()  # the child holds the write end: end of file when it exits
        stdout = open(os.dup(reader.fileno()), encoding="utf-8", errors="replace")  # noqa: SIM115 - the caller reads it
        reader.close()
    return Launched(process, stdout, list(map(str, argv)))


def shutdown() -> None:
    """Stop the fork server (when one was started) and wait for it, so that it does not outlive the
    program and its CPU time counts as this process's children's. Nodes still running are not touched."""
    if _forkserver.cache_info().currsize == 0:
        return
    from multiprocessing import forkserver

    stop = getattr(forkserver._forkserver, "_stop", None)  # CPython's own (its tests use it); absent: it
    if stop is not None:                                    # exits by itself once this process has
        stop()
