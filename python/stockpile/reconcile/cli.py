"""``stockpile reconcile ...``: ingest custody exports, reconcile against the chain, watch."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import click

from stockpile.cli import options
from stockpile.cli.errors import squeeze, user_error

from stockpile.reconcile.breaks.model import Severity
from stockpile.core.jsonconv import default as json_default
from stockpile.errors import StockpileError

if TYPE_CHECKING:  # the CLI imports the run lazily
    from stockpile.reconcile.report.model import ProductSummary, Report

DB_HELP = "database: a SQLite file path or an SQLAlchemy URL (postgresql://...); default ./stockpile-reconcile.db"


def _db(url):
    from stockpile.reconcile.db.store import Database

    return Database(url)


def _catalogue(path):
    from stockpile.reconcile.custody.schema import Catalogue

    return Catalogue.load(path)


def _kv(values: tuple[str, ...], what: str) -> dict[str, int]:
    out = {}
    for v in values:
        k, _, n = v.partition("=")
        if not n.isdigit():
            raise click.BadParameter(f"{what} must look like kind=count, got {v!r}")
        out[k] = int(n)
    return out


@click.group()
def reconcile() -> None:
    """Reconcile custody records (warehouse lot lists) with on-chain supply and attestations."""


@reconcile.command()
@click.argument("exports", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--db", "db_url", default=None, help=DB_HELP)
@click.option("--attested", is_flag=True, help="these files are the lot lists attestations were built from")
@click.option("--decimal-comma/--decimal-point", default=None, help="override the export's decimal separator")
@click.option("--rejects-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="where <export>.rejects.csv goes (default: next to the export)")
@click.option("--catalogue", type=click.Path(exists=True, dir_okay=False), default=None, help="product catalogue JSON")
@click.option("--workers", default=1, show_default=True, help="processes checking rows (large exports, idle cores)")
@click.option("--quiet", is_flag=True, help="no progress bars")
def ingest(exports, db_url, attested, decimal_comma, rejects_dir, catalogue, workers, quiet) -> None:
    """Ingest custody exports (CSV or JSON). Bad rows go to a rejects file; the same file twice changes nothing."""
    from stockpile.reconcile.custody.parse import ExportError, format_time

    db = _db(db_url)
    cat = _catalogue(catalogue)
    failed = False
    for path in exports:
        try:
            r = db.ingest(path, cat, kind="attested" if attested else "custody", rejects_dir=rejects_dir,
                          decimal_comma=decimal_comma, show_progress=not quiet, workers=workers)
        except (ExportError, OSError) as exc:  # one line naming the file (and line); the other files go on
            click.echo(f"{path}: FAILED: {exc}", err=True)
            failed = True
            continue
        if r.duplicate:
            click.echo(f"{path}: already ingested as snapshot {r.snapshot_id} (same content); nothing changed")
            continue
        click.echo(f"{path}: snapshot {r.snapshot_id}, {r.accepted} rows kept, {r.rejected} rejected"
                   + (f" -> {r.rejects_path}" if r.rejects_path else "") + f" ({r.seconds:.1f}s)")
        for code, n in sorted(r.reject_counts.items()):
            click.echo(f"    {code}: {n}")
        for wh, n in sorted(r.warehouses.items()):
            if not n:
                click.echo(f"    warehouse {wh} holds nothing from {format_time(r.as_of)} on (empty export)")
    sys.exit(2 if failed else 0)


def run_options(f):
    opts = [
        options.rpc_url_option(required=False, help="JSON-RPC URL (else rpc_url of the products file)"),
        click.option("--products", "products_file", required=True, type=click.Path(dir_okay=False),
                     help="JSON/YAML: {rpc_url, products: {CODE: {token, attestor, start_block}}} or {rpc_url, directory, start_block}"),
        click.option("--db", "db_url", default=None, help=DB_HELP),
        click.option("--confirmations", default=12, show_default=True, help="read this many blocks behind the head"),
        click.option("--max-log-range", default=10_000, show_default=True, help="largest eth_getLogs block range tried"),
        click.option("--max-attestation-age", default=86_400, show_default=True, help="seconds before an attestation is stale"),
        click.option("--max-redemption-pending", default=3 * 86_400, show_default=True, help="seconds a redemption may stay pending"),
        click.option("--fail-on", default="medium", show_default=True,
                     type=click.Choice([s.name for s in Severity]), help="exit 1 when a break is at least this severe"),
        click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("reconcile-report"),
                     show_default=True, help="report directory (JSON, CSV of breaks, HTML)"),
        click.option("--ingest", "ingest_paths", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="ingest this custody export first (repeatable)"),
        click.option("--catalogue", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="product catalogue JSON (default: the built-in one)"),
        click.option("--quiet", is_flag=True, help="no progress bars"),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _setup(rpc_url, products_file, db_url, confirmations, max_log_range, max_attestation_age, max_redemption_pending,
           fail_on, out_dir, ingest_paths, catalogue, quiet):
    from stockpile.sdk.rpc import connect

    from stockpile.reconcile.breaks.classify import Thresholds
    from stockpile.reconcile.service import RunConfig, load_products

    products, doc = load_products(products_file)
    rpc_url = rpc_url or doc.get("rpc_url")
    if not rpc_url:
        raise SetupError("no RPC URL: --rpc-url, STOCKPILE_RPC_URL or rpc_url in the products file")
    db = _db(db_url)
    cat = _catalogue(catalogue)
    for p in ingest_paths:
        r = db.ingest(p, cat, show_progress=not quiet)  # ExportError: the run fails (exit 2), file and line named
        click.echo(f"{p}: {'already ingested' if r.duplicate else f'{r.accepted} kept, {r.rejected} rejected'}", err=True)
    w3 = connect(rpc_url)
    from stockpile.reconcile.service import resolve_products

    products = resolve_products(w3, products, doc)
    cfg = RunConfig(products=products, confirmations=confirmations, max_log_range=max_log_range,
                    thresholds=Thresholds(max_attestation_age, max_redemption_pending), fail_on=Severity[fail_on],
                    out_dir=out_dir, show_progress=not quiet, baskets=_baskets(doc))
    return db, w3, cfg, cat


def _baskets(doc: dict) -> list[str]:
    """``baskets:`` of the products file: a list of BasketToken addresses, or symbol -> address."""
    baskets = doc.get("baskets") or []
    return list(baskets.values()) if isinstance(baskets, dict) else list(baskets)


class SetupError(StockpileError, RuntimeError):
    """The run cannot start (a bad option combination, no RPC URL)."""


def _setup_or_fail(kw: dict):
    """_setup, or on any failure: the failure report (JSON with the reason, CSV, HTML) in --out, one
    line on stderr, exit 2."""
    from stockpile.reconcile.service import EXIT_FAILED, failed_report, one_line

    try:
        return _setup(**kw)
    except Exception as exc:
        msg = str(exc) if isinstance(exc, SetupError) else (user_error(exc) or one_line(exc))
        report = failed_report(msg, kw.get("out_dir"), Severity[kw.get("fail_on") or "medium"])
        where = f" (report: {report['files']['json']})" if report.get("files") else ""
        click.echo(f"reconciliation failed: {squeeze(msg)}{where}", err=True)
        sys.exit(EXIT_FAILED)


def _amount(product: ProductSummary, field: Literal["total_supply", "attested_reserve"]) -> str:
    """A base-unit quantity of the report in product units (12.5, never 12500000000000000000)."""
    from stockpile.sdk.units import from_units

    value, decimals = product.get(field), product.get("decimals")
    if value is None or decimals is None:
        return str(value)
    return f"{from_units(int(value), int(decimals)).normalize():f}"


def _summary(report: Report) -> None:
    click.echo(f"run {report.get('run_id')}: {report['status']} at block {report.get('chain', {}).get('block')}, "
               f"{len(report['breaks'])} break(s), exit {report['exit_code']}")
    if report.get("error"):
        click.echo(f"  error: {report['error']}", err=True)
    for note in report.get("notes", []):
        click.echo(f"  note: {note}")
    for p in report["products"]:
        click.echo(f"  {p['product']}: supply {_amount(p, 'total_supply')} attested {_amount(p, 'attested_reserve')} "
                   f"ratio {p['collateralisation_ratio']} breaks {p.get('breaks', 0)}")
    for b in report["breaks"][:20]:
        click.echo(f"  [{b['severity']}] {b['kind']} {b['product']} {b['lot_id'] or ''}: {b['message']}")
    if len(report["breaks"]) > 20:
        click.echo(f"  ... {len(report['breaks']) - 20} more (see the CSV)")
    for k, v in (report.get("files") or {}).items():
        click.echo(f"  {k}: {v}")


@reconcile.command()
@run_options
@click.option("--json", "as_json", is_flag=True, help="print the JSON report on stdout")
def run(as_json, **kw) -> None:
    """One reconciliation. Exit code 0 clean, 1 breaks at/above --fail-on, 2 the run failed."""
    from stockpile.reconcile.service import EXIT_FAILED, failed_report, one_line, reconcile as do_reconcile

    db, w3, cfg, cat = _setup_or_fail(kw)
    try:
        report = do_reconcile(db, w3, cfg, cat)
    except Exception as exc:  # e.g. the database went away while recording the run
        msg = one_line(exc)
        failed_report(msg, cfg.out_dir, cfg.fail_on, stage="run")
        click.echo(f"reconciliation failed: {msg}", err=True)
        sys.exit(EXIT_FAILED)
    if as_json:
        click.echo(json.dumps(report, indent=2, default=json_default))
    else:
        _summary(report)
    sys.exit(report["exit_code"])


@reconcile.command()
@run_options
@click.option("--interval", default=60.0, show_default=True, help="seconds between runs")
@click.option("--iterations", default=None, type=int, help="stop after this many runs (default: forever)")
@options.host_option("address the metrics server binds")
@options.port_option("reconcile-metrics", flag="--metrics-port", help="Prometheus /metrics port")
@options.account_option(flag="--guardian-account", envvar="STOCKPILE_GUARDIAN_ACCOUNT",
                        help="guardian (PAUSER_ROLE) that pauses an under-backed product; none = never pause")
def watch(interval, iterations, host, metrics_port, guardian_account_spec, **kw) -> None:
    """Reconcile every --interval seconds; export metrics; pause a product whose supply exceeds its reserve."""
    import logging

    from stockpile.reconcile.watch import watch as do_watch

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    options.check_port_free(host, metrics_port, "--metrics-port")
    guardian = options.load_account(guardian_account_spec) if guardian_account_spec else None
    db, w3, cfg, cat = _setup_or_fail(kw)
    key = guardian.key.hex() if guardian else None
    metrics = f"http://{host}:{metrics_port}/metrics" if metrics_port else "off"
    click.echo(f"watching {len(cfg.products)} product(s) every {interval}s; metrics {metrics}; "
               f"guardian {guardian.address if guardian else 'not configured'}")

    def show(report: Report) -> None:
        _summary(report)
        for a in report.get("actions", []):
            click.echo(f"  guardian {a['action']} {a['product']}: {a['result']} {a.get('error', '')}")

    do_watch(db, w3, cfg, interval, iterations, metrics_port or None, key, on_report=show, catalogue=cat,
             metrics_host=host)


@reconcile.command()
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--lots", default=1000, show_default=True, help="number of lots")
@click.option("--seed", default=1, show_default=True, help="random seed (the same seed writes the same file)")
@click.option("--as-of", default="2026-11-20T00:00:00Z", show_default=True, help="the export's as-of time (ISO 8601)")
@click.option("--discrepancy", multiple=True, help="kind=count, e.g. quantity_mismatch=3 (repeatable)")
@click.option("--bad-row", multiple=True, help="kind=count, e.g. unknown_status=2 (repeatable)")
@click.option("--decimal-comma", is_flag=True, help="write quantities with a decimal comma (European exports)")
@click.option("--attested-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="also write the attested lot list (CSV) the planted discrepancies are measured against "
                   "(ingest it with --attested) and print what to attest per product")
def generate(out, lots, seed, as_of, discrepancy, bad_row, decimal_comma, attested_out) -> None:
    """Write a deterministic custody export with planted discrepancies / bad rows (CSV, or JSON by suffix)."""
    from stockpile.reconcile.custody.generator import generate as gen

    g = gen(lots, seed=seed, as_of=as_of, discrepancies=_kv(discrepancy, "--discrepancy"),
            bad_rows=_kv(bad_row, "--bad-row"))
    if out.suffix.lower() == ".json":
        g.write_json(out, metadata={"as_of": as_of})
    else:
        g.write_csv(out, decimal_comma=decimal_comma, metadata={"as_of": as_of})
    click.echo(f"wrote {out}: {len(g.rows)} rows, {len(g.planted)} planted discrepancies, {len(g.bad)} bad rows")
    for p in g.planted:
        click.echo(f"  planted {p['kind']}: {p['lot_id']} ({p['product']})")
    if attested_out:
        g.write_attested_csv(attested_out, metadata={"as_of": as_of})
        click.echo(f"wrote {attested_out}: the attested list ({len(g.attested_rows)} reserve lots)")
        for product in sorted(g.attested):
            a = g.attestation(product)
            click.echo(f"  attest {product}: root {a['merkle_root']} total {a['total_quantity']} lots {a['lot_count']}")
