"""The pose filter: constant-velocity Kalman with speed-dependent process noise."""

import numpy as np
import pytest

from models.filters import OneEuro, OneEuroConfig
from models.kalman import PoseKalman, PoseKalmanConfig

CFG = PoseKalmanConfig(sigma=(0.01,), q_rest=200.0, speed=0.2)


def _run(f, x: np.ndarray, unit=None, fps: float = 30.0) -> np.ndarray:
    u = np.ones_like(x) if unit is None else unit
    return np.stack([f(x[i], i / fps, u[i]) for i in range(len(x))])


def test_first_frame_is_the_measurement_and_a_constant_stays():
    x = np.full((40, 1), 0.3)
    y = _run(PoseKalman(CFG), x)
    assert np.allclose(y, 0.3)


def test_frame_to_frame_jitter_of_a_still_head_is_damped_more_than_by_the_old_1_euro():
    """What the stability measure (Eq. 10) reads is the frame-to-frame step: the second-order
    filter removes more of it than the 1-euro filter it replaced (3 Hz, beta 15)."""
    rng = np.random.default_rng(0)
    x = 0.01 * rng.normal(size=(600, 1))  # a still head observed with the configured noise

    def step_kept(f) -> float:
        y = _run(f, x)
        return float(np.diff(y[60:], axis=0).std() / np.diff(x[60:], axis=0).std())

    kalman, old = step_kept(PoseKalman(CFG)), step_kept(OneEuro(OneEuroConfig(min_cutoff=3.0, beta=15.0)))
    assert kalman < 0.3  # measured 0.27
    assert kalman < 0.8 * old  # old: 0.37


def test_steady_turn_is_followed_without_lag():
    """A constant-velocity turn: the velocity state absorbs it, no steady-state lag, while a
    first-order low-pass trails by speed / (2 pi fc)."""
    x = (np.arange(90) * 0.02)[:, None]  # 0.6 rad/s
    y = _run(PoseKalman(CFG), x)
    low_pass = _run(OneEuro(OneEuroConfig(min_cutoff=3.0, beta=0.0)), x)
    assert abs(x[-1, 0] - y[-1, 0]) < 1e-3
    assert x[-1, 0] - low_pass[-1, 0] > 0.02


def test_speed_lets_go_of_a_moving_head_sooner():
    """A head that starts turning: with the speed term the filter catches up faster than the
    same filter with its rest process noise only."""
    x = np.concatenate([np.zeros(30), np.arange(1, 31) * 0.03])[:, None]
    adaptive = _run(PoseKalman(CFG), x)
    fixed = _run(PoseKalman(PoseKalmanConfig(sigma=(0.01,), q_rest=200.0, speed=1e9)), x)
    lag_a = np.abs(x[30:45, 0] - adaptive[30:45, 0]).mean()
    lag_f = np.abs(x[30:45, 0] - fixed[30:45, 0]).mean()
    assert lag_a < 0.7 * lag_f


def test_a_resized_face_box_is_not_motion():
    """Translation is kept in face sizes: a fixed pixel position under a growing box stays put."""
    n = 30
    x = np.full((n, 1), 120.0)  # px
    side = np.linspace(100.0, 200.0, n)[:, None]
    y = _run(PoseKalman(CFG), x, side)
    assert np.allclose(y, 120.0)


def test_strength_scales_the_rest_process_noise_and_reset_restarts():
    from models.filters import SmoothingConfig

    q = SmoothingConfig().pose.q_rest
    assert SmoothingConfig(strength=0.75).scaled_pose().q_rest == pytest.approx(q / 16)
    assert SmoothingConfig(strength=0.25).scaled_pose().q_rest == pytest.approx(q * 16)
    f = PoseKalman(CFG)
    f(np.zeros(1), 0.0)
    f(np.zeros(1), 1 / 30)
    f.reset()
    assert np.allclose(f(np.full(1, 5.0), 2 / 30), 5.0)
