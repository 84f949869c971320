"""Fixtures of the CLI tests: an anvil node with the sample deployment file applied by the deploy engine
(five products, their attestors, the price-feed hub and adapters, the Directory, basket SMB)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """The sample deployment on anvil (devkit.sample_chain: deployed once per process, this module on a
    snapshot of it, reverted at its end); a namespace with the node, its URL, the manifest and a few addresses."""
    from devkit import sample_chain

    with sample_chain.lend(tmp_path_factory.mktemp("cli")) as lent:
        yield lent
