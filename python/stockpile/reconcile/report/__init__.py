"""Reports: JSON (machines), CSV of breaks (spreadsheets), HTML (people; self-contained)."""

from __future__ import annotations

import csv
import html
import json
from decimal import Decimal
from pathlib import Path

BREAK_COLUMNS = ["product", "kind", "severity", "lot_id", "warehouse_id", "amount", "message", "evidence"]
HTML_BREAKS_PER_PRODUCT = 500


def write_json(report: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def write_csv(report: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(BREAK_COLUMNS)
        for b in report["breaks"]:
            w.writerow([b["product"], b["kind"], b["severity"], b["lot_id"] or "", b["warehouse_id"] or "",
                        b["amount"] or "", b["message"], json.dumps(b["evidence"], sort_keys=True, default=str)])
    return path


def _units(base: str | None, decimals: int) -> str:
    if base in (None, ""):
        return "–"
    q = Decimal(base).scaleb(-decimals)
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


def token_state(p: dict) -> str:
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
code{font-size:.8rem;word-break:break-all}.ok{color:#1f8a4c;font-weight:600}.bad{color:#c0392b;font-weight:600}
"""


def render_html(report: dict) -> str:
    e = html.escape
    out = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
           "<meta name='viewport' content='width=device-width,initial-scale=1'>",
           f"<title>Stockpile reconciliation – {e(report['status'])}</title><style>{CSS}</style></head><body>"]
    chain = report.get("chain", {})
    out.append("<h1>Stockpile reserve reconciliation</h1>")
    out.append(f"<div class='sub'>generated {e(report['generated_at'])} · chain {e(str(chain.get('chain_id', '–')))} "
               f"block {e(str(chain.get('block', '–')))} ({e(str(chain.get('block_time', '')))}, "
               f"{e(str(chain.get('confirmations', '–')))} confirmations) · "
               f"<span class='status {e(report['status'])}'>{e(report['status'].upper())}</span> "
               f"· {len(report['breaks'])} break(s), exit code {report['exit_code']} "
               f"(threshold {e(report['severity_threshold'])})</div>")
    if report.get("error"):
        out.append(f"<div class='card'><b>Run failed:</b> <code>{e(report['error'])}</code></div>")
    if report.get("notes"):
        out.append("<ul class='notes'>" + "".join(f"<li>{e(n)}</li>" for n in report["notes"]) + "</ul>")
    by_product: dict[str, list[dict]] = {}
    for b in report["breaks"]:
        by_product.setdefault(b["product"], []).append(b)
    for p in report["products"]:
        dec = int(p.get("decimals") or 18)
        unit = p.get("unit") or ""
        supply = int(p["total_supply"])
        reserve = int(p["attested_reserve"]) if p.get("attested_reserve") else 0
        width = 100 if not reserve else min(100, round(100 * supply / reserve)) if reserve else 0
        over = supply > reserve
        ratio = p.get("collateralisation_ratio")
        ratio_s = f"{Decimal(ratio) * 100:.2f} %" if ratio else "–"
        root_s = ("<span class='ok'>matches</span>" if p.get("root_matches") else
                  "<span class='bad'>differs</span>" if p.get("root_matches") is False else "–")
        out.append(f"<div class='card'><h2>{e(p['product'])}</h2>")
        out.append(f"<div class='sub'>token <code>{e(str(p['token']))}</code> · attestor <code>{e(str(p['attestor']))}</code></div>")
        out.append("<div class='grid'>")
        for label, value in (
            ("token supply", f"{_units(p['total_supply'], dec)} {unit}"),
            ("attested reserve", f"{_units(p.get('attested_reserve'), dec)} {unit}"),
            ("collateralisation", ratio_s),
            ("custody reserve now", f"{_units(p.get('custody_reserve_now'), dec)} {unit} ({p.get('custody_lots_now')} lots)"),
            ("attestation age", _age(p.get("attestation_age_seconds"))),
            ("attested root", root_s),
            ("escrowed / pending", f"{_units(p.get('total_escrowed'), dec)} / {p.get('pending_redemptions', 0)} requests"),
            ("breaks", str(len(by_product.get(p["product"], [])))),
            ("token state", token_state(p)),
        ):
            out.append(f"<div class='kpi'><span>{e(label)}</span><b>{value if label == 'attested root' else e(value)}</b></div>")
        out.append("</div>")
        out.append(f"<div>supply vs attested reserve</div><div class='bar'><i class='{'over' if over else ''}' "
                   f"style='width:{width}%'></i></div>")
        bs = by_product.get(p["product"], [])
        if bs:
            out.append("<table><thead><tr><th>severity</th><th>kind</th><th>lot</th><th>warehouse</th><th>amount</th>"
                       "<th>what</th></tr></thead><tbody>")
            for b in bs[:HTML_BREAKS_PER_PRODUCT]:
                out.append(f"<tr><td><span class='sev {e(b['severity'])}'>{e(b['severity'])}</span></td><td>{e(b['kind'])}</td>"
                           f"<td>{e(b['lot_id'] or '')}</td><td>{e(b['warehouse_id'] or '')}</td>"
                           f"<td>{e(_units(b['amount'], dec) if b['amount'] else '')}</td><td>{e(b['message'])}</td></tr>")
            out.append("</tbody></table>")
            if len(bs) > HTML_BREAKS_PER_PRODUCT:
                out.append(f"<p>… and {len(bs) - HTML_BREAKS_PER_PRODUCT} more in the CSV/JSON report.</p>")
        else:
            out.append("<p class='ok'>No breaks.</p>")
        out.append("</div>")
    other = [b for b in report["breaks"] if b["product"] not in {p["product"] for p in report["products"]}]
    if other:
        out.append("<div class='card'><h2>Other</h2><ul>")
        out.extend(f"<li>{e(b['kind'])}: {e(b['message'])}</li>" for b in other[:HTML_BREAKS_PER_PRODUCT])
        out.append("</ul></div>")
    out.append("</body></html>")
    return "\n".join(out)


def write_html(report: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return path


def write_all(report: dict, out_dir: str | Path, stem: str = "reconcile") -> dict[str, str]:
    out_dir = Path(out_dir)
    return {
        "json": str(write_json(report, out_dir / f"{stem}.json")),
        "csv": str(write_csv(report, out_dir / f"{stem}-breaks.csv")),
        "html": str(write_html(report, out_dir / f"{stem}.html")),
    }
