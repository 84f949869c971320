"""The portal's web application (FastAPI): server-rendered pages and the JSON API under /api.

Every route is a GET except ``POST /rpc``, a JSON-RPC pass-through that forwards only read calls
(``eth_call``, ``eth_chainId``, ``eth_blockNumber``) to the configured node, ``eth_call`` only to
the deployment's own contracts: the in-browser proof check reads the attested root from the chain
with it. No route writes; no key is loaded.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, cast

import httpx
from fastapi import FastAPI, Path as PathParam, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from web3 import Web3

from stockpile.portal.charts import step_chart
from stockpile.portal.service import ALLOCATION_RULE, PortalError, PortalService
from stockpile.reconcile.chain.state import Attestation
from stockpile.reconcile.custody.parse import format_time

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
# A lot id or search text: printable, no path separator, at most 128 characters (the custody
# schema's column width).
LOT_ID_RE = r"^[^\x00-\x1f\x7f/]{1,128}$"
TEXT_RE = r"^[^\x00-\x1f\x7f]{0,128}$"
ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
RPC_METHODS = ("eth_call", "eth_chainId", "eth_blockNumber")
LATEST_ATTESTATION = "0x" + Web3.keccak(text="latestAttestation()").hex().removeprefix("0x")[:8]

Symbol = Annotated[str, PathParam(max_length=32, description="product symbol, e.g. NDPR")]
LotId = Annotated[str, PathParam(pattern=LOT_ID_RE, description="lot id (unique within a warehouse)")]
Warehouse = Annotated[str | None, Query(pattern=TEXT_RE, description="warehouse id (when a lot id is in several)")]
Page = Annotated[int, Query(ge=1, le=10**9, description="page number, from 1")]
PageSize = Annotated[int, Query(ge=1, le=200, description="lots per page")]


def check_address(address: str) -> str:
    if not ADDRESS_RE.match(address):
        raise PortalError(422, f"malformed address {address[:60]!r}: expected 0x followed by 40 hex digits")
    if address[2:] != address[2:].lower() and address[2:] != address[2:].upper() and not Web3.is_checksum_address(address):
        raise PortalError(422, f"address {address} has a wrong EIP-55 checksum (mixed case that does not match)")
    return Web3.to_checksum_address(address)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for e in exc.errors():
        where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("path", "query", "body"))
        msg = e.get("msg", "invalid")
        if e.get("type") == "string_pattern_mismatch":
            msg = "malformed: control characters, '/' or more than 128 characters"
        parts.append(f"{where}: {msg}")
    return "bad request: " + "; ".join(parts)


def create_app(service: PortalService) -> FastAPI:
    app = FastAPI(title="Stockpile transparency portal", version="1",
                  description="Read-only view of Stockpile's commodity tokens: supply against attested reserve, the "
                              "attested lot lists with Merkle proofs, per-address lot allocation and the latest "
                              "reconciliation. Every endpoint is a GET; nothing here writes.",
                  docs_url=None, redoc_url=None)
    app.state.service = service
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["isotime"] = format_time
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    def wants_html(request: Request) -> bool:
        return not request.url.path.startswith("/api") and request.url.path != "/rpc"

    def error_response(request: Request, status: int, message: str):
        if wants_html(request):
            return templates.TemplateResponse(request, "error.html", {"status": status, "message": message,
                                                                      "nav": _nav(service)}, status_code=status)
        return JSONResponse({"error": message, "status": status}, status_code=status)

    @app.exception_handler(PortalError)
    async def _portal_error(request: Request, exc: PortalError):
        return error_response(request, exc.status, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return error_response(request, 422, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        msg = {404: f"no such page: {request.url.path}",
               405: f"method {request.method} not allowed: this portal is read-only"}.get(exc.status_code, str(exc.detail))
        resp = error_response(request, exc.status_code, msg)
        if exc.headers:
            resp.headers.update(exc.headers)
        return resp

    # ------------------------------------------------------------------ JSON API
    @app.get("/api/status", tags=["api"], summary="Snapshot block, refresh time and refresh error")
    def api_status():
        snap = service.state()
        return {"block": snap.block, "block_time": snap.block_time, "refreshed_at": snap.refreshed_at,
                "error": snap.error, "chain_id": service.reader.chain_id, "products": sorted(snap.products)}

    @app.get("/api/products", tags=["api"], summary="Every product's supply, reserve, attestation, price and state")
    def api_products():
        snap = service.state()
        return {"block": snap.block, "products": [p.summary() for _s, p in sorted(snap.products.items())]}

    @app.get("/api/products/{symbol}", tags=["api"], summary="One product's summary")
    def api_product(symbol: Symbol):
        return service.product(symbol).summary()

    @app.get("/api/products/{symbol}/history", tags=["api"],
             summary="Supply and attested reserve over time (from events and attestation rounds), price rounds")
    def api_history(symbol: Symbol):
        return service.history(symbol)

    @app.get("/api/products/{symbol}/lots", tags=["api"], summary="The attested lot list, paginated and searchable")
    def api_lots(symbol: Symbol,
                 q: Annotated[str, Query(pattern=TEXT_RE, description="lot id prefix")] = "",
                 warehouse: Annotated[str | None, Query(pattern=TEXT_RE, description="warehouse id (exact)")] = None,
                 form: Annotated[str | None, Query(pattern=TEXT_RE, description="form (exact)")] = None,
                 page: Page = 1, page_size: PageSize = 50):
        return service.search(symbol, q, warehouse or None, form if form != "" else None, page, page_size)

    @app.get("/api/products/{symbol}/lots/{lot_id}", tags=["api"], summary="One attested lot")
    def api_lot(symbol: Symbol, lot_id: LotId, warehouse: Warehouse = None):
        pf = service.proof(symbol, lot_id, warehouse or None)
        return {**pf["lot"], "symbol": symbol, "product": pf["product"], "round": pf["round"], "root": pf["root"],
                "leaf": pf["leaf"], "proof_url": _proof_url(symbol, pf["lot"]),
                "breaks": service.lot_breaks(pf["product"], pf["lot"]["lot_id"])}

    @app.get("/api/products/{symbol}/lots/{lot_id}/proof", tags=["api"],
             summary="A lot's Merkle proof (for @openzeppelin/merkle-tree's StandardMerkleTree.verify)")
    async def api_proof(symbol: Symbol, lot_id: LotId, warehouse: Warehouse = None,
                  download: Annotated[bool, Query(description="as a file attachment")] = False):
        pf = service.proof(symbol, lot_id, warehouse or None)
        headers = {}
        if download:
            headers["Content-Disposition"] = f'attachment; filename="{_safe_name(symbol, pf)}"'
        return JSONResponse(pf, headers=headers)

    @app.get("/api/products/{symbol}/tree", tags=["api"],
             summary="The whole attested lot tree as @openzeppelin/merkle-tree's standard-v1 dump (streamed)")
    def api_tree(symbol: Symbol):
        p, lst = service.lot_list(symbol)
        name = _safe_name_raw(f"{symbol}-round{cast(Attestation, p.chain.attestation).round_id}.tree.json")  # it has a lot list
        return StreamingResponse(service.index.dump_chunks(lst, p.info.product_code), media_type="application/json",
                                 headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @app.get("/api/address/{address}", tags=["api"],
             summary="Balance, value, pending redemptions and allocated lots of an address")
    def api_address(address: Annotated[str, PathParam(max_length=80)],
                    symbol: Annotated[str | None, Query(max_length=32)] = None,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 200):
        return service.address(check_address(address), symbol, limit)

    @app.get("/api/baskets", tags=["api"], summary="Every basket: shares, NAV, components held against shares x units")
    def api_baskets():
        snap = service.state()
        return {"block": snap.block, "baskets": [b for _s, b in sorted(snap.baskets.items())]}

    @app.get("/api/baskets/{symbol}", tags=["api"],
             summary="A basket's look-through: components, held vs shares x units, each one's attested lots")
    def api_basket(symbol: Annotated[str, PathParam(max_length=32, description="basket symbol, e.g. SMB")],
                   limit: Annotated[int, Query(ge=1, le=1000)] = 200):
        return service.basket(symbol, limit)

    @app.get("/api/reconciliation", tags=["api"], summary="The latest reconciliation run and its breaks")
    def api_reconciliation():
        return service.reconciliation()

    @app.post("/rpc", tags=["api"], summary="Read-only JSON-RPC pass-through (eth_call to this deployment's contracts)")
    async def rpc(request: Request):
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            raise PortalError(400, "the body is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("method"), str):
            raise PortalError(400, "expected one JSON-RPC request object with a method")
        method = body["method"]
        if method not in RPC_METHODS:
            raise PortalError(403, f"method {method!r} is not forwarded (read-only: {', '.join(RPC_METHODS)})")
        params = body.get("params") or []
        if method == "eth_call":
            if not isinstance(params, list) or not params or not isinstance(params[0], dict):
                raise PortalError(400, "eth_call needs [{to, data}, block]")
            call = params[0]
            to = str(call.get("to", "")).lower()
            if to not in service_contracts(service):
                raise PortalError(403, f"eth_call only to this deployment's contracts, not {to or 'nothing'}")
            if set(call) - {"to", "data", "input"}:
                raise PortalError(400, "eth_call takes only to and data here")
            params = [{"to": call["to"], "data": call.get("data") or call.get("input") or "0x"}, "latest"]
        try:
            async with httpx.AsyncClient(timeout=15) as client:
                r = await client.post(service.rpc_url, json={"jsonrpc": "2.0", "id": body.get("id", 1),
                                                             "method": method, "params": params})
            answer = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise PortalError(502, f"the node did not answer: {type(exc).__name__}") from exc
        return JSONResponse(answer, status_code=200)

    # ------------------------------------------------------------------ pages
    def page(request: Request, name: str, **ctx):
        snap = service.state()
        return templates.TemplateResponse(request, name, {"nav": _nav(service), "snap": snap, **ctx})

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request):
        snap = service.state()
        return page(request, "index.html", products=[p.summary() for _s, p in sorted(snap.products.items())],
                    baskets=[b for _s, b in sorted(snap.baskets.items())])

    @app.get("/baskets/{symbol}", response_class=HTMLResponse, include_in_schema=False)
    def basket_page(request: Request, symbol: Annotated[str, PathParam(max_length=32)]):
        return page(request, "basket.html", b=service.basket(symbol), proof_url=_proof_url, lot_url=_lot_url)

    @app.get("/products/{symbol}", response_class=HTMLResponse, include_in_schema=False)
    def product_page(request: Request, symbol: Symbol):
        p = service.product(symbol).summary()
        h = service.history(symbol)
        until = service.state().block_time
        reserve_chart = step_chart(f"{symbol}: supply and attested reserve ({p['unit']})", [
            ("supply", "#c0392b", [(t, Decimal(v)) for t, v, *_ in h["supply"]]),
            ("attested reserve", "#1f6feb", [(t, Decimal(v)) for t, v, *_ in h["attested_reserve"]]),
        ], until=until, css_class="chart chart-reserve")
        price_chart = step_chart(f"{symbol}: price (USD per {p['unit']})", [
            ("price", "#2d8a4e", [(t, Decimal(v)) for t, v, *_ in h["price"]])], until=until,
            css_class="chart chart-price", zero_based=False)
        return page(request, "product.html", p=p, history=h, reserve_chart=reserve_chart, price_chart=price_chart)

    @app.get("/products/{symbol}/lots", response_class=HTMLResponse, include_in_schema=False)
    def lots_page(request: Request, symbol: Symbol,
                  q: Annotated[str, Query(pattern=TEXT_RE)] = "",
                  warehouse: Annotated[str | None, Query(pattern=TEXT_RE)] = None,
                  form: Annotated[str | None, Query(pattern=TEXT_RE)] = None,
                  page_no: Annotated[int, Query(alias="page", ge=1, le=10**9)] = 1,
                  page_size: PageSize = 50):
        res = service.search(symbol, q.strip(), warehouse or None, form or None, page_no, page_size)
        p = service.product(symbol).summary()
        return page(request, "lots.html", p=p, res=res, proof_url=_proof_url, lot_url=_lot_url)

    @app.get("/products/{symbol}/lots/{lot_id}", response_class=HTMLResponse, include_in_schema=False)
    def lot_page(request: Request, symbol: Symbol, lot_id: LotId, warehouse: Warehouse = None):
        pf = service.proof(symbol, lot_id, warehouse or None)
        p = service.product(symbol).summary()
        return page(request, "lot.html", p=p, pf=pf, proof_json=json.dumps(pf, indent=1),
                    breaks=service.lot_breaks(pf["product"], pf["lot"]["lot_id"]),
                    proof_url=_proof_url(symbol, pf["lot"]), selector=LATEST_ATTESTATION)

    @app.get("/address", response_class=HTMLResponse, include_in_schema=False)
    def address_page(request: Request, address: Annotated[str, Query(max_length=80)] = "",
                     symbol: Annotated[str | None, Query(max_length=32)] = None):
        res = None
        if address.strip():
            res = service.address(check_address(address.strip()), symbol or None)
        return page(request, "address.html", address=address, res=res, rule=ALLOCATION_RULE,
                    proof_url=_proof_url, lot_url=_lot_url)

    @app.get("/reconciliation", response_class=HTMLResponse, include_in_schema=False)
    def reconciliation_page(request: Request):
        return page(request, "reconciliation.html", rec=service.reconciliation())

    @app.get("/api", response_class=HTMLResponse, include_in_schema=False)
    def api_page(request: Request):
        spec = app.openapi()
        routes = [(path, m.upper(), op.get("summary", ""), [x["name"] for x in op.get("parameters", [])])
                  for path, ops in spec["paths"].items() for m, op in ops.items()]
        return page(request, "api.html", routes=routes)

    return app


def service_contracts(service: PortalService) -> set[str]:
    out = set()
    for i in service.infos.values():
        for a in (i.token, i.attestor, i.feed):
            if a:
                out.add(a.lower())
    return out


def _nav(service: PortalService) -> dict[str, list[str]]:
    return {"products": sorted(service.infos), "baskets": service.sp.baskets()}


def _lot_url(symbol: str, lot: dict) -> str:
    from urllib.parse import quote

    return f"/products/{quote(symbol)}/lots/{quote(lot['lot_id'], safe='')}?warehouse={quote(lot['warehouse_id'], safe='')}"


def _proof_url(symbol: str, lot: dict) -> str:
    from urllib.parse import quote

    return (f"/api/products/{quote(symbol)}/lots/{quote(lot['lot_id'], safe='')}/proof"
            f"?warehouse={quote(lot['warehouse_id'], safe='')}")


def _safe_name(symbol: str, pf: dict) -> str:
    return _safe_name_raw(f"{symbol}-{pf['lot']['warehouse_id']}-{pf['lot']['lot_id']}-round{pf['round']}.proof.json")


def _safe_name_raw(raw: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", raw)
