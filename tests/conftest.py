"""Shared fixtures. Tests run on CPU, with the tiny profile and small synthetic data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "real"
ARTIFACTS = REPO / "tests" / "_artifacts"


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not REAL_DATA.exists():
        pytest.skip(f"real test media not found at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def test_topology():
    from models.topology import make_test_mesh

    return make_test_mesh()
