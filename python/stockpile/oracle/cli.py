"""``stockpile oracle ...``: run the price feeder once or as a daemon, an operator's signer node, read prices.

The PriceFeed hub and its feeds are deployed with the rest of the stack: ``stockpile deploy apply``
(a deployment file's ``oracle`` section and each product's ``feed``)."""

from __future__ import annotations

import logging
import signal
import sys

import click

from stockpile.errors import StockpileError
from stockpile.cli import options
from stockpile.cli.errors import CliError


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def _make_feeder(config_path: str, local_signers: bool):
    from pydantic import ValidationError

    from stockpile.cli.errors import user_error
    from stockpile.nodes import NodeConfigError
    from stockpile.oracle.config import load_config
    from stockpile.oracle.feeder import Feeder
    from stockpile.oracle.keys import KeyError_
    from stockpile.oracle.transmitter import NodeTransmitter

    try:
        cfg = load_config(config_path)
    except (ValidationError, ValueError, TypeError) as exc:  # pydantic, YAML and shape errors: the file is named
        raise CliError(f"{config_path}: {user_error(exc) or exc}") from None
    except Exception as exc:
        line = user_error(exc)
        if line is None:
            raise
        raise CliError(f"{config_path}: {line}") from None
    if local_signers and cfg.nodes:
        raise click.UsageError(f"{config_path} configures nodes: drop --local-signers (node mode)")
    if not local_signers and not cfg.nodes:
        raise click.UsageError(f"{config_path} configures no nodes: collect from operator nodes (nodes:), or pass "
                               "--local-signers to hold every signer key in this process (devnets only, unsafe for production)")
    try:
        return cfg, (NodeTransmitter(cfg) if cfg.nodes else Feeder(cfg))
    except (KeyError_, NodeConfigError) as exc:
        raise CliError(str(exc)) from None


def _print_result(res) -> None:
    for p in res.published:
        click.echo(f"published {p.symbol} round {p.round_id}: {p.value} (answer {p.answer})")
    for sym, why in res.held.items():
        click.echo(f"held {sym}: {why}")
    for sym, rej in res.rejected.items():
        for r in rej:
            click.echo(f"rejected source for {sym}: {r}")
    for k, v in res.errors.items():
        click.echo(f"error {k}: {v}", err=True)
    for sym, names in res.liars.items():
        click.echo(f"outlier {sym}: {', '.join(names)} far from the median", err=True)
    for node, why in res.node_failures.items():
        click.echo(f"node {node}: {why}", err=True)
    if res.signed_by:
        click.echo(f"signed by {', '.join(res.signed_by)}")
    if res.tx_hash:
        click.echo(f"tx {res.tx_hash} gas {res.gas_used}")


class _UserError(StockpileError, click.ClickException):
    """The operator's own mistake (config, key, chain): one line, exit 2."""

    exit_code = 2


@click.group()
def oracle() -> None:
    """Reference price feeds: the feeder service and the PriceFeed contract."""


@oracle.command("run-once")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="feeder YAML (python/stockpile/oracle/README.md)")
@click.option("--local-signers", is_flag=True,
              help="hold every signer key of the config in this process (devnets only: UNSAFE for production)")
@click.option("-v", "--verbose", is_flag=True, help="log every step (DEBUG)")
def run_once(config_path: str, local_signers: bool, verbose: bool) -> None:
    """One pass: observe (operator nodes, or --local-signers), publish what the policy asks for. Exit 1 on any error."""
    _setup_logging(verbose)
    _, feeder = _make_feeder(config_path, local_signers)
    res = feeder.run_once()
    _print_result(res)
    raise SystemExit(0 if res.ok else 1)


@oracle.command("run")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="feeder YAML (python/stockpile/oracle/README.md)")
@click.option("--max-runs", type=int, default=None, help="stop after this many passes")
@click.option("--local-signers", is_flag=True,
              help="hold every signer key of the config in this process (devnets only: UNSAFE for production)")
@click.option("-v", "--verbose", is_flag=True, help="log every step (DEBUG)")
def run(config_path: str, max_runs: int | None, local_signers: bool, verbose: bool) -> None:
    """Daemon: a pass every interval_seconds; health and metrics on 127.0.0.1; stops cleanly on SIGTERM/SIGINT."""
    from stockpile.oracle.metrics import MetricsServer

    _setup_logging(verbose)
    cfg, feeder = _make_feeder(config_path, local_signers)
    logging.getLogger(__name__).info("feeder for %d product(s) on %s, a pass every %ss",
                                     len(cfg.products), cfg.feed_address, cfg.interval_seconds)
    server = None
    if cfg.metrics.enabled:
        options.check_port_free(cfg.metrics.host, cfg.metrics.port, f"{config_path}: metrics.port")
        server = MetricsServer(feeder.metrics, cfg.metrics.host, cfg.metrics.port).start()
        logging.getLogger(__name__).info("metrics on http://%s:%d/metrics, health on /health", cfg.metrics.host, server.port)

    def _stop(signum, _frame):
        logging.getLogger(__name__).info("signal %d: stopping after the current pass", signum)
        feeder.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        feeder.run(max_runs=max_runs)
    finally:
        if server:
            server.stop()
    logging.getLogger(__name__).info("stopped")


@oracle.command("node")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False), help="node YAML")
@click.option("-v", "--verbose", is_flag=True, help="log every request (DEBUG)")
def node(config_path: str, verbose: bool) -> None:
    """One operator's signer node: observes with its own sources, signs with its own key (stops on SIGTERM/SIGINT)."""
    import threading

    from pydantic import ValidationError

    import yaml

    from stockpile.cli.errors import squeeze
    from stockpile.oracle.config import load_node_config
    from stockpile.oracle.keys import KeyError_
    from stockpile.oracle.node import OracleNode

    _setup_logging(verbose)
    try:
        cfg = load_node_config(config_path)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "config"
        raise _UserError(f"invalid config {config_path}: {where}: {first['msg']}") from None
    except (OSError, ValueError, yaml.YAMLError) as exc:  # unreadable file, not YAML
        raise _UserError(squeeze(f"cannot read config {config_path}: {exc}")) from None
    try:
        service = OracleNode(cfg)
    except (KeyError_, ValueError) as exc:
        raise _UserError(str(exc)) from None
    except OSError as exc:  # state_db folder not writable, certificate files missing
        raise _UserError(f"{type(exc).__name__}: {exc}") from None

    def _stop(signum, _frame):
        threading.Thread(target=service.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo(f"oracle node {service.address} listening on {service.server.url}", nl=True)
    sys.stdout.flush()
    service.server.serve_forever()
    logging.getLogger(__name__).info("stopped")


@oracle.command("prices")
@options.network_options()
@options.address_option("--price-feed", "the PriceFeed hub")
@click.argument("symbols", nargs=-1, required=True)
def prices(rpc_url: str, chain_id: int | None, allow_mainnet: bool, price_feed: str, symbols) -> None:
    """Print the latest on-chain price of each feed SYMBOL (e.g. NDPR-OXIDE/USD), in the feed's unit."""
    from stockpile.oracle.chain import feed_symbols, latest_price
    from stockpile.sdk import errors

    w3 = options.connect_rpc(rpc_url, chain_id, allow_mainnet).w3
    hub = options.expect_contract(w3, price_feed, "PriceFeed", "feedIds", "PriceFeed hub")
    known = feed_symbols(hub)
    for sym in symbols:
        if sym not in known:
            raise CliError(f"unknown feed {sym!r} on the PriceFeed at {price_feed}; it has {', '.join(known) or 'none'}")
        try:
            price = latest_price(hub, sym)
        except errors.error_class("NoDataPresent"):
            raise CliError(f"no price published yet for {sym} on the PriceFeed at {price_feed}") from None
        click.echo(f"{sym}\t{price}")
