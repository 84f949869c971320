"""rpc.connect reads the proxy settings once per thread's session (stockpile.sdk.rpc.Sessions), not on
every request: the settings still apply (HTTP_PROXY is used, NO_PROXY bypasses it), and each thread has
its own requests session, as with web3's default."""

from __future__ import annotations

import json
import threading

from devkit.rpc_front import RpcFront
from stockpile.sdk import rpc
from stockpile.toolchain.anvil import free_port


class _Proxy(RpcFront):
    """An HTTP proxy stand-in that answers every JSON-RPC request itself with chain id 0x7a69 and
    records the URL it was asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def answer(self, body: bytes, path: str) -> tuple[int, bytes]:
        self.seen.append(path)
        return 200, json.dumps({"jsonrpc": "2.0", "id": json.loads(body)["id"], "result": "0x7a69"}).encode()


def test_the_proxy_from_the_environment_is_used(monkeypatch):
    with _Proxy() as proxy:
        for var in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        w3 = rpc.connect("http://node.invalid:8545/")
        assert w3.eth.chain_id == 31337 and w3.eth.chain_id == 31337
        assert proxy.seen == ["http://node.invalid:8545/"] * 2  # through the proxy, on every request


def test_no_proxy_bypasses_the_proxy(monkeypatch, anvil):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    w3 = rpc.connect(anvil.url, chain_id=31337)
    assert w3.eth.block_number >= 0


def test_each_thread_has_its_own_session_made_once(anvil):
    w3 = rpc.connect(anvil.url)
    sessions = w3.provider._request_session_manager._explicit_session
    assert isinstance(sessions, rpc.Sessions)
    mine = sessions.session()
    assert sessions.session() is mine and mine.trust_env is False
    other: list = []
    worker = threading.Thread(target=lambda: (other.append(sessions.session()), other.append(w3.eth.chain_id)))
    worker.start()
    worker.join()
    assert other[0] is not mine and other[1] == 31337
