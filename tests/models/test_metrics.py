import numpy as np
import pytest
import torch

from models.metrics import reprojection_error, temporal_stability, temporal_stability_per_frame


def test_constant_velocity_is_one():
    t = torch.arange(10, dtype=torch.float64)[:, None, None]
    v = torch.randn(1, 50, 3, dtype=torch.float64)
    G = torch.randn(1, 50, 3, dtype=torch.float64) + t * v
    assert abs(temporal_stability(G) - 1.0) < 1e-6


def test_jitter_is_worse():
    rng = np.random.default_rng(0)
    t = np.arange(30.0)[:, None, None]
    G = t * np.ones((1, 20, 3)) * 0.1
    jit = G + rng.normal(0, 0.05, G.shape)
    assert temporal_stability(jit) > 1.05
    assert temporal_stability(G + rng.normal(0, 0.2, G.shape)) > temporal_stability(jit)
    assert len(temporal_stability_per_frame(jit)) == 28


def test_offset_keeps_still_points_finite():
    # still points: (0 + 0 + 0.1) / (0 + 0.1) = 1, finite instead of 0/0
    assert temporal_stability(np.zeros((5, 3, 2)), offset=0.1) == pytest.approx(1.0)
    # moving points: (|d| + |d| + 0.1) / (|2d| + 0.1)
    assert temporal_stability(np.zeros((5, 3, 2)) + np.arange(5)[:, None, None], offset=0.1) == pytest.approx(
        (np.sqrt(2) * 2 + 0.1) / (2 * np.sqrt(2) + 0.1))


def test_shape_error():
    with pytest.raises(ValueError):
        temporal_stability(np.zeros((2, 3, 3)))


def test_reprojection_error():
    a = np.zeros((4, 2))
    b = np.array([[3.0, 4.0], [0, 0], [0, 0], [6, 8]])
    assert reprojection_error(a, b) == pytest.approx(15 / 4)
    assert reprojection_error(a, b, visible=np.array([True, False, False, True])) == pytest.approx(7.5)


def test_the_project_offsets_are_the_documented_ones():
    from models.metrics import G_TEMPORAL_OFFSET, LANDMARK_2D_OFFSET

    assert G_TEMPORAL_OFFSET == 1e-3  # model units (~0.07 mm on a real face)
    assert LANDMARK_2D_OFFSET == 0.1  # frame pixels (issue 5's 2D measure)


def test_2d_landmark_stability_uses_the_offset():
    """bench.output_filter's 2D score: still points are exactly 1 (0/0 without the offset), and a
    point that steps 1 px and back scores (1 + 1 + 0.1) / (0 + 0.1) = 21."""
    from bench.output_filter import _stab2d

    still = np.zeros((6, 68, 2))
    assert _stab2d(still) == pytest.approx(1.0)
    wobble = np.zeros((3, 68, 2))
    wobble[1, :, 0] = 1.0
    assert _stab2d(wobble) == pytest.approx(21.0)


def test_adaptation_scores_still_geometry_as_perfectly_stable():
    """models.adapt.evaluate scores Eq. 10 with G_TEMPORAL_OFFSET: a recording of one frame
    repeated decodes the same geometry every frame, which is 1.0 (0/0 without the offset)."""
    from models import bundle as B
    from models.adapt import AdaptConfig, Recording, _DAModel, evaluate
    from models.config import profile

    from .test_adapt import _recording

    torch.manual_seed(0)
    b = B.build(profile("tiny"))
    rec = _recording()
    same = Recording(rec.crops[:1].repeat(6, 1, 1, 1), rec.keypoints[:1].repeat(6, 1, 1), torch.ones(6, dtype=bool))
    out = evaluate(_DAModel(b.i2znet, b.color, b.dam, b.topology, AdaptConfig()), same)
    assert out["temporal"] == pytest.approx(1.0, abs=1e-3)
