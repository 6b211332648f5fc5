"""Small builders shared by the policies tests: real region files, real catalog."""
from __future__ import annotations

import pytest

from policies.loader import load_catalog, load_region


@pytest.fixture(scope="session")
def catalog():
    return load_catalog()


@pytest.fixture(scope="session")
def cq():
    return load_region("cq")


@pytest.fixture(scope="session")
def js():
    return load_region("js")


@pytest.fixture(scope="session")
def yn():
    return load_region("yn")


@pytest.fixture(scope="session")
def zj():
    return load_region("zj-jinhua")

