"""``stockpile reserve``: build, sign, submit and inspect reserve attestations."""

from __future__ import annotations

import csv
import json
import os
import sys
from datetime import datetime, UTC
from pathlib import Path

import click


def _parse_time(ctx, param, value: str | None) -> int | None:
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise click.BadParameter(f"{value!r}: give a time zone (e.g. 2026-11-21T12:00:00Z) or unix seconds")
    return int(dt.astimezone(UTC).timestamp())


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
        rows = json.loads(path.read_text(encoding="utf-8"))
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


def _account(key_env: str | None, keystore: Path | None, password_env: str | None):
    from eth_account import Account

    if key_env:
        key = os.environ.get(key_env)
        if not key:
            raise click.UsageError(f"environment variable {key_env} is empty")
        return Account.from_key(key)
    if keystore:
        password = os.environ.get(password_env or "", None)
        if password is None:
            password = click.prompt(f"password for {keystore}", hide_input=True)
        return Account.from_key(Account.decrypt(json.loads(keystore.read_text()), password))
    raise click.UsageError("give --key-env VAR or --keystore FILE")


_key_options = [
    click.option("--key-env", help="environment variable holding the private key"),
    click.option("--keystore", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="encrypted keystore"),
    click.option("--password-env", help="environment variable holding the keystore password (else prompted)"),
]


def key_options(f):
    for opt in reversed(_key_options):
        f = opt(f)
    return f


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


def _config_digest(config_digest: str | None, rpc: str | None, contract: str) -> bytes:
    if config_digest:
        raw = config_digest.removeprefix("0x")
        try:
            value = bytes.fromhex(raw)
        except ValueError:
            value = b""
        if len(value) != 32:
            raise click.BadParameter(f"--config-digest: expected 32 bytes of hex, got {config_digest!r}")
        return value
    if not rpc:
        raise click.UsageError("give --config-digest (the ReserveAttestor's configDigest()) or --rpc to read it")
    from web3 import Web3

    from stockpile.contracts import load

    w3 = Web3(Web3.HTTPProvider(rpc))
    feed = w3.eth.contract(address=Web3.to_checksum_address(contract), abi=load("ReserveAttestor").abi)
    return bytes(feed.functions.configDigest().call())


@reserve.command("sign")
@click.argument("attestation_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--chain-id", type=int, required=True)
@click.option("--contract", "contract", required=True, help="the product's ReserveAttestor address")
@click.option("--config-digest", help="the ReserveAttestor's configDigest() to sign under (else read with --rpc)")
@click.option("--rpc", help="JSON-RPC URL to read the config digest from")
@click.option("--deadline", callback=_parse_time,
              help="last time the signature is accepted: unix seconds or ISO 8601 (default: as-of + 7 days)")
@key_options
def sign_cmd(attestation_file: Path, chain_id: int, contract: str, config_digest, rpc, deadline,
             key_env, keystore, password_env) -> None:
    """Sign an attestation (EIP-712) as an attestor, under the attestor set's config digest and a
    deadline; prints {"signer", "signature", "config_digest", "deadline"}."""
    from stockpile.reserve.models import Attestation
    from stockpile.reserve.signing import default_deadline, sign_attestation

    att = Attestation.model_validate_json(attestation_file.read_text())
    digest = _config_digest(config_digest, rpc, contract)
    deadline = default_deadline(att) if deadline is None else deadline
    signed = sign_attestation(_account(key_env, keystore, password_env), chain_id, contract, att, digest, deadline)
    click.echo(json.dumps({"signer": signed.signer, "signature": "0x" + signed.signature.hex(),
                           "config_digest": "0x" + digest.hex(), "deadline": deadline}))


@reserve.command("submit")
@click.argument("attestation_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("signature_files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--rpc", required=True, help="JSON-RPC URL")
@click.option("--contract", "contract", required=True, help="the product's ReserveAttestor address")
@key_options
def submit_cmd(attestation_file, signature_files, rpc, contract, key_env, keystore, password_env) -> None:
    """Submit an attestation with its signatures (any account may submit: the signatures carry the authority)."""
    from web3 import Web3

    from stockpile.contracts import load
    from stockpile.reserve.signing import submit_attestation
    from stockpile.reserve.models import Attestation
    from stockpile.reserve.signing import SignedAttestation, order_signatures, recover_signer

    w3 = Web3(Web3.HTTPProvider(rpc))
    att = Attestation.model_validate_json(attestation_file.read_text())
    feed = w3.eth.contract(address=Web3.to_checksum_address(contract), abi=load("ReserveAttestor").abi)
    signed, terms = [], None
    for f in signature_files:
        d = json.loads(Path(f).read_text())
        try:
            sig = bytes.fromhex(d["signature"].removeprefix("0x"))
            these = (bytes.fromhex(d["config_digest"].removeprefix("0x")), int(d["deadline"]))
        except (KeyError, ValueError, TypeError, AttributeError):
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
    receipt = submit_attestation(w3, _account(key_env, keystore, password_env), feed, att, terms[0], terms[1],
                                 order_signatures(signed))
    (ev,) = feed.events.ReserveAttested().process_receipt(receipt)
    click.echo(json.dumps({"round": ev.args.roundId, "tx": "0x" + receipt.transactionHash.hex().removeprefix("0x"),
                           "gas": receipt.gasUsed}))


def proof_from_dump(dump: dict, index: int) -> list[str]:
    """The proof of ``values[index]`` from an OpenZeppelin ``standard-v1`` dump (ours or @openzeppelin/merkle-tree's)."""
    tree = dump["tree"]
    i = dump["values"][index]["treeIndex"]
    proof = []
    while i > 0:
        proof.append(tree[i - 1] if i % 2 == 0 else tree[i + 1])
        i = (i - 1) // 2
    return proof


@reserve.command("proof")
@click.argument("tree_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("lot_id")
@click.option("--warehouse", help="warehouse id, when the lot id alone is ambiguous")
@click.option("--rpc", help="JSON-RPC URL: also verify on chain against the latest attested root")
@click.option("--contract", "contract", help="the product's ReserveAttestor address (with --rpc)")
def proof_cmd(tree_file: Path, lot_id: str, warehouse: str | None, rpc: str | None, contract: str | None) -> None:
    """Print the Merkle proof of LOT_ID from a tree dump (--tree-out, or @openzeppelin/merkle-tree's dump);
    with --rpc/--contract, verify it on chain (exit 1 when the lot is not in the attested reserve)."""
    from stockpile.merkle import lot_leaf, verify_proof
    from stockpile.merkle.lots import LOT_LEAF_TYPES

    dump = json.loads(tree_file.read_text())
    if dump.get("format") != "standard-v1" or dump.get("leafEncoding") != LOT_LEAF_TYPES:
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
    if rpc:
        if not contract:
            raise click.UsageError("--rpc needs --contract")
        from web3 import Web3

        from stockpile.contracts import load

        w3 = Web3(Web3.HTTPProvider(rpc))
        feed = w3.eth.contract(address=Web3.to_checksum_address(contract), abi=load("ReserveAttestor").abi)
        out["on_chain"] = bool(feed.functions.verifyLot(*value, proof).call())
        out["round"] = feed.functions.latestRoundId().call()
    click.echo(json.dumps(out, indent=2))
    if rpc and not out["on_chain"]:
        raise SystemExit(1)


@reserve.command("status")
@click.option("--rpc", required=True, help="JSON-RPC URL")
@click.option("--contract", "contract", required=True, help="the product's ReserveAttestor address")
def status_cmd(rpc: str, contract: str) -> None:
    """Print the latest attestation of a ReserveAttestor (JSON)."""
    from web3 import Web3

    from stockpile.contracts import load
    from stockpile.reserve.models import Attestation

    w3 = Web3(Web3.HTTPProvider(rpc))
    feed = w3.eth.contract(address=Web3.to_checksum_address(contract), abi=load("ReserveAttestor").abi)
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


if __name__ == "__main__":  # pragma: no cover
    reserve(sys.argv[1:])
