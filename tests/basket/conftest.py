"""Fixtures of the basket tests: one five-component stack per module on ape's in-process network
(ape reverts the chain between tests)."""

from __future__ import annotations

import pytest

from basket_helpers import COMPONENTS, answer_of, build_basket_stack


@pytest.fixture(scope="module")
def stack(project, accounts, chain):
    return build_basket_stack(project, accounts, chain)


@pytest.fixture
def priced(stack):
    """Every component priced now (COMPONENTS prices)."""
    stack.prices.publish({c.fid: answer_of(p[4]) for c, p in zip(stack.components, COMPONENTS)})
    return stack
