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


def _reference(xs, ts, units, cfg: PoseKalmanConfig) -> np.ndarray:
    """The same model written independently: full 2x2 matrices, state in the measurement's own
    units (px), with the noise, the process noise and v0 scaled by each frame's unit."""
    sigma = np.asarray(cfg.sigma)
    out = np.empty_like(xs)
    for k in range(xs.shape[1]):
        s0 = sigma[k]
        x = np.array([xs[0, k], 0.0])
        P = np.diag([(s0 * units[0, k]) ** 2, (s0 * 30.0 * units[0, k]) ** 2])
        out[0, k] = xs[0, k]
        t_prev = ts[0]
        for i in range(1, len(xs)):
            u = units[i, k]
            dt = max(ts[i] - t_prev, 0.0)
            t_prev = max(ts[i], t_prev)
            v0 = cfg.speed * s0 * 30.0 * u
            q = cfg.q_rest * (s0 * u) ** 2 * (1.0 + (x[1] / v0) ** 2)
            F = np.array([[1.0, dt], [0.0, 1.0]])
            Q = q * np.array([[dt ** 3 / 3, dt ** 2 / 2], [dt ** 2 / 2, dt]])
            x, P = F @ x, F @ P @ F.T + Q
            Hm = np.array([[1.0, 0.0]])
            S = Hm @ P @ Hm.T + (s0 * u) ** 2
            K = P @ Hm.T / S
            x = x + (K * (xs[i, k] - x[0])).ravel()
            P = (np.eye(2) - K @ Hm) @ P
            out[i, k] = x[0]
    return out


def test_matches_a_full_matrix_kalman_with_uneven_time_and_a_changing_face_size():
    """Uneven frame times (a repeated stamp among them), a face box that grows and shrinks and a
    moving, noisy signal: every predict / update / re-scaling step is exercised."""
    rng = np.random.default_rng(3)
    n = 120
    dts = rng.uniform(1 / 60, 1 / 15, n)
    dts[40] = 0.0  # a repeated time stamp: update only
    ts = np.cumsum(dts)
    side = 150 + 60 * np.sin(np.linspace(0, 6, n))
    units = np.stack([np.ones(n), side], 1)  # an angle and a translation in face sizes
    xs = np.stack([0.3 * np.sin(2 * ts), side * (0.1 * ts)], 1) + units * rng.normal(0, 0.01, (n, 2))
    cfg = PoseKalmanConfig(sigma=(0.01, 0.006), q_rest=200.0, speed=0.2, adapt_window=0)  # the textbook filter
    f = PoseKalman(cfg)
    ours = np.stack([f(xs[i], ts[i], units[i]) for i in range(n)])
    assert np.allclose(ours, _reference(xs, ts, units, cfg), rtol=1e-9, atol=1e-9)


def test_config_rejects_noise_or_speed_that_would_divide_by_zero():
    for bad in (dict(sigma=(0.0, 0.01)), dict(speed=0.0), dict(q_rest=-1.0), dict(sigma=(float("nan"),))):
        with pytest.raises(ValueError):
            PoseKalmanConfig(**bad)


def test_a_noisier_input_than_sigma_is_measured_and_held_steadier_a_clean_one_is_not_touched():
    """The observation noise in use is max(sigma, the measured scatter): white noise 3 x sigma on a
    still head reads as ~3 sigma and the output jitters less than with sigma alone; noise at sigma
    on a steadily turning head reads as sigma (the motion does not count as noise)."""
    rng = np.random.default_rng(7)
    n, fps = 300, 30.0
    t = np.arange(n) / fps
    noisy = 0.03 * rng.normal(size=(n, 1))  # 3 x sigma = 0.01
    adaptive, fixed = PoseKalman(CFG), PoseKalman(PoseKalmanConfig(sigma=(0.01,), q_rest=200.0, speed=0.2,
                                                                   adapt_window=0))
    ya, yf = _run(adaptive, noisy), _run(fixed, noisy)
    assert adaptive.noise()[0] == pytest.approx(0.03, rel=0.25)
    jitter = lambda y: np.std(np.diff(y[100:, 0]))  # noqa: E731
    assert jitter(ya) < 0.7 * jitter(yf)
    turning = (0.5 * t)[:, None] + 0.01 * rng.normal(size=(n, 1))  # 0.5 rad/s and noise at sigma
    f = PoseKalman(CFG)
    _run(f, turning)
    assert f.noise()[0] == pytest.approx(0.01, rel=0.3)
    assert PoseKalmanConfig(adapt_window=45).scaled(2.0).adapt_window == 45


def test_the_measured_noise_ignores_dropped_frames_repeated_stamps_and_a_changing_face_size():
    """A steady turn with uneven frame gaps (dropped frames), repeated time stamps among them, and a
    still face far from the frame's origin whose box size jitters: none of it reads as noise."""
    rng = np.random.default_rng(11)
    gaps = np.tile([1, 2, 1, 1, 3], 40) / 30.0
    t = np.cumsum(gaps)
    f = PoseKalman(CFG)
    for i, ti in enumerate(t):
        x = np.array([1.0 * ti + 0.01 * rng.normal()])  # 1 rad/s, noise at sigma
        f(x, ti)
        if i % 7 == 0:
            f(x, ti)  # the same stamp again: update only, not a sample
    assert f.noise()[0] == pytest.approx(0.01, rel=0.3)
    cfg = PoseKalmanConfig(sigma=(0.006,), q_rest=200.0, speed=0.2)
    g = PoseKalman(cfg)
    for i in range(200):
        side = 150.0 + 0.5 * rng.normal()  # the box side jitters by 0.5 px
        g(np.array([400.0 + 0.006 * 150 * rng.normal()]), i / 30, np.array([side]))  # still, 400 px out
    assert g.noise(np.array([150.0]))[0] == pytest.approx(0.006, rel=0.3)
