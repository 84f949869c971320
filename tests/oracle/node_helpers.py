"""Oracle operator nodes as processes of their own (`stockpile oracle node --config ...`) for the node-mode tests.

They are forked from the package's node launcher (stockpile.nodes.launch: one process that imported the
package once) instead of a fresh interpreter each, ~1.5 s CPU less per start: still a process per node
with its own pid, sockets, SQLite state and signal handlers, so SIGKILL mid-round and a restart on the same
state are what they are for an operator's node. ``fresh=True``: a new interpreter
(`python -m stockpile oracle node`), so that the command's own imports are exercised without the
launcher's preloaded modules (the module's TLS node runs that way)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from eth_account import Account

from stockpile.nodes import NodeRef, token_hash
from stockpile.nodes.launch import Launched, launch

TOKEN = "oracle-test-transmitter-token-0123456789abcdef"
TOKEN_ENV = "ORACLE_NODE_TOKEN"


class NodeProcess:
    """One operator: its folder (config, prices, state), its key, its process."""

    def __init__(self, name: str, folder: Path, key: str, rpc_url: str, hub: str, chain_id: int, products: list[dict],
                 sources: dict | None = None, tls: tuple[Path, Path] | None = None, fresh: bool = False, **extra):
        self.name, self.folder, self.key, self.fresh = name, folder, key, fresh
        folder.mkdir(parents=True, exist_ok=True)
        self.address = Account.from_key(key).address
        self.tls = tls
        server = {"host": "127.0.0.1", "port": 0, "transmitters": [{"name": "transmitter", "token_sha256": token_hash(TOKEN)}],
                  "request_deadline_seconds": 2}
        if tls:
            server["tls"] = {"cert": str(tls[0]), "key": str(tls[1])}
        cfg = {"chain_id": chain_id, "rpc_url": rpc_url, "feed_address": hub, "key": {"key_env": "ORACLE_NODE_KEY"},
               "state_db": "state.sqlite", "server": server,
               "sources": sources or {"drop": {"kind": "file", "path": "prices.json"}}, "products": products, **extra}
        self.config = folder / "node.yaml"
        self.config.write_text(yaml.safe_dump(cfg))
        self.proc: Launched | subprocess.Popen | None = None
        self.url: str | None = None

    def write_prices(self, prices: dict[str, str], unit: str = "USD/kg") -> None:
        import json

        tmp = self.folder / "prices.json.tmp"
        tmp.write_text(json.dumps({k: {"price": str(v), "unit": unit, "timestamp": int(time.time())} for k, v in prices.items()}))
        tmp.replace(self.folder / "prices.json")

    def start(self) -> NodeProcess:
        if self.fresh:
            self.proc = subprocess.Popen([sys.executable, "-m", "stockpile", "oracle", "node", "--config", str(self.config)],
                                         env=dict(os.environ, ORACLE_NODE_KEY=self.key), stdout=subprocess.PIPE,
                                         stderr=open(self.folder / "node.log", "ab"), text=True)  # noqa: SIM115
            return self
        self.proc = launch(["oracle", "node", "--config", self.config], env={"ORACLE_NODE_KEY": self.key},
                           log=self.folder / "node.log", capture_stdout=True)
        return self

    def wait_ready(self, timeout: float = 60) -> NodeProcess:
        assert self.proc is not None and self.proc.stdout is not None
        end = time.time() + timeout
        while time.time() < end:
            line = self.proc.stdout.readline()
            if "listening on" in line:
                self.url = line.strip().rsplit(" ", 1)[-1]
                return self
            if not line and self.proc.poll() is not None:
                raise RuntimeError(f"node {self.name} exited {self.proc.returncode}: {(self.folder / 'node.log').read_text()[-2000:]}")
        raise TimeoutError(f"node {self.name} did not start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()

    def ref(self, **kw) -> NodeRef:
        assert self.url
        return NodeRef(**({"name": self.name, "url": self.url, "token_env": TOKEN_ENV, "address": self.address,
                           "ca_file": self.tls[0] if self.tls else None} | kw))


def start_all(nodes: list[NodeProcess]) -> list[NodeProcess]:
    for n in nodes:
        n.start()
    for n in nodes:
        n.wait_ready()
    return nodes
