"""eth_getLogs over a block range in pages that halve when the node refuses a large range."""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass

RANGE_ERRORS = (
    "query returned more than", "block range", "range too large", "range is too large", "too many blocks",
    "exceed", "limit", "too many results", "response size", "max range", "query timeout",
)
RANGE_CODES = {-32005, -32602, -32600, -32000}


@dataclass
class LogStats:
    requests: int = 0
    refusals: int = 0
    logs: int = 0
    min_range: int | None = None


def is_range_refusal(exc: BaseException) -> bool:
    msg = str(exc).lower()
    args = getattr(exc, "args", ())
    code = None
    if args and isinstance(args[0], dict):
        code = args[0].get("code")
        msg += " " + str(args[0].get("message", "")).lower()
    rpc = getattr(exc, "rpc_response", None)
    if isinstance(rpc, dict) and isinstance(rpc.get("error"), dict):
        code = rpc["error"].get("code", code)
        msg += " " + str(rpc["error"].get("message", "")).lower()
    if code is not None and code not in RANGE_CODES:
        return False
    return any(s in msg for s in RANGE_ERRORS)


def paged_logs(w3, addresses: Sequence[str], from_block: int, to_block: int, max_range: int = 10_000,
               stats: LogStats | None = None, on_page=None) -> Iterator[list]:
    """Yield lists of logs of ``addresses`` in [from_block, to_block], ascending, page by page.

    A page the node refuses as too large is halved and retried (down to one block, after which
    the error is raised); the smaller size is kept for the following pages and doubled back
    after a run of successes."""
    stats = stats if stats is not None else LogStats()
    step = max(1, max_range)
    start = from_block
    ok_streak = 0
    while start <= to_block:
        end = min(to_block, start + step - 1)
        stats.requests += 1
        try:
            logs = w3.eth.get_logs({"address": addresses, "fromBlock": start, "toBlock": end})
        except Exception as exc:  # web3 raises Web3RPCError / ValueError subclasses
            if is_range_refusal(exc) and end > start:
                stats.refusals += 1
                step = max(1, (end - start + 1) // 2)
                stats.min_range = step if stats.min_range is None else min(stats.min_range, step)
                ok_streak = 0
                continue
            raise
        stats.logs += len(logs)
        if on_page:
            on_page(end - start + 1)
        yield list(logs)
        start = end + 1
        ok_streak += 1
        if ok_streak >= 4 and step < max_range:
            step = min(max_range, step * 2)
            ok_streak = 0
