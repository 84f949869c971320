"""Custodian attestor nodes as separate processes (``stockpile reserve node``) on anvil, and
``stockpile reserve attest --nodes`` collecting from them (issue 11).

Three attestors, each with its own key and its own copy of the custody exports; one copy has a
tampered quantity. With quorum 2 the attestation lands with the two honest nodes and the third is
named with the lot; with quorum 3 nothing is submitted. Bad requests are refused and change nothing;
a down, slow, garbage or unregistered node is named; a crash after broadcast does not double submit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner
from eth_account import Account
from eth_utils import keccak

from stockpile.nodes import launch as node_launch, token_hash
from stockpile.nodes.launch import Launched, launch
from stockpile.reserve.cli import reserve
from devkit.reserve import deploy_reserve_attestor
from stockpile.reserve.models import Attestation
from stockpile.reserve.signing import attest_tx_signers
from stockpile.toolchain.anvil import free_port

from custodian_helpers import (
    ATTESTOR_KEYS,
    ATTESTORS,
    PRODUCT,
    copy_folder,
    custody_folder,
    reserve_lots,
    tamper_quantity,
)

pytestmark = pytest.mark.anvil

TOKEN = "transmitter-token-for-tests-only"
OUTSIDER_KEY = "0x" + keccak(text="stockpile-test-custodian-not-registered").hex()
ROOT = Path(__file__).resolve().parents[2]


class NodeProcess:
    """One ``stockpile reserve node`` process, forked from the package's node launcher
    (stockpile.nodes.launch: the package imported once, ~1.5 s CPU less per start than a fresh
    interpreter): a process of its own (pid, listening socket, state folder, signals), so SIGKILL
    after signing and a restart on the same state are an operator's. ``fresh=True``: a new
    interpreter (``python -m stockpile.cli reserve node``), the command's own imports exercised
    without the launcher's preloaded modules (the module's outsider node)."""

    def __init__(self, name: str, folder: Path, key: str, rpc: str, attestors: dict[str, str], work: Path,
                 max_body: int = 256 * 1024, tls: tuple[Path, Path] | None = None, keystore: bool = False,
                 fresh: bool = False):
        self.name = name
        self.dir = work / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca = tls[0] if tls else None
        self.key_env = f"ATTESTOR_KEY_{name.upper().replace('-', '_')}"
        env = {**os.environ}
        if keystore:  # an encrypted keystore, passphrase from the environment
            from stockpile.sdk.accounts import write_keystore

            write_keystore(Account.from_key(key), self.dir / "key.json", "demo-passphrase", kdf="pbkdf2", iterations=1024)
            account = f"keystore:key.json:{self.key_env}_PASSPHRASE"
            env[f"{self.key_env}_PASSPHRASE"] = "demo-passphrase"
        else:
            account = f"env:{self.key_env}"
            env[self.key_env] = key
        server = {"host": "127.0.0.1", "port": 0, "max_body_bytes": max_body,
                  "transmitters": [{"name": "issuer-ops", "token_sha256": token_hash(TOKEN)}]}
        if tls:
            server["tls"] = {"cert": str(tls[0]), "key": str(tls[1])}
        self.config = self.dir / "node.yaml"
        self.config.write_text(yaml.safe_dump({
            "name": name, "chain_id": 31337, "rpc_url": rpc, "account": account,
            "state_dir": "state", "custody": {"exports": str(folder)},
            "products": {p: {"attestor": a} for p, a in attestors.items()}, "server": server,
        }))
        self.proc: Launched | subprocess.Popen
        if fresh:
            self.proc = subprocess.Popen([sys.executable, "-m", "stockpile.cli", "reserve", "node", "--config",
                                          str(self.config)], stdout=subprocess.PIPE,
                                         stderr=open(self.dir / "stderr.log", "wb"), env=env, cwd=ROOT)  # noqa: SIM115
        else:
            (self.dir / "stderr.log").write_bytes(b"")
            self.proc = launch(["reserve", "node", "--config", self.config], env=env, log=self.dir / "stderr.log",
                               capture_stdout=True, cwd=ROOT)

    def ready(self) -> NodeProcess:
        """Wait for the line the node prints once it listens (URL and signer address)."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"node {self.name} did not start: {(self.dir / 'stderr.log').read_text()[-2000:]}")
        info = json.loads(line)
        self.url, self.signer = info["url"], info["signer"]
        return self

    def health(self) -> dict:
        return httpx.get(self.url + "/health", timeout=5, verify=self.verify()).json()

    def verify(self):
        import ssl

        return ssl.create_default_context(cafile=str(self.ca)) if self.ca else True

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def chain_time(w3):
    return w3.eth.get_block("latest")["timestamp"]


# quorum -> the product attested under it: the same three nodes attest both products, one
# ReserveAttestor each (2-of-3 for NDPR-OXIDE, 3-of-3 for DY-METAL)
PRODUCTS = {2: PRODUCT, 3: "DY-METAL"}


@pytest.fixture(scope="module")
def contracts(w3, anvil_keys):
    """Two ReserveAttestors for the same three attestor keys: quorum 2 and quorum 3."""
    signers = [a.address for a in ATTESTORS]
    return {q: deploy_reserve_attestor(w3, anvil_keys[0], PRODUCTS[q], 18, signers, q) for q in (2, 3)}


@pytest.fixture(scope="module")
def world(tmp_path_factory, anvil, contracts, chain_time):
    """Custody books and nodes; node b serves TLS (a self-signed certificate) and holds its key in a keystore."""
    yield from _world(tmp_path_factory, anvil, contracts, chain_time)


def _self_signed(d: Path) -> tuple[Path, Path]:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
                   check=True, capture_output=True)
    return d / "cert.pem", d / "key.pem"


def _world(tmp_path_factory, anvil, contracts, chain_time):
    """Custody books (node c's copy tampered for both products), nodes a, b, c and an outsider as subprocesses."""
    work = tmp_path_factory.mktemp("attestor-nodes")
    as_of = chain_time - 60
    books = custody_folder(work / "books", as_of)
    folders = {"a": copy_folder(books, work / "custody-a"), "b": copy_folder(books, work / "custody-b"),
               "c": copy_folder(books, work / "custody-c")}
    tampered = {q: tamper_quantity(folders["c"], PRODUCTS[q]) for q in PRODUCTS}
    lots, lots_files = {}, {}
    for q, product in PRODUCTS.items():
        lots[q] = reserve_lots(books, product, as_of)
        lots_files[q] = work / f"lots-{product}.json"
        lots_files[q].write_text(json.dumps([lot.model_dump() for lot in lots[q]]))
    report = work / "report.txt"
    report.write_text(f"custody report as of {as_of}\n")
    attestors = {PRODUCTS[q]: c.address for q, c in contracts.items()}
    started: list[NodeProcess] = []
    try:
        nodes = {}
        tls = _self_signed(work)
        for i, n in enumerate("abc"):
            nodes[n] = NodeProcess(f"custodian-{n}", folders[n], ATTESTOR_KEYS[i], anvil.url, attestors, work,
                                   tls=tls if n == "b" else None, keystore=n == "b")
            started.append(nodes[n])
        # a node with correct books but a key that is not one of the contracts' attestors
        outsider = NodeProcess("custodian-outsider", folders["a"], OUTSIDER_KEY, anvil.url, attestors, work, fresh=True)
        started.append(outsider)
        for node in started:  # started in parallel, then waited for
            node.ready()
        yield {"work": work, "as_of": as_of, "lots": lots, "lots_files": lots_files, "report": report, "nodes": nodes,
               "tampered": tampered, "outsider": outsider}
    finally:
        for node in started:
            node.proc.terminate()
        for node in started:
            node.stop()
        node_launch.shutdown()  # the node launcher: stopped and waited for (its CPU counts as this module's)


def nodes_yaml(path: Path, refs: list[dict], deadline: float = 15.0) -> Path:
    path.write_text(yaml.safe_dump({"deadline_seconds": deadline, "nodes": refs}))
    return path


def ref(node: NodeProcess, with_address: bool = True) -> dict:
    out = {"name": node.name, "url": node.url, "token_env": "NODE_TOKEN"}
    if node.ca:
        out["ca_file"] = str(node.ca)
    if with_address:
        out["address"] = node.signer
    return out


def run_attest(world, q, contract, nodes_file: Path, anvil, anvil_keys, state: Path, as_of: int | None = None):
    runner = CliRunner(mix_stderr=False)
    args = [str(world["lots_files"][q]), "--as-of", str(as_of or world["as_of"]), "--report", str(world["report"]),
            "--rpc-url", anvil.url, "--attestor", contract.address, "--nodes", str(nodes_file), "--account", "env:RELAYER_KEY",
            "--state", str(state)]
    return runner.invoke(reserve, ["attest", *args], env={"NODE_TOKEN": TOKEN, "RELAYER_KEY": anvil_keys[1]},
                         catch_exceptions=False)


def test_tampered_node_refuses_naming_the_lot_and_two_of_three_attest(w3, anvil, anvil_keys, contracts, world):
    contract = contracts[2]
    nodes = world["nodes"]
    assert nodes["b"].url.startswith("https://")  # over TLS, trusted through ca_file
    nf = nodes_yaml(world["work"] / "nodes.yaml", [ref(n) for n in nodes.values()])
    result = run_attest(world, 2, contract, nf, anvil, anvil_keys, world["work"] / "attest-q2.db")
    assert result.exit_code == 0, result.stderr + result.stdout
    out = json.loads(result.stdout)
    assert out["submitted"] is True
    assert sorted(s["node"] for s in out["signed_by"]) == [nodes["a"].name, nodes["b"].name]
    (refused,) = out["not_signed"]
    warehouse, lot_id, _ = world["tampered"][2]
    assert refused["node"] == nodes["c"].name and refused["reason"] == "custody_mismatch"
    assert f"{warehouse}/{lot_id}" in refused["detail"] and "quantity" in refused["detail"]
    assert f"{nodes['c'].name}: refused (custody_mismatch)" in result.stderr and lot_id in result.stderr

    att, round_id, _ = contract.functions.latestAttestation().call()
    on_chain = Attestation.from_chain(att)
    expected = Attestation.of_lots(world["lots"][2], world["as_of"], on_chain.report_hash)
    assert round_id == out["round"] == 1
    assert (on_chain.merkle_root, on_chain.total_quantity, on_chain.lot_count) == (
        expected.merkle_root, expected.total_quantity, expected.lot_count)
    signers = attest_tx_signers(w3, w3.eth.chain_id, contract.address, out["tx"])
    assert sorted(signers) == sorted([nodes["a"].signer, nodes["b"].signer])
    assert nodes["c"].health()["signed"] == 0
    assert nodes["a"].health()["signed"] >= 1


def test_without_quorum_nothing_is_submitted(anvil, anvil_keys, contracts, world):
    contract = contracts[3]
    nodes = world["nodes"]
    nf = nodes_yaml(world["work"] / "nodes-q3.yaml", [ref(n) for n in nodes.values()])
    result = run_attest(world, 3, contract, nf, anvil, anvil_keys, world["work"] / "attest-q3.db")
    assert result.exit_code == 1, result.stderr + result.stdout
    out = json.loads(result.stdout)
    assert out["submitted"] is False and out["reason"] == "quorum_not_met" and out["quorum"] == 3
    (refused,) = out["not_signed"]
    assert refused["node"] == nodes["c"].name and refused["reason"] == "custody_mismatch"
    assert world["tampered"][3][1] in refused["detail"]
    assert "nothing submitted" in result.stderr
    assert contract.functions.latestRoundId().call() == 0


def _post(node: NodeProcess, body: bytes, token: str | None = TOKEN, ctype="application/json") -> httpx.Response:
    headers = {"Content-Type": ctype}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(node.url + "/attest", content=body, headers=headers, timeout=10, verify=node.verify())


def _good_body(world, q, contract) -> dict:
    from stockpile.reserve.custodian import AttestationRequest
    from stockpile.reserve.models import report_hash

    att = Attestation.of_lots(world["lots"][q], world["as_of"] + 1, report_hash(world["report"].read_bytes()))
    req = AttestationRequest(product=PRODUCTS[q], chain_id=31337, attestor=contract.address,
                             config_digest=bytes(contract.functions.configDigest().call()),
                             deadline=world["as_of"] + 86400, attestation=att, lots=world["lots"][q])
    return json.loads(req.model_dump_json())


def test_bad_requests_are_refused_clearly_and_change_nothing(contracts, world):
    node = world["nodes"]["a"]
    before = node.health()["signed"]
    good = _good_body(world, 3, contracts[3])

    r = _post(node, json.dumps(good).encode(), token=None)
    assert (r.status_code, r.json()["refused"]) == (401, "unauthenticated")
    r = _post(node, json.dumps(good).encode(), token="not-the-token")
    assert (r.status_code, r.json()["refused"]) == (401, "unauthenticated")
    r = _post(node, json.dumps({**good, "chain_id": 1}).encode())
    assert (r.status_code, r.json()["refused"]) == (409, "wrong_chain")
    assert "31337" in r.json()["detail"]
    r = _post(node, json.dumps({**good, "attestor": contracts[2].address}).encode())
    assert (r.status_code, r.json()["refused"]) == (409, "wrong_contract")
    r = _post(node, json.dumps({**good, "config_digest": "0x" + "00" * 32}).encode())
    assert (r.status_code, r.json()["refused"]) == (409, "wrong_config")
    r = _post(node, b'{"product": "NDPR-OXIDE", "chain_id": ')
    assert (r.status_code, r.json()["refused"]) == (400, "malformed_json")
    r = _post(node, json.dumps({**good, "deadline": "soon"}).encode())
    assert (r.status_code, r.json()["refused"]) == (400, "bad_request")
    assert "deadline" in r.json()["detail"]
    r = _post(node, b"x" * (300 * 1024))
    assert (r.status_code, r.json()["refused"]) == (413, "body_too_large")

    assert node.health()["signed"] == before
    metrics = httpx.get(node.url + "/metrics", timeout=5).text
    assert 'stockpile_attestor_refused_total{product="DY-METAL",reason="wrong_chain"} 1.0' in metrics
    # the node still serves a good request afterwards
    r = _post(node, json.dumps(good).encode())
    assert r.status_code == 200, r.text
    assert node.health()["signed"] == before + 1


class _FakeNode:
    """A misbehaving node on loopback: ``garbage`` answers non-JSON, ``slow`` answers after a delay."""

    def __init__(self, mode: str, delay: float = 0.0):
        outer = self
        self.release = threading.Event()

        class H(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if mode == "slow":
                    outer.release.wait(delay)
                body = b"<html>surprise</html>" if mode == "garbage" else b'{"signer": "0x1", "signature": "0x00"}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def test_down_slow_garbage_and_unregistered_nodes_are_named(w3, anvil, anvil_keys, contracts, world):
    contract = contracts[2]
    honest = world["nodes"]
    outsider = world["outsider"]
    garbage, slow = _FakeNode("garbage"), _FakeNode("slow", delay=30)
    try:
        refs = [ref(honest["a"]), ref(honest["b"]), ref(outsider, with_address=False),
                {"name": "down", "url": f"http://127.0.0.1:{free_port()}", "token_env": "NODE_TOKEN"},
                {"name": "garbage", "url": garbage.url, "token_env": "NODE_TOKEN"},
                {"name": "slow", "url": slow.url, "token_env": "NODE_TOKEN"}]
        nf = nodes_yaml(world["work"] / "nodes-mixed.yaml", refs, deadline=4.0)
        started = time.monotonic()
        result = run_attest(world, 2, contract, nf, anvil, anvil_keys, world["work"] / "attest-mixed.db",
                            as_of=world["as_of"] + 5)
        took = time.monotonic() - started
    finally:
        garbage.stop()
        slow.stop()
    assert result.exit_code == 0, result.stderr + result.stdout
    out = json.loads(result.stdout)
    assert sorted(s["node"] for s in out["signed_by"]) == [honest["a"].name, honest["b"].name]
    kinds = {f["node"]: f["kind"] for f in out["not_signed"]}
    assert kinds == {"custodian-outsider": "unregistered", "down": "down", "garbage": "garbage", "slow": "slow"}
    assert Account.from_key(OUTSIDER_KEY).address in next(f["detail"] for f in out["not_signed"]
                                                          if f["node"] == "custodian-outsider")
    assert took < 30  # the slow node was not waited for past the collection deadline
    assert sorted(attest_tx_signers(w3, w3.eth.chain_id, contract.address, out["tx"])) == sorted(
        [honest["a"].signer, honest["b"].signer])


def test_crash_after_broadcast_does_not_submit_twice(w3, anvil, anvil_keys, contracts, world, monkeypatch):
    """The transmitter dies right after broadcasting (the node got the transaction, the process never
    saw the receipt): the rerun finds the recorded transaction and sends nothing new."""
    from stockpile.sdk.transactions import Sender

    contract = contracts[2]
    nodes = world["nodes"]
    nf = nodes_yaml(world["work"] / "nodes-crash.yaml", [ref(nodes["a"]), ref(nodes["b"])])
    state = world["work"] / "attest-crash.db"
    as_of = world["as_of"] + 10
    real_broadcast = Sender.broadcast

    def broadcast_then_die(self, sent):
        real_broadcast(self, sent)
        raise SystemExit("killed after broadcast")

    monkeypatch.setattr(Sender, "broadcast", broadcast_then_die)
    crashed = run_attest(world, 2, contract, nf, anvil, anvil_keys, state, as_of)
    assert crashed.exit_code != 0
    monkeypatch.setattr(Sender, "broadcast", real_broadcast)
    rounds_before = contract.functions.latestRoundId().call()

    again = run_attest(world, 2, contract, nf, anvil, anvil_keys, state, as_of)
    assert again.exit_code == 0, again.stderr + again.stdout
    out = json.loads(again.stdout)
    assert out["resumed"] is True
    assert contract.functions.latestRoundId().call() == rounds_before
    events = contract.events.ReserveAttested().get_logs(from_block=0)
    assert sum(1 for e in events if e.args.asOf == as_of) == 1


def test_local_signers_mode_still_works_and_warns(w3, anvil, anvil_keys, contracts, world):
    contract = contracts[2]
    runner = CliRunner(mix_stderr=False)
    as_of = world["as_of"] + 20
    args = ["attest", str(world["lots_files"][2]), "--as-of", str(as_of), "--report", str(world["report"]),
            "--rpc-url", anvil.url, "--attestor", contract.address, "--local-signers", "env:K0,env:K2",
            "--account", "env:RELAYER_KEY", "--state", str(world["work"] / "attest-local.db")]
    env = {"K0": ATTESTOR_KEYS[0], "K2": ATTESTOR_KEYS[2], "RELAYER_KEY": anvil_keys[1]}
    result = runner.invoke(reserve, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr + result.stdout
    assert "--local-signers holds every attestor key in this process" in result.stderr
    out = json.loads(result.stdout)
    assert sorted(attest_tx_signers(w3, w3.eth.chain_id, contract.address, out["tx"])) == sorted(
        [ATTESTORS[0].address, ATTESTORS[2].address])
    # the same as-of again: refused before anything is asked or sent
    again = runner.invoke(reserve, [*args[:-2], "--state", str(world["work"] / "attest-local-2.db")], env=env)
    assert again.exit_code == 1 and "is not newer: nothing submitted" in again.stderr


def test_node_sigkilled_after_signing_never_signs_another_list_for_that_as_of(anvil, contracts, world):
    """Signed, SIGKILLed, its books changed, restarted on the same state: the other list for the same
    as-of is refused (already_signed), and the first one no longer matches its books either."""
    import signal

    from stockpile.reserve.custodian import AttestationRequest
    from stockpile.reserve.models import report_hash

    contract = contracts[2]
    folder = copy_folder(world["work"] / "books", world["work"] / "custody-killed")
    attestors = {PRODUCT: contract.address}
    as_of = world["as_of"] + 30

    def body(lots) -> bytes:
        att = Attestation.of_lots(lots, as_of, report_hash(world["report"].read_bytes()))
        req = AttestationRequest(product=PRODUCT, chain_id=31337, attestor=contract.address,
                                 config_digest=bytes(contract.functions.configDigest().call()),
                                 deadline=as_of + 86400, attestation=att, lots=lots)
        return req.model_dump_json().encode()

    node = NodeProcess("custodian-killed", folder, ATTESTOR_KEYS[0], anvil.url, attestors, world["work"]).ready()
    try:
        first = _post(node, body(world["lots"][2]))
        assert first.status_code == 200, first.text
        node.proc.send_signal(signal.SIGKILL)
        node.proc.wait(10)
        tamper_quantity(folder)
        node = NodeProcess("custodian-killed", folder, ATTESTOR_KEYS[0], anvil.url, attestors, world["work"]).ready()
        other = _post(node, body(reserve_lots(folder, PRODUCT, as_of)))
        assert (other.status_code, other.json()["refused"]) == (409, "already_signed")
        assert other.json()["details"]["signed"]["merkle_root"] == first.json()["attestation"]["merkle_root"]
        again = _post(node, body(world["lots"][2]))
        assert (again.status_code, again.json()["refused"]) == (409, "custody_mismatch")
        assert node.health()["signed"] == 1
    finally:
        node.stop()


def test_crash_between_record_and_broadcast_resumes_the_recorded_transaction(w3, anvil, anvil_keys, contracts, world,
                                                                             monkeypatch):
    """The transmitter dies after recording the signed transaction but before sending it: the rerun
    sends those very bytes (same hash), collects nothing anew, and the round lands once."""
    from stockpile.reserve.collect import SubmissionLog
    from stockpile.sdk.transactions import Sender

    contract = contracts[2]
    nodes = world["nodes"]
    nf = nodes_yaml(world["work"] / "nodes-crash-2.yaml", [ref(nodes["a"]), ref(nodes["b"])])
    state = world["work"] / "attest-crash-2.db"
    as_of = world["as_of"] + 40
    real_broadcast = Sender.broadcast

    def die(self, sent):
        raise SystemExit("killed before broadcast")

    monkeypatch.setattr(Sender, "broadcast", die)
    assert run_attest(world, 2, contract, nf, anvil, anvil_keys, state, as_of).exit_code != 0
    recorded = SubmissionLog(state).find(31337, contract.address, as_of)
    assert recorded is not None
    assert not any(e.args.asOf == as_of for e in contract.events.ReserveAttested().get_logs(from_block=0))
    monkeypatch.setattr(Sender, "broadcast", real_broadcast)
    signed_before = nodes["a"].health()["signed"]

    again = run_attest(world, 2, contract, nf, anvil, anvil_keys, state, as_of)
    assert again.exit_code == 0, again.stderr + again.stdout
    out = json.loads(again.stdout)
    assert out["resumed"] is True and out["tx"] == recorded[0]
    assert nodes["a"].health()["signed"] == signed_before  # nothing asked again
    assert sum(1 for e in contract.events.ReserveAttested().get_logs(from_block=0) if e.args.asOf == as_of) == 1
