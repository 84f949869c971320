"""The node transport (stockpile.nodes): the server's refusals, TLS, and the parallel collector's failure kinds.

Real sockets, a real TLS handshake (a self-signed certificate made with the openssl CLI), real httpx."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import ValidationError

from stockpile.nodes import NodeRef, Nodes, NodeServer, Refusal, ServerConfig, token_hash

TOKEN = "transmitter-token-for-tests-0123456789"
OTHER = "another-token-not-configured"


def _server(tmp_path=None, tls=None, routes=None, **cfg) -> NodeServer:
    calls: list = []

    def echo(req):
        calls.append(req)
        return {"echo": req.body, "client": req.client}

    config = ServerConfig(transmitters=[{"name": "tx1", "token_sha256": token_hash(TOKEN)}], tls=tls, **cfg)
    server = NodeServer(config, routes or {"/echo": echo}).start()
    server.calls = calls  # type: ignore[attr-defined]
    return server


@pytest.fixture
def server():
    s = _server()
    yield s
    s.stop()


def _post(server, body: bytes, token: str | None = TOKEN, path="/echo", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    h = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {}) | (headers or {})
    conn.request("POST", path, body=body, headers=h)
    resp = conn.getresponse()
    out = resp.status, json.loads(resp.read())
    conn.close()
    return out


def test_authenticated_request_is_served(server):
    status, body = _post(server, b'{"a": 1}')
    assert status == 200 and body == {"echo": {"a": 1}, "client": "tx1"}


@pytest.mark.parametrize("token", [None, OTHER, ""])
def test_unauthenticated_request_is_refused_and_the_handler_never_runs(server, token):
    status, body = _post(server, b'{"a": 1}', token=token)
    assert status == 401 and body["refused"] == "unauthenticated" and body["detail"]
    assert server.calls == []


def test_oversized_body_is_refused_unread(server):
    status, body = _post(server, b'{"a": "' + b"x" * 70_000 + b'"}')
    assert status == 413 and body["refused"] == "body_too_large" and "65536" in body["detail"]
    assert server.calls == []


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe", b""])
def test_malformed_json_is_refused(server, raw):
    status, body = _post(server, raw)
    assert status == 400 and body["refused"] == "malformed_json"
    assert server.calls == []


def test_unknown_path_is_refused(server):
    status, body = _post(server, b"{}", path="/nope")
    assert status == 404 and body["refused"] == "not_found"


def test_rate_limit_per_client():
    s = _server(rate_limit={"per_second": 0.5, "burst": 3})
    try:
        statuses = [_post(s, b"{}")[0] for _ in range(5)]
        assert statuses[:3] == [200, 200, 200]
        status, body = _post(s, b"{}")
        assert status == 429 and body["refused"] == "rate_limited"
        assert len(s.calls) == 3
        # unauthenticated callers have their own bucket (per address) and cannot drain the transmitter's
        assert _post(s, b"{}", token=None)[1]["refused"] in ("unauthenticated", "rate_limited")
    finally:
        s.stop()


def test_handler_refusal_carries_its_reason(tmp_path):
    def refuse(req):
        raise Refusal("wrong_chain", "chain 1 requested; this node serves 31337")

    s = _server(routes={"/sign": refuse})
    try:
        status, body = _post(s, b"{}", path="/sign")
        assert status == 409 and body == {"refused": "wrong_chain", "detail": "chain 1 requested; this node serves 31337"}
    finally:
        s.stop()


def test_handler_crash_is_an_internal_refusal_without_details():
    def boom(req):
        raise RuntimeError("secret internal state")

    s = _server(routes={"/x": boom})
    try:
        status, body = _post(s, b"{}", path="/x")
        assert status == 500 and body["refused"] == "internal" and "secret" not in body["detail"]
    finally:
        s.stop()


def test_stalled_client_is_cut_off_at_the_request_deadline():
    s = _server(request_deadline_seconds=0.5)
    try:
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        sock.sendall(f"POST /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 100\r\n\r\n{{".encode())
        t0 = time.monotonic()
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
        assert time.monotonic() - t0 < 4
        assert b" 408 " in data.split(b"\r\n", 1)[0] and b"deadline" in data
        sock.close()
        assert s.calls == []
    finally:
        s.stop()


def test_health_and_metrics_need_no_token_and_count_refusals(server):
    _post(server, b"{}", token=None)
    _post(server, b"{}")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/health")
    r = conn.getresponse()
    assert r.status == 200 and json.loads(r.read()) == {"status": "ok"}
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    assert 'stockpile_node_requests_total{outcome="unauthenticated",path="/echo"} 1.0' in text
    assert 'stockpile_node_requests_total{outcome="ok",path="/echo"} 1.0' in text
    conn.close()


def test_tokens_are_never_logged(caplog):
    caplog.set_level(logging.DEBUG)
    s = _server()
    try:
        _post(s, b"{}")
        _post(s, b"{}", token=OTHER)
        with Nodes([NodeRef(name="n", url=s.url, token_env="T")], env={"T": TOKEN}) as nodes:
            nodes.collect("/echo", {}, 2)
    finally:
        s.stop()
    assert TOKEN not in caplog.text and OTHER not in caplog.text


# ---------------------------------------------------------------------------------------- binding, TLS


def test_plain_http_on_a_non_loopback_address_is_refused():
    with pytest.raises(ValidationError, match="plain HTTP is allowed only on loopback"):
        ServerConfig(host="0.0.0.0")
    with pytest.raises(ValidationError, match="allowed only on loopback"):
        ServerConfig(host="192.168.1.10")
    # even a config built around the validator does not start
    with pytest.raises(ValueError, match="refusing to serve plain HTTP on 0.0.0.0"):
        NodeServer(ServerConfig.model_construct(**(ServerConfig().model_dump() | {"host": "0.0.0.0"})), {})
    with pytest.raises(ValidationError, match="plain http only to a loopback"):
        NodeRef(name="n", url="http://10.0.0.5:9000", token_env="T")


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")], check=True, capture_output=True)
    return d / "cert.pem", d / "key.pem"


def test_tls_node_answers_a_client_that_trusts_its_certificate_only(cert):
    s = _server(tls={"cert": cert[0], "key": cert[1]})
    try:
        assert s.url.startswith("https://")
        good = NodeRef(name="good", url=s.url, token_env="T", ca_file=cert[0])
        untrusting = NodeRef(name="untrusting", url=s.url, token_env="T")  # system CAs: the self-signed cert fails
        plain = NodeRef(name="plain", url=s.url.replace("https", "http"), token_env="T")
        with Nodes([good, untrusting, plain], env={"T": TOKEN}) as nodes:
            got = nodes.collect("/echo", {"x": 1}, 3)
        assert got.answers == {"good": {"echo": {"x": 1}, "client": "tx1"}}
        assert got.failures["untrusting"].kind == "down" and "SSL" in got.failures["untrusting"].detail.upper()
        assert got.failures["plain"].kind in ("down", "garbage")
        assert len(s.calls) == 1
    finally:
        s.stop()


def test_tls_on_a_non_loopback_address_is_allowed(cert):
    cfg = ServerConfig(host="0.0.0.0", tls={"cert": cert[0], "key": cert[1]})
    s = NodeServer(cfg, {})
    s.stop()


def test_a_stop_before_serving_ends_serve_forever_cleanly():
    """A SIGTERM between a node's "listening on" line and its serve loop: stop() first, then serve_forever()
    returns at once (it raised ValueError on the closed socket: 'Invalid file descriptor: -1')."""
    s = NodeServer(ServerConfig(), {})
    s.stop()
    done = threading.Event()
    t = threading.Thread(target=lambda: (s.serve_forever(), done.set()), daemon=True)
    t.start()
    assert done.wait(5), "serve_forever kept running after stop()"


def test_stop_from_another_thread_ends_serve_forever():
    s = NodeServer(ServerConfig(), {})
    done = threading.Event()
    t = threading.Thread(target=lambda: (s.serve_forever(), done.set()), daemon=True)
    t.start()
    s.stop()
    assert done.wait(5)


# ------------------------------------------------------------------------------------------- collector


class _Garbage(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = b"<html>oops</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def test_collect_names_every_failure_kind_and_keeps_the_deadline():
    release = threading.Event()

    def slow(req):
        release.wait(5)
        return {"late": True}

    def refuse(req):
        raise Refusal("round_already_signed", "round 7 signed with another report")

    def ok(req):
        return {"value": req.body["n"]}

    good, sl, ref = _server(routes={"/q": ok}), _server(routes={"/q": slow}), _server(routes={"/q": refuse})
    garbage = ThreadingHTTPServer(("127.0.0.1", 0), _Garbage)
    threading.Thread(target=garbage.serve_forever, daemon=True).start()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()
    refs = [NodeRef(name="good", url=good.url, token_env="T"), NodeRef(name="slow", url=sl.url, token_env="T"),
            NodeRef(name="refusing", url=ref.url, token_env="T"),
            NodeRef(name="garbage", url=f"http://127.0.0.1:{garbage.server_address[1]}", token_env="T"),
            NodeRef(name="down", url=f"http://127.0.0.1:{dead_port}", token_env="T"),
            NodeRef(name="badtoken", url=good.url, token_env="BAD")]
    try:
        with Nodes(refs, env={"T": TOKEN, "BAD": OTHER}) as nodes:
            t0 = time.monotonic()
            got = nodes.collect("/q", {"n": 5}, 0.6)
            elapsed = time.monotonic() - t0
            # one body per node
            per = nodes.collect("/q", {"n": 0}, 0.6, names=["good"], per_node={"good": {"n": 9}})
            # a validator turns a well-formed answer into garbage
            def positive(name, answer):
                if answer["value"] <= 5:
                    raise ValueError("value must be above 5")
            val = nodes.collect("/q", {"n": 5}, 0.6, names=["good"], validate=positive)
    finally:
        release.set()
        for s in (good, sl, ref):
            s.stop()
        garbage.shutdown()
        garbage.server_close()
    assert elapsed < 1.5
    assert got.answers == {"good": {"value": 5}}
    kinds = {n: f.kind for n, f in got.failures.items()}
    assert kinds == {"slow": "slow", "refusing": "refused", "garbage": "garbage", "down": "down", "badtoken": "refused"}
    assert got.failures["refusing"].reason == "round_already_signed" and "round 7" in got.failures["refusing"].detail
    assert got.failures["badtoken"].reason == "unauthenticated"
    assert per.answers == {"good": {"value": 9}}
    assert val.failures["good"].kind == "garbage" and "above 5" in val.failures["good"].detail


def test_collect_stops_early_when_enough_answered():
    release = threading.Event()
    fast = _server(routes={"/q": lambda r: {"ok": 1}})
    slow = _server(routes={"/q": lambda r: release.wait(5) and {"ok": 2}})
    try:
        with Nodes([NodeRef(name="a", url=fast.url, token_env="T"), NodeRef(name="b", url=slow.url, token_env="T")],
                   env={"T": TOKEN}) as nodes:
            got = nodes.collect("/q", {}, 3.0, enough=lambda c: len(c.answers) >= 1)
        assert set(got.answers) == {"a"} and got.failures["b"].kind == "slow" and got.seconds < 2
        with Nodes([NodeRef(name="a", url=fast.url, token_env="T"), NodeRef(name="b", url=slow.url, token_env="T")],
                   env={"T": TOKEN}) as nodes:
            settled = nodes.collect("/q", {}, 3.0, enough=lambda c: len(c.answers) >= 1, settle=0.5)
        assert set(settled.answers) == {"a"} and 0.5 <= settled.seconds < 2
    finally:
        release.set()
        fast.stop()
        slow.stop()


def test_missing_token_variable_is_a_config_error():
    from stockpile.nodes import NodeConfigError

    with pytest.raises(NodeConfigError, match="NODE_TOKEN_X"):
        Nodes([NodeRef(name="n", url="http://127.0.0.1:1", token_env="NODE_TOKEN_X")], env={})
