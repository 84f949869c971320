"""Which extra of the ``stockpile`` distribution brings what (see pyproject.toml).

The base install (web3, eth-account, pydantic, click) is the SDK and the ``stockpile`` command;
a command that needs more names the extra to install instead of printing a traceback.
"""

from __future__ import annotations

# `stockpile <command>` -> the extra its capability needs.
COMMAND_EXTRAS: dict[str, str] = {
    "deploy": "deploy",
    "basket": "deploy",
    "safe": "deploy",
    "oracle": "oracle",
    "reconcile": "reconcile",
    "portal": "reconcile",
    "devnet": "dev",
    "demo": "dev",
    "layout": "dev",
    "build": "dev",
    "toolchain": "dev",
}

# Top-level module -> the first extra that brings it.
MODULE_EXTRAS: dict[str, str] = {
    "yaml": "deploy",
    "rich": "deploy",
    "safe_eth": "deploy",
    "httpx": "oracle",
    "sqlalchemy": "oracle",
    "prometheus_client": "oracle",
    "alembic": "reconcile",
    "psycopg": "reconcile",
    "fastapi": "reconcile",
    "starlette": "reconcile",
    "uvicorn": "reconcile",
    "jinja2": "reconcile",
    "tqdm": "reconcile",
    "ape": "dev",
    "ape_ethereum": "dev",
    "ape_solidity": "dev",
    "ape_foundry": "dev",
    "solcx": "dev",
    "eth_tester": "dev",
}


def missing_extra(exc: ModuleNotFoundError, command: str | None = None) -> str | None:
    """One line naming the extra to install for ``exc`` (None: not a module an extra brings)."""
    module = (exc.name or "").split(".")[0]
    if module not in MODULE_EXTRAS:
        return None
    extra = COMMAND_EXTRAS.get(command or "") or MODULE_EXTRAS[module]
    what = f"stockpile {command}" if command else "this"
    return f"{what} needs the [{extra}] extra (module {module!r} is not installed): pip install 'stockpile[{extra}]'"
