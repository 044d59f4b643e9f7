"""bench.track_eval.smoothed: the live tracker's output filter over a batch prediction."""

import numpy as np
import torch

from bench.track_eval import smoothed
from models import bundle as B
from models.config import profile
from models.filters import SmoothingConfig


def _jittery_prediction(b, n=30):
    """z, H of a face held still with per-frame noise (what a jittery detector gives)."""
    rng = np.random.default_rng(0)
    z = (0.3 + 0.05 * rng.normal(size=(n, b.cfg.z_dim))).astype(np.float32)
    H = np.tile(np.array([[30.0, 0.1, 0.0, 0.0, 32.0, 32.0]], np.float32), (n, 1))
    H[:, 1:4] += 0.01 * rng.normal(size=(n, 3)).astype(np.float32)
    H[:, 4:] += rng.normal(size=(n, 2)).astype(np.float32)
    with torch.no_grad():
        G = b.dam.decode_geometry(torch.from_numpy(z)).numpy()
    return {"z": z, "H": H, "G": G}


def test_strength_zero_keeps_the_prediction_and_the_default_steadies_it():
    torch.manual_seed(0)
    b = B.build(profile("tiny"))
    pred = _jittery_prediction(b)
    n = len(pred["z"])
    boxes = np.tile([[10.0, 20.0, 100.0]], (n, 1))
    found = np.ones(n, bool)
    same = smoothed(b, pred, boxes, found, 30.0, SmoothingConfig(strength=0.0))
    assert np.allclose(same["G"], pred["G"], atol=1e-5) and np.allclose(same["H"], pred["H"], atol=1e-4)
    sm = smoothed(b, pred, boxes, found, 30.0)
    assert sm["G"].shape == pred["G"].shape and sm["H"].shape == pred["H"].shape
    assert np.abs(np.diff(sm["z"], axis=0)).mean() < 0.6 * np.abs(np.diff(pred["z"], axis=0)).mean()
    with torch.no_grad():  # G is decoded again from the filtered z
        assert np.allclose(sm["G"], b.dam.decode_geometry(torch.from_numpy(sm["z"])).numpy(), atol=1e-5)
    assert np.abs(np.diff(sm["H"][:, 4:], axis=0)).mean() < 0.6 * np.abs(np.diff(pred["H"][:, 4:], axis=0)).mean()
