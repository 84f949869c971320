"""rpc.connect reads the proxy settings once per thread's session (stockpile.sdk.rpc.Sessions), not on
every request: the settings still apply (HTTP_PROXY is used, NO_PROXY bypasses it), and each thread has
its own requests session, as with web3's default."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from stockpile.sdk import rpc
from stockpile.toolchain.anvil import free_port


class _Proxy(BaseHTTPRequestHandler):
    """An HTTP proxy stand-in that answers every JSON-RPC request itself with chain id 0x7a69."""

    seen: list[str] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Proxy.seen.append(self.path)
        out = json.dumps({"jsonrpc": "2.0", "id": body["id"], "result": "0x7a69"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


def _serve():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_the_proxy_from_the_environment_is_used(monkeypatch):
    server = _serve()
    try:
        for var in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_port}")
        _Proxy.seen.clear()
        w3 = rpc.connect("http://node.invalid:8545/")
        assert w3.eth.chain_id == 31337 and w3.eth.chain_id == 31337
        assert _Proxy.seen == ["http://node.invalid:8545/"] * 2  # through the proxy, on every request
    finally:
        server.shutdown()


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
