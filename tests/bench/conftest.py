"""Fixtures shared by the benchmark tests."""

import pytest


@pytest.fixture(scope="session")
def tiny_head_bundle(tmp_path_factory):
    """A tiny-profile avatar on the head mesh, trained for a few steps on a small lab capture
    (the mesh carries the 68 landmarks and the salient points the benchmarks score).
    Returns (bundle path, scratch folder)."""
    from models.config import profile
    from models.train import TrainConfig, train
    from studio.capture import capture_lab

    d = tmp_path_factory.mktemp("pt")
    lab = capture_lab(0, 3, 6, d / "lab", size=96, tex_size=64)
    cfg = profile("tiny").replace(topology="head_v1")
    train("tiny", [lab], d / "work", d / "bundle", TrainConfig(dam_steps=15, i2z_steps=15, batch=4, i2z_batch=2),
          model_cfg=cfg, provenance={"person": 0})
    return d / "bundle", d
