"""Build hook: the wheel and the sdist carry the product contracts' compiled artifacts.

The artifacts (ABI, bytecode, storage layout) are compiled from ``contracts/`` by
``stockpile build`` into ``python/stockpile/contracts/artifacts/`` (not committed); ``make dist``
runs that build first. Test and benchmark contracts (``contracts/test``, ``contracts/bench``, or
anything compiled from outside ``contracts/`` and the npm packages) stay out of the distributions.
A non-editable build without the product artifacts fails instead of shipping an SDK without ABIs.

It also compiles ``stockpile.core._keccak`` (keccak256 over many rows at once, for the Merkle trees
of large custody exports). That extension is optional: where it cannot be built (no C compiler),
the install goes on and :mod:`stockpile.core.hashing` hashes row by row instead, same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ARTIFACTS = Path("stockpile") / "contracts" / "artifacts"
SOURCE_ARTIFACTS = Path(__file__).resolve().parent / "python" / ARTIFACTS
# Contracts every product deployment needs: a build without them is refused.
REQUIRED = ("CommodityToken", "ReserveAttestor", "PriceFeed", "Directory")
NOT_SHIPPED = ("contracts/test/", "contracts/bench/")


ROOT = Path(__file__).resolve().parent


def is_product(artifact: Path) -> bool:
    """A product contract's artifact; in a checkout, also one whose source still exists (a stale
    artifact of a deleted contract is not shipped). The sdist holds no sources: it is filtered here."""
    source = json.loads(artifact.read_text()).get("source", "")
    if not source.startswith(("contracts/", "node_modules/")) or source.startswith(NOT_SHIPPED):
        return False
    return not (ROOT / "contracts").is_dir() or (ROOT / source).is_file()


def check_artifacts(folder: Path) -> None:
    missing = [name for name in REQUIRED if not (folder / f"{name}.json").is_file()]
    if missing:
        raise SystemExit(f"no compiled artifacts for {', '.join(missing)} in {folder}: run `make dist` "
                         "(or `stockpile build` first); a distribution without ABIs is refused")


def drop_non_product(folder: Path) -> None:
    for artifact in folder.glob("*.json") if folder.is_dir() else []:
        if not is_product(artifact):
            artifact.unlink()


class BuildPy(build_py):
    def run(self) -> None:
        if not getattr(self, "editable_mode", False):
            check_artifacts(SOURCE_ARTIFACTS)
        super().run()
        if not getattr(self, "editable_mode", False):
            drop_non_product(Path(self.build_lib) / ARTIFACTS)


class Sdist(sdist):
    def run(self) -> None:
        check_artifacts(SOURCE_ARTIFACTS)
        super().run()

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        drop_non_product(Path(base_dir) / "python" / ARTIFACTS)


if __name__ == "__main__":  # setuptools' build backend runs this file as __main__; tests import it
    setup(cmdclass={"build_py": BuildPy, "sdist": Sdist},
          ext_modules=[Extension("stockpile.core._keccak", ["python/stockpile/core/_keccak.c"], optional=True)])
