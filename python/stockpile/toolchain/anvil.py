"""Start and stop a local anvil node (from the npm package @foundry-rs/anvil-linux-amd64)."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx

from stockpile.core.eth import DEV_MNEMONIC as DEFAULT_MNEMONIC
from stockpile.toolchain.paths import node_bin


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Anvil:
    """An anvil process on 127.0.0.1. Use as a context manager or call start()/stop().

    ``block_time`` None means a block per transaction (automine)."""

    def __init__(
        self,
        port: int | None = None,
        chain_id: int = 31337,
        block_time: float | None = None,
        accounts: int = 10,
        mnemonic: str = DEFAULT_MNEMONIC,
        extra_args: list[str] | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.port = port or free_port()
        self.chain_id = chain_id
        self.block_time = block_time
        self.accounts = accounts
        self.mnemonic = mnemonic
        self.extra_args = extra_args or []
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [
            str(node_bin("anvil")),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--chain-id", str(self.chain_id),
            "--accounts", str(self.accounts),
            "--mnemonic", self.mnemonic,
            "--silent",
        ]
        if self.block_time is not None:
            cmd += ["--block-time", str(self.block_time)]
        return cmd + self.extra_args

    def start(self, timeout: float = 15.0) -> Anvil:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115 - anvil writes it while it runs
        self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        # one client for the polls: a new httpx client (httpx.post) loads the CA bundle, ~30 ms CPU each
        with httpx.Client(timeout=1) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"anvil exited with code {self.process.returncode} on port {self.port}")
                if self.is_ready(client):
                    return self
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"anvil did not answer on {self.url} within {timeout}s")

    def is_ready(self, client: httpx.Client | None = None) -> bool:
        try:
            body = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
            r = client.post(self.url, json=body) if client is not None else httpx.post(self.url, json=body, timeout=1)
            return r.status_code == 200 and "result" in r.json()
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def dev_keys(count: int = 10, mnemonic: str = DEFAULT_MNEMONIC) -> list[str]:
    """anvil's well-known development private keys (derived from the public test mnemonic).

    For local chains and tests only: everybody knows these keys."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    return [Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}").key.to_0x_hex() for i in range(count)]
