"""``stockpile reserve``: build, sign, submit and inspect reserve attestations."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import NoReturn

import click

from stockpile.cli import options


def _parse_time(ctx, param, value: str | None) -> int | None:
    from stockpile.core.times import parse_time

    if value is None:
        return None
    try:
        return parse_time(value, assume_utc=False)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def read_lots(path: Path):
    """Lots from JSON (a list of objects with the Lot fields) or CSV (a header with the Lot fields).

    Raises click.BadParameter naming the row that does not validate."""
    from pydantic import ValidationError

    from stockpile.merkle import Lot

    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        first_row = 2  # the header is line 1
    else:
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise click.BadParameter(f"{path}: not a JSON lot list ({exc})") from None
        if isinstance(rows, dict):
            rows = rows.get("lots", [])
        first_row = 0
    lots = []
    for i, row in enumerate(rows):
        try:
            lots.append(Lot.model_validate(row))
        except ValidationError as e:
            where = f"line {i + first_row}" if first_row else f"item {i}"
            raise click.BadParameter(f"{path}: {where}: {e.errors()[0]['loc']}: {e.errors()[0]['msg']}") from e
    if not lots:
        raise click.BadParameter(f"{path}: no lots")
    return lots


def _attestation(path: Path):
    """The attestation of `stockpile reserve attestation` in ``path``, or one line naming the file."""
    from pydantic import ValidationError

    from stockpile.reserve.models import Attestation

    try:
        return Attestation.model_validate_json(path.read_text())
    except (ValidationError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"{path}: not an attestation of `stockpile reserve attestation` "
                                 f"({exc.errors()[0]['msg'] if isinstance(exc, ValidationError) else exc})") from None


def _account(account_spec: str):
    return options.load_account(account_spec)


def _attestor(rpc_url: str, attestor: str, chain_id: int | None = None):
    """The ReserveAttestor at ``attestor`` on the node at ``rpc_url`` (web3, contract), or one line naming
    what is wrong: the node unreachable, the wrong chain, no ReserveAttestor at that address."""
    w3 = options.connect_rpc(rpc_url, chain_id, allow_mainnet=True).w3
    return w3, options.expect_contract(w3, attestor, "ReserveAttestor", "configDigest", "ReserveAttestor")


@click.group()
def reserve() -> None:
    """Reserve attestations: lot trees, attestor signatures, the on-chain ReserveAttestor."""


@reserve.command("attestation")
@click.argument("lots_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as-of", "as_of", required=True, callback=_parse_time, help="custodian snapshot time: unix seconds or ISO 8601 with zone")
@click.option("--report", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="the custodian's full report (its keccak256 is the report hash)")
@click.option("--tree-out", type=click.Path(dir_okay=False, path_type=Path),
              help="also write the tree (OpenZeppelin standard-v1 JSON) for lot proofs")
def attestation_cmd(lots_file: Path, as_of: int, report: Path, tree_out: Path | None) -> None:
    """Build the lot tree of LOTS_FILE and print the attestation to sign (JSON)."""
    from stockpile.merkle import lot_tree
    from stockpile.reserve.models import Attestation, report_hash

    tree = lot_tree(read_lots(lots_file))
    att = Attestation.of_tree(tree, as_of, report_hash(report.read_bytes()))
    if tree_out:
        tree_out.write_text(tree.dumps())
    click.echo(att.model_dump_json(indent=2))


def _config_digest(config_digest: str | None, rpc_url: str | None, attestor: str, chain_id: int) -> bytes:
    if config_digest:
        raw = config_digest.removeprefix("0x")
        try:
            value = bytes.fromhex(raw)
        except ValueError:
            value = b""
        if len(value) != 32:
            raise click.BadParameter(f"--config-digest: expected 32 bytes of hex, got {config_digest!r}")
        return value
    if not rpc_url:
        raise click.UsageError("give --config-digest (the ReserveAttestor's configDigest()) or --rpc-url to read it")
    _, feed = _attestor(rpc_url, attestor, chain_id)
    return bytes(feed.functions.configDigest().call())


@reserve.command("sign")
@click.argument("attestation_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--chain-id", type=int, required=True,
              help="chain the attestation is for (signed; with --rpc-url the node must answer it)")
@options.address_option("--attestor", "the product's ReserveAttestor")
@click.option("--config-digest", help="the ReserveAttestor's configDigest() to sign under (else read with --rpc-url)")
@options.rpc_url_option(required=False, help="node to read the config digest from")
@click.option("--deadline", callback=_parse_time,
              help="last time the signature is accepted: unix seconds or ISO 8601 (default: as-of + 7 days)")
@options.account_option(required=True, help="attestor")
def sign_cmd(attestation_file: Path, chain_id: int, attestor: str, config_digest, rpc_url, deadline,
             account_spec) -> None:
    """Sign an attestation (EIP-712) as an attestor, under the attestor set's config digest and a
    deadline; prints {"signer", "signature", "config_digest", "deadline"}."""
    from stockpile.reserve.signing import default_deadline, sign_attestation

    att = _attestation(attestation_file)
    digest = _config_digest(config_digest, rpc_url, attestor, chain_id)
    deadline = default_deadline(att) if deadline is None else deadline
    signed = sign_attestation(_account(account_spec), chain_id, attestor, att, digest, deadline)
    click.echo(json.dumps({"signer": signed.signer, "signature": "0x" + signed.signature.hex(),
                           "config_digest": "0x" + digest.hex(), "deadline": deadline}))


@reserve.command("submit")
@click.argument("attestation_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("signature_files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@options.network_options()
@options.address_option("--attestor", "the product's ReserveAttestor")
@options.account_option(required=True, help="account that sends the transaction")
def submit_cmd(attestation_file, signature_files, rpc_url, chain_id, allow_mainnet, attestor, account_spec) -> None:
    """Submit an attestation with its signatures (any account may submit: the signatures carry the authority)."""
    from stockpile.reserve.signing import submit_attestation
    from stockpile.reserve.signing import SignedAttestation, order_signatures, recover_signer

    att = _attestation(attestation_file)
    account = _account(account_spec)
    w3, feed = _attestor(rpc_url, attestor, chain_id)
    contract = attestor
    signed, terms = [], None
    for f in signature_files:
        try:
            d = json.loads(Path(f).read_text())
            sig = bytes.fromhex(d["signature"].removeprefix("0x"))
            these = (bytes.fromhex(d["config_digest"].removeprefix("0x")), int(d["deadline"]))
        except (KeyError, ValueError, TypeError, AttributeError, UnicodeDecodeError):
            raise click.BadParameter(f"{f}: not a signature file of `stockpile reserve sign`") from None
        if terms is not None and these != terms:
            raise click.BadParameter(f"{f}: signed under another config digest or deadline than the other files")
        terms = these
        if recover_signer(w3.eth.chain_id, contract, att, *terms, sig).lower() != d["signer"].lower():
            raise click.BadParameter(f"{f}: signature is not {d['signer']}'s over this attestation, chain and contract")
        signed.append(SignedAttestation(d["signer"], sig))
    assert terms is not None  # signature_files is required: the loop ran at least once
    current = bytes(feed.functions.configDigest().call())
    if terms[0] != current:
        raise click.BadParameter(f"signed under config digest 0x{terms[0].hex()}, the attestor's is now 0x{current.hex()} "
                                 "(attestor set or quorum changed): sign again")
    receipt = submit_attestation(w3, account, feed, att, terms[0], terms[1],
                                 order_signatures(signed))
    (ev,) = feed.events.ReserveAttested().process_receipt(receipt)
    click.echo(json.dumps({"round": ev.args.roundId, "tx": "0x" + receipt.transactionHash.hex().removeprefix("0x"),
                           "gas": receipt.gasUsed}))


@reserve.command("proof")
@click.argument("tree_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("lot_id")
@click.option("--warehouse", help="warehouse id, when the lot id alone is ambiguous")
@options.rpc_url_option(required=False, help="also verify on chain against the latest attested root")
@options.address_option("--attestor", "the product's ReserveAttestor (with --rpc-url)", required=False)
def proof_cmd(tree_file: Path, lot_id: str, warehouse: str | None, rpc_url: str | None, attestor: str | None) -> None:
    """Print the Merkle proof of LOT_ID from a tree dump (--tree-out, or @openzeppelin/merkle-tree's dump);
    with --rpc-url/--attestor, verify it on chain (exit 1 when the lot is not in the attested reserve)."""
    from stockpile.merkle import lot_leaf, verify_proof
    from stockpile.merkle.lots import LOT_LEAF_TYPES
    from stockpile.merkle.tree import proof_from_dump

    try:
        dump = json.loads(tree_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"{tree_file}: not a JSON tree dump ({exc})") from None
    if not isinstance(dump, dict) or dump.get("format") != "standard-v1" or dump.get("leafEncoding") != LOT_LEAF_TYPES:
        raise click.BadParameter(f"{tree_file}: not a lot tree dump (standard-v1 with the lot leaf encoding)")
    matches = [i for i, v in enumerate(dump["values"])
               if v["value"][1] == lot_id and (warehouse is None or v["value"][0] == warehouse)]
    if len(matches) != 1:
        raise click.BadParameter(f"{lot_id}: {'not in' if not matches else 'ambiguous in'} {tree_file}"
                                 + ("" if not matches else " (give --warehouse)"))
    index = matches[0]
    value = list(dump["values"][index]["value"])
    value[4], value[5] = int(value[4]), int(value[5])
    proof = proof_from_dump(dump, index)
    leaf = lot_leaf(value)
    root = bytes.fromhex(dump["tree"][0][2:])
    if not verify_proof(leaf, [bytes.fromhex(p[2:]) for p in proof], root):
        raise click.BadParameter(f"{tree_file}: the dump is inconsistent (proof of {lot_id} does not reach its root)")
    out = {"lot": dict(zip(["warehouse_id", "lot_id", "product_code", "form", "purity_ppm", "quantity", "assay_ref"], value)),
           "leaf": "0x" + leaf.hex(), "root": dump["tree"][0], "proof": proof}
    if attestor:
        if not rpc_url:
            raise click.UsageError("--attestor needs --rpc-url")
        _, feed = _attestor(rpc_url, attestor)
        out["on_chain"] = bool(feed.functions.verifyLot(*value, proof).call())
        out["round"] = feed.functions.latestRoundId().call()
    click.echo(json.dumps(out, indent=2))
    if attestor and not out["on_chain"]:
        raise SystemExit(1)


@reserve.command("status")
@options.network_options()
@options.address_option("--attestor", "the product's ReserveAttestor")
def status_cmd(rpc_url: str, chain_id: int | None, allow_mainnet: bool, attestor: str) -> None:
    """Print the latest attestation of a ReserveAttestor (JSON)."""
    from stockpile.reserve.models import Attestation

    _, feed = _attestor(rpc_url, attestor, chain_id)
    att, round_id, attested_at = feed.functions.latestAttestation().call()
    out = {
        "product": feed.functions.productCode().call(),
        "round": round_id,
        "attested_at": attested_at,
        "quorum": feed.functions.quorum().call(),
        "config_digest": "0x" + bytes(feed.functions.configDigest().call()).hex(),
        "attestors": feed.functions.attestors().call(),
        "attestation": json.loads(Attestation.from_chain(att).model_dump_json()) if round_id else None,
    }
    click.echo(json.dumps(out, indent=2))


def _fail(msg: str, code: int = 2) -> NoReturn:
    click.echo(f"error: {msg}", err=True)
    sys.exit(code)


@reserve.command("node")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="node.yaml (see python/stockpile/reserve/README.md, 'Attestor nodes')")
def node_cmd(config_path: Path) -> None:
    """Run one custodian attestor node: it signs an attestation only when its own custody records give
    the same lots, root, total and count. Prints {"node", "url", "signer"} once it listens."""
    from stockpile.reserve.node import ConfigError, run_node
    from stockpile.sdk.accounts import AccountError

    try:
        run_node(config_path)
    except (ConfigError, AccountError, ValueError, OSError) as exc:
        _fail(str(exc))


def _product_of(lots, product: str | None) -> str:
    codes = sorted({lot.product_code for lot in lots})
    if product is not None and codes != [product]:
        raise click.BadParameter(f"the lots are {', '.join(codes)}, not only {product}")
    if len(codes) != 1:
        raise click.BadParameter(f"the lots are of several products ({', '.join(codes)}): one product per attestation")
    return codes[0]


@reserve.command("attest")
@click.argument("lots_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as-of", "as_of", required=True, callback=_parse_time, help="custodian snapshot time: unix seconds or ISO 8601 with zone")
@click.option("--report", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="the custodian's full report (its keccak256 is the report hash)")
@options.network_options()
@options.address_option("--attestor", "the product's ReserveAttestor")
@click.option("--product", help="product code (default: the lots' product)")
@click.option("--nodes", "nodes_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="nodes.yaml: collect signatures from these attestor nodes (production mode)")
@click.option("--local-signers", help="UNSAFE, devnets only: comma-separated account specs (env:NAME,...) of every "
                                      "attestor key, all held by this process")
@click.option("--deadline", callback=_parse_time, help="last time the signatures are accepted (default: as-of + 7 days)")
@click.option("--collect-timeout", type=float, help="seconds to wait for the nodes (default: nodes.yaml deadline_seconds)")
@click.option("--state", "state_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("reserve-attest.db"),
              show_default=True, help="submission log: the signed transaction is recorded here before it is broadcast")
@options.account_option(required=True, help="account that sends the transaction")
def attest_cmd(lots_file, as_of, report, rpc_url, chain_id, allow_mainnet, attestor, product, nodes_file, local_signers,
               deadline, collect_timeout, state_path, account_spec) -> None:
    """Collect attestor signatures for LOTS_FILE's reserve and submit the attestation once quorum is met.

    With --nodes, every attestor node recomputes the lots from its own custody records and signs only if
    they agree; nodes that are down, slow, refuse, answer garbage or sign with an unregistered key are
    named. Exit 0 submitted (or found submitted by an earlier run), 1 not submitted (quorum not met,
    already attested, refused on chain), 2 bad input."""
    from web3 import Web3

    from stockpile.reserve.collect import (
        NotSubmitted, SubmissionLog, collect_from_nodes, load_nodes_file, resume_pending, sign_locally, submit_once,
    )
    from stockpile.reserve.custodian import AttestationRequest
    from stockpile.reserve.models import Attestation, report_hash
    from stockpile.reserve.signing import default_deadline
    from stockpile.sdk.accounts import AccountError, from_env
    from stockpile.sdk.errors import StockpileError
    from stockpile.sdk.transactions import Sender

    if bool(nodes_file) == bool(local_signers):
        raise click.UsageError("give --nodes nodes.yaml (attestor nodes) or --local-signers (devnets only)")
    lots = read_lots(lots_file)
    product = _product_of(lots, product)
    att = Attestation.of_lots(lots, as_of, report_hash(report.read_bytes()))
    relayer = _account(account_spec)
    conn = options.connect_rpc(rpc_url, chain_id, allow_mainnet)
    w3, chain_id, contract = conn.w3, conn.chain_id, attestor
    feed = options.expect_contract(w3, attestor, "ReserveAttestor", "configDigest", "ReserveAttestor")
    try:
        on_chain_product = feed.functions.productCode().call()
        digest, quorum = bytes(feed.functions.configDigest().call()), feed.functions.quorum().call()
        registered = feed.functions.attestors().call()
        latest, round_id, _at = feed.functions.latestAttestation().call()
    except Exception as exc:
        _fail(f"{contract} is not a ReserveAttestor on chain {chain_id}: {type(exc).__name__}")
    if on_chain_product != product:
        _fail(f"{contract} attests {on_chain_product}, the lots are {product}")
    req = AttestationRequest(product=product, chain_id=chain_id, attestor=feed.address, config_digest=digest,
                             deadline=default_deadline(att) if deadline is None else deadline, attestation=att,
                             lots=lots)
    sender = Sender(w3, relayer)
    log = SubmissionLog(state_path)
    resumed = resume_pending(sender, log, req)
    if resumed is not None:
        (ev,) = feed.events.ReserveAttested().process_receipt(resumed)
        click.echo(json.dumps({"round": ev.args.roundId, "tx": Web3.to_hex(resumed["transactionHash"]), "resumed": True}))
        return
    if round_id and Attestation.from_chain(latest).as_of >= as_of:
        _fail(f"{product} is already attested as of {Attestation.from_chain(latest).as_of} (round {round_id}); "
              f"as-of {as_of} is not newer: nothing submitted", 1)
    if local_signers:
        click.echo("warning: --local-signers holds every attestor key in this process: devnets and tests only",
                   err=True)
        try:
            accounts = [from_env(spec.strip()) for spec in local_signers.split(",") if spec.strip()]
        except AccountError as exc:
            _fail(str(exc))
        collection = sign_locally(accounts, req)
    else:
        from stockpile.nodes import NodeConfigError, Nodes

        try:
            cfg = load_nodes_file(nodes_file)
            nodes = Nodes(cfg.nodes)
        except (ValueError, NodeConfigError) as exc:
            _fail(str(exc))
        with nodes:
            collection = collect_from_nodes(nodes, req, registered, collect_timeout or cfg.deadline_seconds)
    for name, s in sorted(collection.signed.items()):
        click.echo(f"{name}: signed ({s.signer})", err=True)
    for f in sorted(collection.failures.values(), key=lambda f: f.node):
        click.echo(f"{f}", err=True)
    summary = collection.summary()
    try:
        receipt = submit_once(sender, feed, req, collection, quorum, log)
    except NotSubmitted as exc:
        click.echo(json.dumps({"submitted": False, "reason": exc.reason, "quorum": quorum, **summary}))
        _fail(str(exc), 1)
    except StockpileError as exc:
        click.echo(json.dumps({"submitted": False, "reason": "refused_on_chain", "quorum": quorum, **summary}))
        _fail(f"the ReserveAttestor refused the attestation: {exc}", 1)
    (ev,) = feed.events.ReserveAttested().process_receipt(receipt)
    click.echo(json.dumps({"submitted": True, "round": ev.args.roundId, "tx": Web3.to_hex(receipt["transactionHash"]),
                           "gas": receipt["gasUsed"], "quorum": quorum, **summary}))


if __name__ == "__main__":  # pragma: no cover
    reserve(sys.argv[1:])
