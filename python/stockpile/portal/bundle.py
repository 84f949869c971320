"""Build ``static/merkle-tree.js``: @openzeppelin/merkle-tree (npm) bundled for the browser with
esbuild (npm, pinned in package.json). The built file is committed; rebuild after changing either
package: ``python -m stockpile.portal.bundle`` (tests check the committed file is what this builds)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from stockpile.toolchain.paths import node_bin

HERE = Path(__file__).resolve().parent
ENTRY = HERE / "js" / "merkle-entry.js"
OUT = HERE / "static" / "merkle-tree.js"
ARGS = ["--bundle", "--minify", "--format=iife", "--platform=browser", "--target=es2020", "--legal-comments=eof",
        "--log-level=warning"]


def build(out: Path = OUT) -> Path:
    subprocess.run([str(node_bin("esbuild")), str(ENTRY), *ARGS, f"--outfile={out}"], check=True,
                   cwd=HERE.parents[2])
    return out


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT))
