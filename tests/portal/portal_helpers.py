"""Start `stockpile portal serve` on a deployment made by `stockpile.portal.devnet.prepare`."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from stockpile.toolchain.anvil import free_port

STOCKPILE = Path(sys.executable).parent / "stockpile"


def start_portal(deployment, *extra: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(Path(deployment["work"]) / f"portal-{port}.log", "wb")
    proc = subprocess.Popen([str(STOCKPILE), "portal", "serve", "--products", deployment["products"], "--db",
                             deployment["db"], "--port", str(port), *extra], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"portal exited {proc.returncode}: {Path(log.name).read_text()}")
        try:
            if httpx.get(url + "/api/status", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise TimeoutError(f"portal did not answer: {Path(log.name).read_text()}")
