"""Line charts as inline SVG, drawn on the server (no script, no network): a series is a list of
(unix time, Decimal value) points, drawn as a step line (a value holds until the next point)."""

from __future__ import annotations

from decimal import Decimal
from html import escape

from stockpile.core.times import format_time


def _fmt_time(t: float) -> str:
    return format_time(t, minutes=True)


def _fmt_value(v: Decimal) -> str:
    return f"{v:,.2f}" if abs(v) < 10**12 else f"{v:.3e}"


def step_chart(title: str, series: list[tuple[str, str, list[tuple[int, Decimal]]]], until: int | None = None,
               width: int = 640, height: int = 230, css_class: str = "chart", zero_based: bool = True) -> str:
    """SVG markup: one polyline per non-empty series (class ``series``, ``data-points`` = count),
    extended to ``until`` (the snapshot's block time) so the last value shows as a level."""
    pad_l, pad_r, pad_t, pad_b = 90, 16, 42, 34
    drawn = [(n, c, sorted(pts)) for n, c, pts in series if pts]
    head = (f'<svg class="{css_class}" role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
            f'<text x="{pad_l}" y="16" class="chart-title">{escape(title)}</text>')
    if not drawn:
        return head + f'<text x="{pad_l}" y="{height // 2}" class="chart-empty">no data yet</text></svg>'
    ts = [t for _n, _c, pts in drawn for t, _v in pts] + ([until] if until else [])
    vs = [v for _n, _c, pts in drawn for _t, v in pts]
    t0, t1 = min(ts), max(ts)
    v0, v1 = min(vs), max(vs)
    if zero_based:
        v0 = min(v0, Decimal(0))
    else:  # a margin around the range, so a flat line is not drawn on the axis
        margin = (v1 - v0) / 10 or abs(v1) / 100 or Decimal(1)
        v0, v1 = v0 - margin, v1 + margin
    if t1 == t0:
        t1 = t0 + 1
    if v1 == v0:
        v1 = v0 + 1
    iw, ih = width - pad_l - pad_r, height - pad_t - pad_b

    def x(t):
        return pad_l + (t - t0) / (t1 - t0) * iw

    def y(v):
        return pad_t + ih - float((Decimal(v) - v0) / (v1 - v0)) * ih

    parts = [head,
             f'<line x1="{pad_l}" y1="{pad_t + ih}" x2="{pad_l + iw}" y2="{pad_t + ih}" class="axis"/>',
             f'<line x1="{pad_l}" y1="{pad_t}" x2="{pad_l}" y2="{pad_t + ih}" class="axis"/>',
             f'<text x="{pad_l - 6}" y="{pad_t + 4}" text-anchor="end" class="tick">{_fmt_value(v1)}</text>',
             f'<text x="{pad_l - 6}" y="{pad_t + ih}" text-anchor="end" class="tick">{_fmt_value(v0)}</text>',
             f'<text x="{pad_l}" y="{height - 8}" class="tick">{_fmt_time(t0)}</text>',
             f'<text x="{pad_l + iw}" y="{height - 8}" text-anchor="end" class="tick">{_fmt_time(t1)}</text>']
    legend_x = pad_l
    for k, (name, color, pts) in enumerate(drawn):
        coords = []
        prev = None
        for t, v in pts:
            if prev is not None:
                coords.append(f"{x(t):.1f},{y(prev):.1f}")
            coords.append(f"{x(t):.1f},{y(v):.1f}")
            prev = v
        if until and until > pts[-1][0]:
            coords.append(f"{x(until):.1f},{y(prev):.1f}")
        parts.append(f'<polyline class="series" data-series="{escape(name)}" data-points="{len(pts)}" fill="none" '
                     f'stroke="{color}" stroke-width="2" points="{" ".join(coords)}"/>')
        for t, v in pts:
            parts.append(f'<circle cx="{x(t):.1f}" cy="{y(v):.1f}" r="2.5" fill="{color}">'
                         f'<title>{escape(name)} {_fmt_value(Decimal(v))} at {_fmt_time(t)}</title></circle>')
        lx = legend_x + k * 170
        parts.append(f'<rect x="{lx}" y="27" width="12" height="4" fill="{color}"/>'
                     f'<text x="{lx + 16}" y="33" class="legend">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
