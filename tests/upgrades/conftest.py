from __future__ import annotations

import pytest

from devkit.ape_stack import build_stack


@pytest.fixture(scope="module")
def stack(project, accounts, chain):
    return build_stack(project, accounts, chain)
