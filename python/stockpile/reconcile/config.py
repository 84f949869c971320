"""The products file of ``stockpile reconcile run/watch`` (JSON or YAML), validated with pydantic:
unknown keys are refused with the field named (a typo such as ``atestor:`` must not silently mean
"no attestor")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from stockpile.deploy.config import Address, _format
from stockpile.reconcile.custody.schema import FIELD_LIMITS
from stockpile.errors import StockpileError

def _yaml_hex(v: Any) -> Any:
    """YAML reads an unquoted 0x... address as an integer: give it back its 20-byte hex form."""
    if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**160:
        return f"0x{v:040x}"
    return v


ChainAddress = Annotated[Address, BeforeValidator(_yaml_hex)]
ProductCode = Annotated[str, StringConstraints(min_length=1, max_length=FIELD_LIMITS["product_code"],
                                               pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


class ConfigError(StockpileError, ValueError):
    """A products file that cannot be used: one line naming the file and the field."""


class ProductEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    token: ChainAddress
    attestor: ChainAddress | None = None
    start_block: int = Field(default=0, ge=0)


class ProductsFile(BaseModel):
    """``{rpc_url, products: {CODE: {token, attestor, start_block}}}`` or ``{rpc_url, directory, start_block}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rpc_url: str | None = None
    directory: ChainAddress | None = None
    start_block: int = Field(default=0, ge=0)
    products: dict[ProductCode, ProductEntry] | None = None
    # BasketToken addresses whose backing is checked (a list, or symbol -> address)
    baskets: list[ChainAddress] | dict[str, ChainAddress] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> ProductsFile:
        if not self.products and not self.directory:
            raise ValueError("products: name the products (products: {CODE: {token: ...}}) or a directory address")
        if self.products and self.directory:
            raise ValueError("directory: give either products or a directory, not both")
        return self


def load_products_file(path: str | Path) -> ProductsFile:
    p = Path(path)
    try:
        raw = p.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"products file {p}: cannot be read: {exc}") from None
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            doc: Any = yaml.safe_load(raw)
        else:
            doc = json.loads(raw)
    except Exception as exc:  # yaml.YAMLError, json.JSONDecodeError: name the file, one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"products file {p}: not valid {'YAML' if p.suffix.lower() in ('.yaml', '.yml') else 'JSON'}: "
                          f"{first}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"products file {p}: the top level must be a mapping")
    try:
        return ProductsFile.model_validate(doc)
    except ValidationError as exc:
        problems = [_format(e, doc) for e in exc.errors()]
        allowed = {"products": "rpc_url, directory, start_block, products, baskets", "entry": "token, attestor, start_block"}
        problems = [pr + (f" (allowed: {allowed['entry'] if pr.startswith('products.') else allowed['products']})"
                          if pr.endswith("unknown field") else "") for pr in problems]
        raise ConfigError(f"products file {p}: " + "; ".join(problems)) from None
