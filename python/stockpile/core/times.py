"""Times: unix seconds (int) inside the package, ISO 8601 UTC text (``2026-11-21T12:00:00Z``) at
its edges. The one parser and formatter for custody exports, CLI options, price sources, reports
and the portal."""

from __future__ import annotations

from datetime import UTC, datetime

MAX_TIME = 253_402_300_799  # 9999-12-31T23:59:59Z


def parse_datetime(text: str, assume_utc: bool = True) -> datetime:
    """ISO 8601 with ``Z`` or an offset -> an aware datetime. A time without a zone is UTC when
    ``assume_utc``, else ValueError."""
    dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if dt.tzinfo is None:
        if not assume_utc:
            raise ValueError(f"{text!r}: give a time zone (e.g. 2026-11-21T12:00:00Z) or unix seconds")
        dt = dt.replace(tzinfo=UTC)
    return dt


def parse_time(value: str, assume_utc: bool = True) -> int:
    """Unix seconds or ISO 8601 -> unix seconds, from 1970 to the year 9999; ValueError otherwise."""
    v = value.strip()
    if v.isascii() and v.isdigit():
        ts = int(v) if len(v) <= 12 else MAX_TIME + 1
    else:
        ts = int(parse_datetime(v, assume_utc).timestamp())
    if not 0 <= ts <= MAX_TIME:
        raise ValueError(f"time {value!r} is outside 1970-01-01 .. 9999-12-31")
    return ts


def format_time(ts: float | None, minutes: bool = False) -> str:
    """Unix seconds -> ``YYYY-MM-DDTHH:MM:SSZ`` ("" for None); ``minutes``: ``YYYY-MM-DD HH:MM``
    (charts, tables)."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M" if minutes else "%Y-%m-%dT%H:%M:%SZ")
