"""Fixtures for the studio tests: the template asset and a few persons (loaded once)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def head():
    from studio.head import template

    return template()


@pytest.fixture(scope="session")
def person0():
    from studio.head import Person

    return Person(0)
