"""The ``stockpile`` command. Each capability adds its own group (see ``stockpile --help``)."""

from __future__ import annotations

import importlib
from typing import Any

import click

from stockpile import __version__

# Capability command groups, imported only when used: name -> "module:attribute".
# Each capability folder owns its own `cli.py`.
SUBCOMMANDS: dict[str, str] = {
    "deploy": "stockpile.deploy.cli:deploy",
    "layout": "stockpile.token.cli:layout",
    "token": "stockpile.token.cli:token",
    "reserve": "stockpile.reserve.cli:reserve",
    "oracle": "stockpile.oracle.cli:oracle",
    "reconcile": "stockpile.reconcile.cli:reconcile",
    "basket": "stockpile.basket.cli:basket",
    "portal": "stockpile.portal.cli:portal",
    "devnet": "stockpile.portal.devnet:devnet",
    "safe": "stockpile.safe.cli:safe",
}


class LazyGroup(click.Group):
    """Subcommand groups imported when used; every user mistake below them leaves as one line, exit 2
    (stockpile.cli.errors); a bug keeps its traceback."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:  # type: ignore[override]
        """As click's, but a usage error (a bad option value, a missing argument) is one line too."""
        import sys

        from stockpile.cli.errors import show_usage_error

        base: Any = super()
        if not standalone_mode:
            return base.main(*args, standalone_mode=False, **kwargs)
        try:
            rv = base.main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as exc:
            show_usage_error(exc)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(SUBCOMMANDS))

    def get_command(self, ctx, name):
        if name in SUBCOMMANDS:
            module, attr = SUBCOMMANDS[name].split(":")
            try:
                return getattr(importlib.import_module(module), attr)
            except ModuleNotFoundError as exc:
                from stockpile.extras import missing_extra

                line = missing_extra(exc, name)
                if line is None:
                    raise
                return _needs_extra(name, line)
        return super().get_command(ctx, name)

    def invoke(self, ctx):
        from stockpile.cli.errors import as_click_error

        # A command whose capability is an extra that is not installed: one line naming it, exit 2.
        command = ctx.protected_args[0] if ctx.protected_args else None
        try:
            return super().invoke(ctx)
        except ModuleNotFoundError as exc:
            from stockpile.extras import missing_extra

            line = missing_extra(exc, command)
            if line is None:
                raise
            click.echo(f"Error: {line}", err=True)
            ctx.exit(2)
        except Exception as exc:
            mapped = as_click_error(exc)
            if mapped is None:
                raise
            raise mapped from exc


def _needs_extra(name: str, line: str) -> click.Command:
    """Stands for a command group whose extra is not installed: any use prints ``line``, exit 2."""

    def fail() -> None:
        click.echo(f"Error: {line}", err=True)
        raise SystemExit(2)

    return click.Command(name, callback=fail, help=line, short_help=line.split(" (", 1)[0], add_help_option=False,
                         context_settings={"ignore_unknown_options": True, "allow_extra_args": True})


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stockpile")
def main() -> None:
    """Stockpile: warehouse-backed strategic metal tokens.

    Deploy commodity tokens, publish reference prices, reconcile custody records and use
    the tokens from Python.
    """


@main.command()
def build() -> None:
    """Compile contracts/ (offline, solc-js) into the Python package's artifacts."""
    from stockpile.contracts import compile_all

    for path in compile_all():
        click.echo(f"wrote {path}")


@main.group()
def toolchain() -> None:
    """The offline Solidity compiler and local chain tools."""


@toolchain.command("install")
def toolchain_install() -> None:
    """Register the solc-js shim where py-solc-x and ape find compilers."""
    import sys
    from pathlib import Path

    from stockpile.toolchain import SOLC_VERSION, install_solc_shim

    changed = install_solc_shim([Path(sys.executable).parent])
    for link in changed:
        click.echo(f"linked {link}")
    click.echo(f"solc {SOLC_VERSION} (solc-js) registered")


@main.command()
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="anvil port (default: a free one)")
def demo(port: int | None) -> None:
    """Run the main journey on a local anvil chain that this command starts and stops."""
    from stockpile.demo import run_demo

    raise SystemExit(run_demo(port=port))


if __name__ == "__main__":
    main()
