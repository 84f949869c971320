"""Node mode on anvil: five operator nodes as separate processes (`python -m stockpile oracle node`), each with
its own key, prices file and SQLite state; the transmitter (NodeTransmitter) collects, builds, gets signatures
and sends. One anvil, one hub and one set of nodes for the module; tests run in order and share the chain."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from eth_account import Account

from node_helpers import TOKEN, TOKEN_ENV, NodeProcess, start_all
from oracle_helpers import ANVIL_TRANSMITTER, advance, make_keys
from stockpile.nodes import NodeRef, Nodes, launch
from stockpile.oracle.config import FeederConfig
from stockpile.oracle.report import feed_id, median
from stockpile.oracle.state import State
from stockpile.oracle.transmitter import NodeTransmitter

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

SYMBOLS = ("NDPR-OXIDE/USD", "DY-METAL/USD")
PRODUCTS = [{"symbol": "NDPR-OXIDE/USD", "sources": [{"source": "drop", "key": "NDPR"}]},
            {"symbol": "DY-METAL/USD", "sources": [{"source": "drop", "key": "DY"}]}]


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
                   check=True, capture_output=True)
    return d / "cert.pem", d / "key.pem"


@pytest.fixture(scope="module")
def net(anvil, w3, anvil_keys, signer_keys, tmp_path_factory, cert):
    from devkit import stack

    five = signer_keys[:5]
    hub = stack.deploy_hub(w3, anvil_keys[0], [Account.from_key(k).address for k in five], 1,
                           {s.removesuffix("/USD"): stack.feed("1000000", heartbeat=3600) for s in SYMBOLS})["address"]
    root = tmp_path_factory.mktemp("nodes")
    nodes = [NodeProcess(f"op{i}", root / f"op{i}", k, anvil.url, hub, 31337, PRODUCTS, tls=cert if i == 0 else None,
                         fresh=i == 0) for i, k in enumerate(five)]  # op0 in a fresh interpreter, the others forked
    for i, n in enumerate(nodes):
        n.write_prices({"NDPR": f"62.{50 + i}", "DY": f"310.{10 + i}"})
    start_all(nodes)
    yield {"hub": hub, "nodes": nodes, "root": root}
    for n in nodes:
        n.stop()
    launch.shutdown()  # the node launcher: stopped and waited for (its CPU counts as this module's)


def _transmitter(net, w3, anvil_keys, tmp_path, extra_refs=(), **cfg) -> NodeTransmitter:
    refs = [n.ref() for n in net["nodes"]] + list(extra_refs)
    config = FeederConfig.model_validate({
        "rpc_url": "http://unused", "feed_address": net["hub"], "nodes": [r.model_dump() for r in refs],
        "observe_deadline_seconds": 1.0, "sign_deadline_seconds": 1.0, "report_deadline_seconds": 30,
        "products": [{"symbol": s, "sources": [], "deviation_bps": 1} for s in SYMBOLS], **cfg})
    return NodeTransmitter(config, transmitter=Account.from_key(anvil_keys[ANVIL_TRANSMITTER]), w3=w3,
                           state=State(f"sqlite:///{tmp_path / 'tx.sqlite'}"), nodes=Nodes(refs, env={TOKEN_ENV: TOKEN}))


def _onchain(w3, hub, symbol):
    from stockpile.oracle.chain import hub_contract

    rid, answer, *_ = hub_contract(w3, hub).functions.latestRoundData(feed_id(symbol)).call()
    return rid, answer


def test_five_nodes_publish_the_median_of_what_each_observed(net, w3, anvil_keys, tmp_path):
    advance(w3, 2)
    tx = _transmitter(net, w3, anvil_keys, tmp_path)
    try:
        res = tx.run_once()
    finally:
        tx.close()
    assert res.ok, res.errors
    assert res.signed_by == [n.name for n in sorted(net["nodes"], key=lambda n: int(n.address, 16))]
    ndpr = res.observations["NDPR-OXIDE/USD"]
    assert sorted(ndpr.values()) == [6_250_000_000 + i * 1_000_000 for i in range(5)]  # each its own file
    for sym in SYMBOLS:
        rid, answer = _onchain(w3, net["hub"], sym)
        assert rid == 1 and answer == median(list(res.observations[sym].values()))
    assert _onchain(w3, net["hub"], "NDPR-OXIDE/USD")[1] == 6_252_000_000


class _Html(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b"<html>maintenance</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def test_dead_slow_lying_garbage_and_unregistered_nodes_do_not_stop_a_round(net, w3, anvil_keys, tmp_path, signer_keys, request):
    nodes = net["nodes"]
    liar, dead = nodes[4], nodes[3]
    liar.write_prices({"NDPR": "125.00", "DY": "310.14"})  # twice the others' NDPR
    # a sixth operator whose key is not registered, and an endpoint that answers HTML
    stranger = NodeProcess("stranger", net["root"] / "stranger", make_keys(1, "stranger")[0], w3.provider.endpoint_uri,
                           net["hub"], 31337, PRODUCTS)
    stranger.write_prices({"NDPR": "62.52", "DY": "310.12"})
    request.addfinalizer(stranger.stop)  # whatever happens below
    start_all([stranger])
    # an impostor that answers well-formed observations signed with a key the hub does not know
    from stockpile.nodes import NodeServer, ServerConfig, token_hash
    from stockpile.oracle.report import sign_observation

    rogue_key = make_keys(1, "rogue")[0]

    def rogue_observe(req):
        b = req.body
        feeds = [{"symbol": f["symbol"], "round": f["round"], "answer": "6252000000"} for f in b["feeds"]]
        sig = sign_observation(rogue_key, b["chain_id"], b["contract"], bytes.fromhex(b["config_digest"][2:]), b["observed_at"],
                               [feed_id(f["symbol"]) for f in feeds], [f["round"] for f in feeds], [6252000000] * len(feeds))
        return {"signer": Account.from_key(rogue_key).address, "observed_at": b["observed_at"], "feeds": feeds,
                "signature": ["0x" + sig[0].hex(), "0x" + sig[1].hex()]}

    rogue = NodeServer(ServerConfig(transmitters=[{"name": "t", "token_sha256": token_hash(TOKEN)}]),
                       {"/observe": rogue_observe}).start()
    html = ThreadingHTTPServer(("127.0.0.1", 0), _Html)
    threading.Thread(target=html.serve_forever, daemon=True).start()
    # the slow one: a proxy in front of op2 that holds every request for 3 s (past the 1 s deadline)
    slow_node = nodes[2]

    class _Slow(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(3)
            r = httpx.post(slow_node.url + self.path, content=body, headers={"Authorization": self.headers["Authorization"]})
            self.send_response(r.status_code)
            self.send_header("Content-Length", str(len(r.content)))
            self.end_headers()
            self.wfile.write(r.content)

        def log_message(self, *a):
            pass

    slow = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    threading.Thread(target=slow.serve_forever, daemon=True).start()
    before = {s: _onchain(w3, net["hub"], s)[0] for s in SYMBOLS}
    dead.kill()  # SIGKILL, before the round
    advance(w3, 2)
    refs = [n.ref() for n in nodes if n is not slow_node] + [
        NodeRef(name=slow_node.name, url=f"http://127.0.0.1:{slow.server_address[1]}", token_env=TOKEN_ENV, address=slow_node.address),
        stranger.ref(address=None), NodeRef(name="rogue", url=rogue.url, token_env=TOKEN_ENV),
        NodeRef(name="html", url=f"http://127.0.0.1:{html.server_address[1]}", token_env=TOKEN_ENV)]
    config = FeederConfig.model_validate({
        "rpc_url": "http://unused", "feed_address": net["hub"], "nodes": [r.model_dump() for r in refs],
        "observe_deadline_seconds": 1.0, "sign_deadline_seconds": 1.0, "report_deadline_seconds": 30,
        "products": [{"symbol": s, "sources": [], "deviation_bps": 1} for s in SYMBOLS]})
    tx = NodeTransmitter(config, transmitter=Account.from_key(anvil_keys[ANVIL_TRANSMITTER]), w3=w3,
                         state=State(f"sqlite:///{tmp_path / 'tx.sqlite'}"), nodes=Nodes(refs, env={TOKEN_ENV: TOKEN}))
    try:
        t0 = time.monotonic()
        res = tx.run_once()
        elapsed = time.monotonic() - t0
        metrics = tx.metrics.render().decode()
    finally:
        tx.close()
        html.shutdown()
        slow.shutdown()
        rogue.stop()
        stranger.stop()
        dead.start().wait_ready()
        liar.write_prices({"NDPR": "62.54", "DY": "310.14"})
    assert "ObservationInFuture" not in str(res.errors)
    assert not res.errors, res.errors
    kinds = dict(res.node_failures)
    assert set(kinds) == {dead.name, slow_node.name, "stranger", "rogue", "html"}, kinds
    assert "down" in kinds[dead.name] and "slow" in kinds[slow_node.name]
    assert "not_a_signer" in kinds["stranger"]  # an honest node with an unregistered key refuses by itself
    assert "unregistered" in kinds["rogue"] and "not a registered signer" in kinds["rogue"]
    assert "garbage" in kinds["html"]
    assert res.liars == {"NDPR-OXIDE/USD": [liar.name]}
    assert f'stockpile_oracle_node_outliers_total{{node="{liar.name}",product="NDPR-OXIDE/USD"}} 1.0' in metrics
    assert set(res.signed_by) == {nodes[0].name, nodes[1].name, liar.name}
    assert _onchain(w3, net["hub"], "NDPR-OXIDE/USD")[0] == before["NDPR-OXIDE/USD"] + 1
    # DY's median of the three (310.10, 310.11, 310.14) is within 1 bps of the last round: held by the policy
    assert "DY-METAL/USD" in res.held and _onchain(w3, net["hub"], "DY-METAL/USD")[0] == before["DY-METAL/USD"]
    # the contract's median of the three signed observations: the liar cannot move it outside the honest range
    honest = [res.observations["NDPR-OXIDE/USD"][n.name] for n in nodes[:2]]
    assert _onchain(w3, net["hub"], "NDPR-OXIDE/USD")[1] == max(honest)
    assert elapsed < 3  # the slow node did not hold the round beyond the deadlines


def _observe_body(w3, net, rounds, observed_at, digest=None, chain_id=31337, contract=None):
    from stockpile.oracle.chain import hub_contract

    hub = hub_contract(w3, net["hub"])
    return {"chain_id": chain_id, "contract": contract or net["hub"],
            "config_digest": digest or "0x" + bytes(hub.functions.configDigest().call()).hex(),
            "observed_at": observed_at, "feeds": [{"symbol": s, "round": rounds[s]} for s in SYMBOLS]}


def _sign_body(net, observed_at, deadline, digest, observers_by_index, rounds):
    k = len(observers_by_index)
    idx = sorted(observers_by_index)
    answers = [str(observers_by_index[i][s]) for s in SYMBOLS for i in idx]
    return {"chain_id": 31337, "contract": net["hub"], "report": {
        "config_digest": digest, "observed_at": observed_at, "deadline": deadline, "observers": sum(1 << i for i in idx),
        "feed_ids": ["0x" + feed_id(s).hex() for s in SYMBOLS], "round_ids": [rounds[s] for s in SYMBOLS],
        "answers": answers[: k * len(SYMBOLS)]}}


def test_node_killed_after_signing_and_restarted_never_signs_another_value_for_that_round(net, w3, anvil_keys, signer_keys):
    from stockpile.oracle.chain import hub_contract, signer_config

    nodes = net["nodes"]
    config = signer_config(hub_contract(w3, net["hub"]))
    t = advance(w3, 2)
    rounds = {s: _onchain(w3, net["hub"], s)[0] + 1 for s in SYMBOLS}
    refs = [n.ref() for n in nodes]
    with Nodes(refs, env={TOKEN_ENV: TOKEN}) as client:
        obs = client.collect("/observe", _observe_body(w3, net, rounds, t), 5)
        assert len(obs.answers) == 5, obs.failures
        by_index = {config.index_of(a["signer"]): {f["symbol"]: int(f["answer"]) for f in a["feeds"]} for a in obs.answers.values()}
        victim = nodes[1]
        vi = config.index_of(victim.address)
        others = [i for i in sorted(by_index) if i != vi]
        digest = "0x" + config.digest.hex()
        first = _sign_body(net, t, t + 120, digest, {i: by_index[i] for i in [vi, *others[:2]]}, rounds)
        r1 = client.collect("/sign", first, 5, names=[victim.name])
        assert victim.name in r1.answers, r1.failures
        victim.kill()  # SIGKILL right after its signature left
        victim.write_prices({"NDPR": "70.00", "DY": "350.00"})  # it would now observe something else
        victim.start().wait_ready()
    refs = [n.ref() for n in nodes]
    with Nodes(refs, env={TOKEN_ENV: TOKEN}) as client:
        # the same report: the same signature, nothing new signed
        again = client.collect("/sign", first, 5, names=[victim.name])
        assert again.answers[victim.name]["signature"] == r1.answers[victim.name]["signature"]
        # another report for that round (other observers), same own observation: refused
        second = _sign_body(net, t, t + 120, digest, {i: by_index[i] for i in [vi, *others[2:4]]}, rounds)
        got = client.collect("/sign", second, 5, names=[victim.name])
        assert got.failures[victim.name].reason == "round_already_signed"
        # a report with a different value for it: refused (not what it observed)
        changed = {i: dict(v) for i, v in by_index.items()}
        changed[vi]["NDPR-OXIDE/USD"] = 7_000_000_000
        third = _sign_body(net, t, t + 120, digest, {i: changed[i] for i in [vi, *others[:2]]}, rounds)
        got = client.collect("/sign", third, 5, names=[victim.name])
        assert got.failures[victim.name].reason == "not_my_observation"
        # asking it to observe the round again at the same time gives the answer it gave, not the new file's
        repeat = client.collect("/observe", _observe_body(w3, net, rounds, t), 5, names=[victim.name])
        assert repeat.failures[victim.name].reason == "round_already_signed"
    victim.write_prices({"NDPR": "62.51", "DY": "310.11"})


def _count(node: NodeProcess) -> tuple[int, int]:
    db = sqlite3.connect(str(node.folder / "state.sqlite"))
    try:
        return (db.execute("SELECT COUNT(*) FROM observations").fetchone()[0],
                db.execute("SELECT COUNT(*) FROM signed_reports").fetchone()[0])
    finally:
        db.close()


def test_bad_requests_get_a_clear_refusal_and_change_nothing(net, w3):
    node = net["nodes"][2]
    t = advance(w3, 2)
    rounds = {s: _onchain(w3, net["hub"], s)[0] + 1 for s in SYMBOLS}
    before = _count(node)
    good = _observe_body(w3, net, rounds, t)
    cases = {
        "unauthenticated": (good, {}),
        "wrong_chain": (_observe_body(w3, net, rounds, t, chain_id=1), None),
        "wrong_contract": (_observe_body(w3, net, rounds, t, contract="0x" + "11" * 20), None),
        "wrong_config": (_observe_body(w3, net, rounds, t, digest="0x" + "22" * 32), None),
        "wrong_round": (_observe_body(w3, net, {s: r + 5 for s, r in rounds.items()}, t), None),
    }
    import json as _json

    for reason, (body, headers) in cases.items():
        h = {"Authorization": f"Bearer {TOKEN}"} if headers is None else headers
        r = httpx.post(node.url + "/observe", content=_json.dumps(body), headers=h)
        assert r.json()["refused"] == reason, (reason, r.text)
        assert r.json()["detail"]
    r = httpx.post(node.url + "/observe", content=b'{"chain_id": 31337,', headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 400 and r.json()["refused"] == "malformed_json"
    r = httpx.post(node.url + "/sign", content=b"{" + b" " * 100_000 + b"}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 413 and r.json()["refused"] == "body_too_large"
    assert _count(node) == before
    metrics = httpx.get(node.url + "/metrics").text
    assert 'stockpile_oracle_node_refusals_total{reason="wrong_chain"} 1.0' in metrics
    health = httpx.get(node.url + "/health").json()
    assert health["status"] == "ok" and health["signer"] == node.address


def test_node_killed_between_observing_and_signing_signs_the_same_report_after_restart(net, w3, anvil_keys, tmp_path):
    """Kill one observer mid-round (after its observation, before the report reaches it): the round is not sent
    without its signature; once it is back, the next pass asks it to sign the same report, and the round lands."""
    nodes = net["nodes"]
    victim = nodes[0]
    for i, n in enumerate(nodes):
        n.write_prices({"NDPR": f"63.{10 + i}", "DY": f"311.{10 + i}"})
    tx = _transmitter(net, w3, anvil_keys, tmp_path)
    real_collect = tx.nodes.collect

    def collect(path, body, deadline, **kw):
        if path == "/sign" and victim.proc.poll() is None:
            victim.kill()
        return real_collect(path, body, deadline, **kw)

    tx.nodes.collect = collect  # type: ignore[method-assign]
    before = {s: _onchain(w3, net["hub"], s)[0] for s in SYMBOLS}
    advance(w3, 2)
    try:
        first = tx.run_once()
        assert "sign" in first.errors and victim.name in first.errors["sign"] and not first.published
        assert {s: _onchain(w3, net["hub"], s)[0] for s in SYMBOLS} == before
        victim.start().wait_ready()
        tx.nodes.close()
        refs = [n.ref() for n in nodes]  # the victim listens on a new port
        tx.nodes = Nodes(refs, env={TOKEN_ENV: TOKEN})
        second = tx.run_once()
    finally:
        tx.close()
    assert second.ok, second.errors
    # the same observers as the first pass (op1 sits this round out: it signed another report for it in the
    # SIGKILL test above, valid for two minutes, so it refuses to observe the round again)
    assert victim.name in second.signed_by and set(second.signed_by) == set(first.observations["NDPR-OXIDE/USD"])
    assert nodes[1].name not in second.signed_by and "round_already_signed" in first.node_failures[nodes[1].name]
    for s in SYMBOLS:
        assert _onchain(w3, net["hub"], s)[0] == before[s] + 1
        assert _onchain(w3, net["hub"], s)[1] == median(list(first.observations[s].values()))


def test_transmitter_killed_mid_broadcast_never_submits_a_round_twice(net, w3, anvil_keys, tmp_path):
    """The transmitter dies after its transaction left (the RPC answer never arrives); a restarted
    transmitter with the same state settles the recorded transaction instead of sending the round again."""
    nodes = net["nodes"]
    for i, n in enumerate(nodes):
        n.write_prices({"NDPR": f"64.{10 + i}", "DY": f"312.{10 + i}"})
    before = {s: _onchain(w3, net["hub"], s)[0] for s in SYMBOLS}
    tx = _transmitter(net, w3, anvil_keys, tmp_path)
    real_send = tx.sender.w3.eth.send_raw_transaction

    def send_then_die(raw):
        real_send(raw)  # automine: it is mined ...
        raise KeyboardInterrupt("transmitter killed before the RPC answer arrived")  # ... and we never hear back

    tx.sender.w3.eth.send_raw_transaction = send_then_die
    advance(w3, 2)
    try:
        with pytest.raises(KeyboardInterrupt):
            tx.run_once()
    finally:
        tx.sender.w3.eth.send_raw_transaction = real_send
        tx.close()
    published = {s: _onchain(w3, net["hub"], s)[0] for s in SYMBOLS}
    assert all(published[s] == before[s] + 1 for s in SYMBOLS)
    sender = Account.from_key(anvil_keys[ANVIL_TRANSMITTER]).address
    nonce = w3.eth.get_transaction_count(sender)
    restarted = _transmitter(net, w3, anvil_keys, tmp_path)  # same state_db
    try:
        res = restarted.run_once()
    finally:
        restarted.close()
    assert res.ok, res.errors
    assert sorted(p.round_id for p in res.published if p.symbol == SYMBOLS[0]) == [published[SYMBOLS[0]]]  # settled, not resent
    assert w3.eth.get_transaction_count(sender) == nonce  # nothing new was sent: prices have not moved, held
    assert {s: _onchain(w3, net["hub"], s)[0] for s in SYMBOLS} == published


def test_transmitter_cli_collects_from_the_nodes(net, w3, anvil_keys, tmp_path):
    """`stockpile oracle run-once --config transmitter.yaml` (nodes:, tokens and the transmitter key from the environment).
    The nodes are processes; the one-shot transmitter command runs in-process (devkit.cli)."""
    import yaml

    from devkit.cli import run

    nodes = net["nodes"]
    for i, n in enumerate(nodes):
        n.write_prices({"NDPR": f"65.{10 + i}", "DY": f"313.{10 + i}"})
    cfg = {"rpc_url": w3.provider.endpoint_uri, "feed_address": net["hub"], "state_db": f"sqlite:///{tmp_path / 'cli.sqlite'}",
           "transmitter": {"key_env": "ORACLE_TX_KEY"},
           "nodes": [json_ready(n.ref()) for n in nodes],
           "products": [{"symbol": s, "sources": [], "deviation_bps": 1} for s in SYMBOLS], "metrics": {"enabled": False}}
    path = tmp_path / "transmitter.yaml"
    path.write_text(yaml.safe_dump(cfg))
    before = _onchain(w3, net["hub"], SYMBOLS[0])[0]
    advance(w3, 2)
    out = run("oracle", "run-once", "--config", path, env={"ORACLE_TX_KEY": anvil_keys[ANVIL_TRANSMITTER], TOKEN_ENV: TOKEN})
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"published {SYMBOLS[0]} round {before + 1}" in out.stdout
    assert "signed by " in out.stdout and all(n.name in out.stdout for n in nodes if n is not nodes[1])
    assert TOKEN not in out.stdout + out.stderr and anvil_keys[ANVIL_TRANSMITTER][2:] not in out.stdout + out.stderr


def json_ready(ref: NodeRef) -> dict:
    return {k: (str(v) if v is not None and k == "ca_file" else v) for k, v in ref.model_dump().items() if v is not None}
