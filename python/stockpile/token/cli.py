"""`stockpile layout ...`: storage-layout snapshots of the upgradeable contracts."""

from __future__ import annotations

import click


@click.group()
def layout() -> None:
    """Storage-layout snapshots (contracts/storage-layouts/) and the upgrade-safety check."""


@layout.command("snapshot")
def layout_snapshot() -> None:
    """(Re)write the snapshot of every upgradeable contract. Commit the result."""
    from stockpile.token.storage_layout import write_snapshots

    for path in write_snapshots():
        click.echo(f"wrote {path}")


@layout.command("check")
def layout_check() -> None:
    """Compare the sources with the committed snapshots; exit 1 if an upgrade would corrupt storage."""
    from stockpile.token.storage_layout import check_against_snapshots

    failed = False
    for contract, problems in check_against_snapshots().items():
        if problems:
            failed = True
            click.echo(f"{contract}: INCOMPATIBLE")
            for p in problems:
                click.echo(f"  - {p}")
        else:
            click.echo(f"{contract}: ok")
    raise SystemExit(1 if failed else 0)
