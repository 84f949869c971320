from __future__ import annotations

import pytest

from stockpile.token.testing import build_stack


@pytest.fixture(scope="module")
def stack(project, accounts, chain):
    return build_stack(project, accounts, chain)
