"""``stockpile portal serve``: the read-only transparency portal."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from stockpile.cli import options


@click.group()
def portal() -> None:
    """The transparency portal for holders and auditors (read-only web application)."""


@portal.command()
@click.option("--products", "products_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="JSON/YAML: {rpc_url, directory} or {rpc_url, products: {CODE: {token, attestor, feed}}}")
@click.option("--db", "db_url", required=True, help="custody database: SQLite path or URL (read, never written)")
@options.rpc_url_option(required=False, help="JSON-RPC URL (else rpc_url of the products file)")
@options.host_option()
@options.port_option("portal")
@click.option("--index", "index_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="the portal's own lot index file (default: next to the SQLite DB, <db>.portal-index.sqlite)")
@click.option("--refresh", default=15.0, show_default=True, help="seconds between chain refreshes (0: only at start)")
def serve(products_file, db_url, rpc_url, host, port, index_path, refresh) -> None:
    """Serve the portal (pages and /api) until interrupted."""
    import uvicorn

    from stockpile.portal.app import create_app
    from stockpile.portal.service import PortalService

    from requests.exceptions import ConnectionError as NodeDown

    options.check_port_free(host, port, "--port")  # before the chain and the lot index are read
    try:
        service = PortalService(products_file, db_url, index_path, rpc_url)
        click.echo(f"portal: {len(service.infos)} product(s) from {products_file}; reading chain and custody DB...")
        service.start(refresh)
    except NodeDown:
        from stockpile.reconcile.service import load_products

        click.echo(f"portal: cannot reach the node at {rpc_url or load_products(products_file)[1].get('rpc_url')}",
                   err=True)
        sys.exit(2)
    except (ValueError, FileNotFoundError, OSError) as exc:
        click.echo(f"portal: {exc}", err=True)
        sys.exit(2)
    except Exception as exc:  # node unreachable, contracts missing
        click.echo(f"portal: cannot read the deployment: {type(exc).__name__}: {exc}", err=True)
        sys.exit(2)
    snap = service.state()
    for s, p in sorted(snap.products.items()):
        lots = p.lot_list.lot_count if p.lot_list else 0
        click.echo(f"  {s}: supply {p.chain.total_supply}, {lots} attested lots indexed"
                   + (f" ({p.lot_list_error})" if p.lot_list_error else ""))
    click.echo(f"portal: http://{host}:{port}/ (block {snap.block}; API at /api, OpenAPI at /openapi.json)", err=False)
    uvicorn.run(create_app(service), host=host, port=port, log_level="warning", access_log=False)
    service.stop()
