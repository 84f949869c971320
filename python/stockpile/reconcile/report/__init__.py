"""Reports: JSON (machines), CSV of breaks (spreadsheets), HTML (people; self-contained)."""

from __future__ import annotations

import csv
import html
import json
from decimal import Decimal
from pathlib import Path
from stockpile.core.jsonconv import default as json_default
from stockpile.core.units import from_units
from stockpile.reconcile.report.model import BreakRecord, HistoryPoint, ProductSummary, Report, SourceUsed, SummaryRow

BREAK_COLUMNS = ["product", "kind", "severity", "lot_id", "warehouse_id", "amount", "message", "evidence"]
HTML_BREAKS_PER_PRODUCT = 500


SEVERITIES = ("critical", "high", "medium", "low", "info")


def rank_products(products: list[ProductSummary]) -> list[SummaryRow]:
    """Every product with a break, worst first (most critical, then high, ... then name), with its
    break count per severity: the top of the report."""
    rows: list[SummaryRow] = []
    for p in products:
        sev = p.get("breaks_by_severity") or {}
        total = sum(sev.values())
        if not total:
            continue
        rows.append({"product": p["product"], "worst": next(s for s in SEVERITIES if sev.get(s)), "breaks": total,
                     "by_severity": {s: sev.get(s, 0) for s in SEVERITIES},
                     "collateralisation_ratio": p.get("collateralisation_ratio")})
    rows.sort(key=lambda r: tuple(-r["by_severity"][s] for s in SEVERITIES) + (r["product"],))
    return rows


def write_json(report: Report, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=json_default) + "\n", encoding="utf-8")
    return path


def write_csv(report: Report, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(BREAK_COLUMNS)
        for b in report["breaks"]:
            w.writerow([b["product"], b["kind"], b["severity"], b["lot_id"] or "", b["warehouse_id"] or "",
                        b["amount"] or "", b["message"], json.dumps(b["evidence"], sort_keys=True, default=json_default)])
    return path


def _units(base: str | None, decimals: int) -> str:
    if base in (None, ""):
        return "–"
    q = from_units(int(base), decimals)
    s = f"{q:,.6f}".rstrip("0").rstrip(".")
    return s


def _age(seconds) -> str:
    if seconds is None:
        return "–"
    s = int(seconds)
    if abs(s) < 120:
        return f"{s} s"
    if abs(s) < 7200:
        return f"{s // 60} min"
    if abs(s) < 172800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


def token_state(p: ProductSummary) -> str:
    """What the token allows now: paused (everything), minting paused (the guardian's pauseMinting), active."""
    if p.get("paused"):
        return "paused (transfers and minting)"
    if p.get("minting_paused"):
        return "minting paused"
    if p.get("paused") is None and p.get("minting_paused") is None:
        return "unknown"
    return "active"


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1d2430;background:#f6f7f9}
h1{margin:0 0 .3rem}.sub{color:#5b6573;margin-bottom:1.5rem}
.status{display:inline-block;padding:.25rem .7rem;border-radius:1rem;font-weight:600;color:#fff}
.clean{background:#1f8a4c}.breaks{background:#c0392b}.failed{background:#7f8c8d}
.card{background:#fff;border-radius:.6rem;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:1.2rem 1.4rem;margin:1rem 0}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(11rem,1fr));gap:.8rem;margin:.8rem 0}
.kpi{background:#f3f5f8;border-radius:.4rem;padding:.6rem .8rem}.kpi b{display:block;font-size:1.15rem}
.kpi span{color:#5b6573;font-size:.8rem}
.bar{height:.8rem;background:#e5e8ed;border-radius:.4rem;overflow:hidden;margin:.2rem 0 .6rem}
.bar i{display:block;height:100%;background:#2d7dd2}.bar i.over{background:#c0392b}
table{border-collapse:collapse;width:100%;font-size:.85rem}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e5e8ed;vertical-align:top}
th{background:#f3f5f8}.sev{font-weight:600;border-radius:.3rem;padding:.05rem .4rem;color:#fff;font-size:.75rem}
.critical{background:#8e1b10}.high{background:#c0392b}.medium{background:#d68910}.low{background:#2e86c1}.info{background:#7f8c8d}
code{font-size:.8rem;word-break:break-all}h3{margin:1.1rem 0 .4rem;font-size:1rem}
.summary table td,.summary table th{font-size:.9rem}.notes{color:#5b6573;font-size:.85rem;margin:.4rem 0}
dl.att{display:grid;grid-template-columns:10rem 1fr;gap:.2rem .8rem;font-size:.85rem}dl.att dd{margin:0}
ul.signers{margin:0;padding-left:1rem}pre{font-size:.75rem;white-space:pre-wrap;max-width:40rem}
svg.history-chart{max-width:100%;height:auto;display:block}.ok{color:#1f8a4c;font-weight:600}.bad{color:#c0392b;font-weight:600}
"""


def _ratio_pct(ratio) -> str:
    return f"{Decimal(ratio) * 100:.2f} %" if ratio else "–"


def supply_bar(p: ProductSummary) -> tuple[float, str, str]:
    """(width in %, css class, label) of the supply-vs-attested-reserve bar. No supply is an empty
    bar; supply without an attestation (or against a zero reserve) is a full red one."""
    supply = int(p.get("total_supply") or 0)
    attested = p.get("attested_reserve")
    if attested in (None, ""):
        if supply:
            return 100.0, "over", "supply with no attestation behind it"
        return 0.0, "", "no supply and no attestation"
    reserve = int(attested or 0)
    if not reserve:
        return (100.0, "over", "supply against an attested reserve of 0") if supply else (0.0, "", "no supply, reserve 0")
    if not supply:
        return 0.0, "", "no supply: 0 % of the attested reserve used"
    used = Decimal(supply) * 100 / Decimal(reserve)
    return float(min(Decimal(100), used)), "over" if supply > reserve else "", f"supply is {used:.2f} % of the attested reserve"


def history_svg(product: str, history: list[HistoryPoint]) -> str:
    """Collateralisation (line, left scale, dashed 100 % line) and break counts (bars, right scale)
    over the runs, as inline SVG (the report stays one self-contained file, no script)."""
    e = html.escape
    w, h, pad_l, pad_r, pad_t, pad_b = 640, 170, 48, 40, 12, 28
    n = len(history)
    ratios = [Decimal(cr) if (cr := x.get("collateralisation_ratio")) else None for x in history]
    top = max([r for r in ratios if r is not None] + [Decimal("1.2")]) * Decimal("1.1")
    bmax = max([x["breaks"] for x in history] + [1])
    iw, ih = w - pad_l - pad_r, h - pad_t - pad_b
    xs = [pad_l + (iw * (i + 0.5) / n) for i in range(n)] if n else []
    y = lambda r: pad_t + ih - float(r / top) * ih  # noqa: E731
    out = [f"<svg class='history-chart' id='history-{e(product)}' data-runs='{n}' role='img' "
           f"aria-label='history of {e(product)}: collateralisation and breaks over {n} runs' "
           f"viewBox='0 0 {w} {h}' width='{w}' height='{h}' xmlns='http://www.w3.org/2000/svg'>",
           f"<rect x='{pad_l}' y='{pad_t}' width='{iw}' height='{ih}' fill='#f7f8fa' stroke='#d5dae1'/>",
           f"<line x1='{pad_l}' x2='{pad_l + iw}' y1='{y(Decimal(1)):.1f}' y2='{y(Decimal(1)):.1f}' stroke='#1f8a4c' "
           "stroke-dasharray='4 3'/>",
           f"<text x='{pad_l - 4}' y='{y(Decimal(1)) + 4:.1f}' font-size='10' text-anchor='end'>100 %</text>",
           f"<text x='{pad_l - 4}' y='{pad_t + 8}' font-size='10' text-anchor='end'>{top * 100:.0f} %</text>",
           f"<text x='{w - pad_r + 4}' y='{pad_t + 8}' font-size='10'>{bmax} br.</text>"]
    bw = max(2.0, min(18.0, iw / max(n, 1) * 0.5))
    for i, x in enumerate(history):
        if x["breaks"]:
            bh = ih * x["breaks"] / bmax
            out.append(f"<rect class='breaks-bar' x='{xs[i] - bw / 2:.1f}' y='{pad_t + ih - bh:.1f}' width='{bw:.1f}' "
                       f"height='{bh:.1f}' fill='#c0392b' opacity='0.55'><title>run {x['run_id']}: {x['breaks']} "
                       "break(s)</title></rect>")
    pts = [(xs[i], y(r)) for i, r in enumerate(ratios) if r is not None]
    if len(pts) > 1:
        out.append("<polyline fill='none' stroke='#2d7dd2' stroke-width='2' points='"
                   + " ".join(f"{a:.1f},{b:.1f}" for a, b in pts) + "'/>")
    for i, r in enumerate(ratios):
        if r is not None:
            out.append(f"<circle class='ratio-point' cx='{xs[i]:.1f}' cy='{y(r):.1f}' r='3' fill='#2d7dd2'>"
                       f"<title>run {history[i]['run_id']} block {history[i]['block']}: {r * 100:.2f} %</title></circle>")
    step = max(1, n // 8)
    for i in range(0, n, step):
        out.append(f"<text x='{xs[i]:.1f}' y='{h - 10}' font-size='10' text-anchor='middle'>#{history[i]['run_id']}</text>")
    out.append("</svg>")
    return "".join(out)


def _sources_table(rows: list[tuple[str, list[SourceUsed] | None]]) -> str:
    e = html.escape
    body = []
    for view, items in rows:
        for s in items or []:
            body.append(f"<tr><td>{e(view)}</td><td>{e(s['warehouse_id'])}</td><td>{s['snapshot_id']}</td>"
                        f"<td>{e(s['as_of'])}</td><td><code>{e(str(s.get('source') or ''))}</code></td></tr>")
    if not body:
        return "<p>No custody snapshot used.</p>"
    return ("<table class='sources'><thead><tr><th>view</th><th>warehouse</th><th>snapshot</th><th>as of</th>"
            "<th>file</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>")


def _attestation_block(p: ProductSummary, max_age: int | None) -> str:
    e = html.escape
    if p.get("attestation_round") is None:
        return "<p class='bad'>No attestation on chain.</p>" if int(p.get("total_supply") or 0) else \
            "<p>No attestation on chain (and no supply).</p>"
    signers = p.get("attestation_signers")
    sig = ("<ul class='signers'>" + "".join(f"<li><code>{e(s)}</code></li>" for s in signers) + "</ul>"
           if signers else e(p.get("attestation_signers_note") or "not known"))
    rows = [("round", str(p["attestation_round"])), ("as of", p.get("attestation_as_of") or "–"),
            ("attested at", p.get("attestation_attested_at") or "–"),
            ("age", f"{_age(p.get('attestation_age_seconds'))} (allowed {_age(max_age)})"),
            ("lots / total", f"{p.get('attested_lots')} lots"), ("root", p.get("attested_root") or "–"),
            ("report hash", p.get("attestation_report_hash") or "–"), ("transaction", p.get("attestation_tx") or "–"),
            ("lot list compared", p.get("attested_list_source") or "–")]
    out = ["<dl class='att'>"]
    for k, v in rows:
        out.append(f"<dt>{e(k)}</dt><dd><code>{e(str(v))}</code></dd>")
    out.append(f"<dt>signers ({len(signers) if signers else '?'})</dt><dd>{sig}</dd></dl>")
    return "".join(out)


def render_html(report: Report) -> str:
    e = html.escape
    out = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
           "<meta name='viewport' content='width=device-width,initial-scale=1'>",
           f"<title>Stockpile reconciliation – {e(report['status'])}</title><style>{CSS}</style></head><body>"]
    chain = report.get("chain", {})
    max_age = report["thresholds"]["max_attestation_age_seconds"] if "thresholds" in report else None
    out.append("<h1>Stockpile reserve reconciliation</h1>")
    behind = (f", {chain['behind_head']} behind head {chain['head_block']}" if "head_block" in chain else "")
    out.append(f"<div class='sub'>generated {e(report['generated_at'])} · chain {e(str(chain.get('chain_id', '–')))} "
               f"block {e(str(chain.get('block', '–')))} ({e(str(chain.get('block_time', '')))}{e(behind)}, "
               f"{e(str(chain.get('confirmations', '–')))} confirmations) · "
               f"<span class='status {e(report['status'])}'>{e(report['status'].upper())}</span> "
               f"· {len(report['breaks'])} break(s), exit code {report['exit_code']} "
               f"(threshold {e(report['severity_threshold'])})</div>")
    if report.get("error"):
        out.append(f"<div class='card'><b>Run failed:</b> <code>{e(report['error'])}</code></div>")
    by_product: dict[str, list[BreakRecord]] = {}
    for b in report["breaks"]:
        by_product.setdefault(b["product"], []).append(b)
    ranked = report.get("summary")
    if ranked is None:
        ranked = rank_products(report.get("products", []))
    products = {p["product"]: p for p in report["products"]}
    # the summary: every product with a break, worst first, before anything else
    out.append("<section class='card summary' id='summary'><h2>Summary</h2>")
    if ranked:
        out.append("<table id='summary-table'><thead><tr><th>product</th><th>worst</th>"
                   + "".join(f"<th>{s}</th>" for s in SEVERITIES) + "<th>breaks</th><th>collateralisation</th>"
                   "</tr></thead><tbody>")
        for r in ranked:
            out.append(f"<tr class='summary-row' data-product='{e(r['product'])}'><td><a href='#product-{e(r['product'])}'>"
                       f"<b>{e(r['product'])}</b></a></td><td><span class='sev {r['worst']}'>{r['worst']}</span></td>"
                       + "".join(f"<td>{r['by_severity'][s] or ''}</td>" for s in SEVERITIES)
                       + f"<td>{r['breaks']}</td><td>{_ratio_pct(r.get('collateralisation_ratio'))}</td></tr>")
        out.append("</tbody></table>")
    elif report["status"] != "failed":
        out.append(f"<p class='ok'>All {len(products)} product(s) reconcile: no breaks.</p>")
    clean = sorted(set(products) - {r["product"] for r in ranked})
    if clean and ranked:
        out.append("<p>No breaks: " + ", ".join(f"<a href='#product-{e(c)}'>{e(c)}</a>" for c in clean) + "</p>")
    out.append("</section>")
    if report.get("notes"):
        out.append("<ul class='notes'>" + "".join(f"<li>{e(n)}</li>" for n in report["notes"]) + "</ul>")
    order = [r["product"] for r in ranked if r["product"] in products] + clean
    for name in order:
        p = products[name]
        dec = int(p.get("decimals") or 18)
        unit = p.get("unit") or ""
        width, bar_cls, bar_label = supply_bar(p)
        root_s = ("<span class='ok'>matches</span>" if p.get("root_matches") else
                  "<span class='bad'>differs</span>" if p.get("root_matches") is False else "–")
        out.append(f"<section class='card product' id='product-{e(name)}' data-product='{e(name)}'><h2>{e(name)}</h2>")
        out.append(f"<div class='sub'>token <code>{e(str(p['token']))}</code> · attestor <code>{e(str(p['attestor']))}</code>"
                   f" · {e(token_state(p))}</div>")
        out.append("<div class='grid'>")
        for label, value in (
            ("token supply", f"{_units(p['total_supply'], dec)} {unit}"),
            ("attested reserve", f"{_units(p.get('attested_reserve'), dec)} {unit}"),
            ("collateralisation", _ratio_pct(p.get("collateralisation_ratio"))),
            ("custody reserve now", f"{_units(p.get('custody_reserve_now'), dec)} {unit} ({p.get('custody_lots_now')} lots)"),
            ("attestation age", _age(p.get("attestation_age_seconds"))),
            ("attested root", root_s),
            ("escrowed / pending", f"{_units(p.get('total_escrowed'), dec)} / {p.get('pending_redemptions', 0)} requests"),
            ("breaks", str(len(by_product.get(name, [])))),
            ("token state", token_state(p)),
        ):
            out.append(f"<div class='kpi'><span>{e(label)}</span><b>{value if label == 'attested root' else e(value)}</b></div>")
        out.append("</div>")
        out.append(f"<div>supply vs attested reserve: {e(bar_label)}</div><div class='bar' data-width='{width:.2f}'>"
                   f"<i class='{bar_cls}' style='width:{width:.2f}%'></i></div>")
        out.append("<h3>Attestation</h3>" + _attestation_block(p, max_age))
        out.append("<h3>Custody snapshots used</h3>" + _sources_table(
            [("at the attestation's as-of", p.get("custody_at_as_of")), ("now", p.get("custody_now"))]))
        th = p.get("thresholds") or {}
        out.append("<h3>Thresholds applied</h3><p class='thresholds'>attestation older than "
                   f"{_age(th.get('max_attestation_age_seconds'))} is stale · redemption pending longer than "
                   f"{_age(th.get('max_redemption_pending_seconds'))} is a break · exit 1 at "
                   f"{e(report['severity_threshold'])} or worse · {e(str(chain.get('confirmations', '–')))} confirmations</p>")
        hist = p.get("history") or []
        out.append(f"<h3>History ({len(hist)} run(s))</h3>" + (history_svg(name, hist) if hist else "<p>No history yet.</p>"))
        bs = by_product.get(name, [])
        out.append("<h3>Breaks</h3>")
        if bs:
            out.append("<table class='breaks'><thead><tr><th>severity</th><th>kind</th><th>lot</th><th>warehouse</th>"
                       "<th>amount</th><th>what</th><th>evidence</th></tr></thead><tbody>")
            for b in bs[:HTML_BREAKS_PER_PRODUCT]:
                ev = json.dumps(b.get("evidence") or {}, indent=1, sort_keys=True, default=json_default)
                out.append(f"<tr><td><span class='sev {e(b['severity'])}'>{e(b['severity'])}</span></td><td>{e(b['kind'])}</td>"
                           f"<td>{e(b['lot_id'] or '')}</td><td>{e(b['warehouse_id'] or '')}</td>"
                           f"<td>{e(_units(b['amount'], dec) if b['amount'] else '')}</td><td>{e(b['message'])}</td>"
                           f"<td><details><summary>evidence</summary><pre>{e(ev)}</pre></details></td></tr>")
            out.append("</tbody></table>")
            if len(bs) > HTML_BREAKS_PER_PRODUCT:
                out.append(f"<p>… and {len(bs) - HTML_BREAKS_PER_PRODUCT} more in the CSV/JSON report.</p>")
        else:
            out.append("<p class='ok'>No breaks.</p>")
        out.append("</section>")
    other = [b for b in report["breaks"] if b["product"] not in products]
    if other:
        out.append("<div class='card'><h2>Other</h2><ul>")
        out.extend(f"<li>{e(b['kind'])}: {e(b['message'])}</li>" for b in other[:HTML_BREAKS_PER_PRODUCT])
        out.append("</ul></div>")
    out.append("</body></html>")
    return "\n".join(out)


def write_html(report: Report, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return path


def write_all(report: Report, out_dir: str | Path, stem: str = "reconcile") -> dict[str, str]:
    out_dir = Path(out_dir)
    return {
        "json": str(write_json(report, out_dir / f"{stem}.json")),
        "csv": str(write_csv(report, out_dir / f"{stem}-breaks.csv")),
        "html": str(write_html(report, out_dir / f"{stem}.html")),
    }
