"""The tracker's output filter (1-euro on z and the frame-pixel pose)."""

import numpy as np
import pytest

from models.filters import OneEuro, OneEuroConfig, OutputFilter, SmoothingConfig, smooth_sequence


def _run(f: OneEuro, x: np.ndarray, fps: float = 30.0) -> np.ndarray:
    return np.stack([f(x[i], i / fps) for i in range(len(x))])


def test_constant_signal_passes_unchanged():
    x = np.full((50, 3), 2.5)
    assert np.allclose(_run(OneEuro(OneEuroConfig()), x), 2.5)


def test_noise_on_a_still_value_is_damped():
    rng = np.random.default_rng(0)
    x = 1.0 + 0.05 * rng.normal(size=(300, 4))
    y = _run(OneEuro(OneEuroConfig(min_cutoff=1.0, beta=0.0)), x)
    # 1 Hz at 30 FPS: an exponential average with a = 0.173 keeps sqrt(a / (2 - a)) = 0.31 of
    # white noise's std
    assert y[30:].std() / x[30:].std() == pytest.approx(0.31, abs=0.04)


def test_speed_opens_the_cutoff_less_lag_on_fast_motion():
    x = (np.arange(60) * 0.2)[:, None]  # a fast ramp: 6 units/s
    lag_fixed = x[-1, 0] - _run(OneEuro(OneEuroConfig(min_cutoff=1.0, beta=0.0)), x)[-1, 0]
    lag_adapt = x[-1, 0] - _run(OneEuro(OneEuroConfig(min_cutoff=1.0, beta=2.0)), x)[-1, 0]
    assert lag_fixed > 0.5  # a plain low-pass trails a ramp by speed / (2 pi fc) ~ 1 unit
    assert lag_adapt < 0.25 * lag_fixed


def test_strength_zero_is_the_identity_and_strength_scales_the_cutoff():
    f = OutputFilter(SmoothingConfig(strength=0.0))
    z, H = np.arange(4.0), np.array([3.0, 0.1, 0.2, 0.3, 10.0, 20.0])
    for t in range(3):
        z2, H2 = f(z + t, H + t, t / 30, 100.0)
        assert np.array_equal(z2, z + t) and np.array_equal(H2, H + t)
    base = SmoothingConfig().z.min_cutoff
    assert SmoothingConfig(strength=0.75).scaled(SmoothingConfig().z).min_cutoff == pytest.approx(base / 2)
    assert SmoothingConfig(strength=0.25).scaled(SmoothingConfig().z).min_cutoff == pytest.approx(base * 2)


def test_gap_or_step_back_restarts_and_focal_scale_stays_positive():
    f = OutputFilter(SmoothingConfig(strength=0.9))
    H = np.array([3.0, 0.0, 0.0, 0.0, 50.0, 50.0])
    f(np.zeros(2), H, 0.0, 100.0)
    z1, H1 = f(np.ones(2), 2 * H, 1 / 30, 100.0)
    assert 0 < z1[0] < 1 and 3.0 < H1[0] < 6.0 and 50 < H1[4] < 100  # smoothed towards the new value
    z2, H2 = f(np.ones(2), 2 * H, 2.0, 100.0)  # 2 s later: a gap, start again from the input
    assert np.allclose(z2, 1) and np.allclose(H2, 2 * H)
    f(np.zeros(2), H, 2.0 + 1 / 30, 100.0)
    z3, _ = f(np.full(2, 5.0), H, 0.0, 100.0)  # a looped video: time went back
    assert np.allclose(z3, 5.0)


def test_translation_speed_is_measured_in_face_sizes():
    """The same motion in face sizes is filtered the same at any image resolution."""
    rng = np.random.default_rng(1)
    n = 90
    t_small = np.cumsum(rng.normal(0, 2, (n, 2)), 0)  # px at a 100-px face
    outs = []
    for scale in (1.0, 4.0):
        f = OutputFilter()
        H = np.zeros((n, 6))
        H[:, 0] = 3.0 * scale
        H[:, 4:] = scale * t_small
        outs.append(np.stack([f(np.zeros(1), H[i], i / 30, 100.0 * scale)[1][4:] for i in range(n)]) / scale)
    assert np.allclose(outs[0], outs[1])


def test_smooth_sequence_smooths_and_restarts_on_lost_faces():
    rng = np.random.default_rng(2)
    n = 40
    z = rng.normal(size=(n, 3))
    H = np.concatenate([np.full((n, 1), 2.0), rng.normal(0, 0.05, (n, 3)), rng.normal(100, 2, (n, 2))], 1)
    t = np.arange(n) / 30
    side = np.full(n, 120.0)
    found = np.ones(n, bool)
    found[20] = False
    zs, Hs = smooth_sequence(z, H, t, side, found=found)
    f = OutputFilter()  # the live filter on the first frames gives the same answers
    for i in range(3):
        zi, Hi = f(z[i], H[i], t[i], side[i])
        assert np.allclose(zs[i], zi) and np.allclose(Hs[i], Hi)
    assert np.allclose(zs[0], z[0]) and not np.allclose(zs[1], z[1])  # starts at the input, then smooths
    assert np.allclose(zs[21], z[21]) and np.allclose(Hs[21], H[21])  # first frame after the loss
    assert np.abs(np.diff(zs[1:20], axis=0)).mean() < np.abs(np.diff(z[1:20], axis=0)).mean()


def test_a_pose_without_a_valid_focal_scale_passes_through():
    """An untrained avatar can answer f <= 0: no log of it, the raw values go on unfiltered."""
    f = OutputFilter()
    H_bad = np.array([-0.5, 0.1, 0.0, 0.0, 10.0, 10.0])
    f(np.zeros(2), np.array([3.0, 0, 0, 0, 10.0, 10.0]), 0.0, 100.0)
    z, H = f(np.ones(2), H_bad, 1 / 30, 100.0)
    assert np.array_equal(z, np.ones(2)) and np.array_equal(H, H_bad)
    z, _ = f(np.full(2, 4.0), np.array([3.0, 0, 0, 0, 10.0, 10.0]), 2 / 30, 100.0)
    assert np.allclose(z, 4.0)  # started again after the invalid frame


def test_a_non_finite_answer_passes_through_and_does_not_poison_the_filter():
    f = OutputFilter()
    H = np.array([3.0, 0.1, 0.0, 0.0, 10.0, 10.0])
    f(np.zeros(2), H, 0.0, 100.0)
    f(np.zeros(2), H, 1 / 30, 100.0)
    z, H_nan = f(np.array([np.nan, 0.0]), H, 2 / 30, 100.0)
    assert np.isnan(z[0])
    z, H2 = f(np.ones(2), H + 1.0, 3 / 30, 100.0)
    assert np.allclose(z, 1.0) and np.allclose(H2, H + 1.0)  # restarted from the next good frame


@pytest.mark.parametrize("bad", ["H", "side"])
def test_a_non_finite_pose_or_face_size_passes_through_and_restarts(bad):
    f = OutputFilter()
    H = np.array([3.0, 0.1, 0.0, 0.0, 10.0, 10.0])
    f(np.zeros(2), H, 0.0, 100.0)
    f(np.zeros(2), H, 1 / 30, 100.0)
    H_bad = H.copy()
    if bad == "H":
        H_bad[2] = np.nan
    _, H_out = f(np.zeros(2), H_bad, 2 / 30, 0.0 if bad == "side" else 100.0)
    assert np.array_equal(H_out, H_bad, equal_nan=True)
    _, H2 = f(np.zeros(2), H + 1.0, 3 / 30, 100.0)
    assert np.allclose(H2, H + 1.0)  # restarted from the next good frame, state not poisoned
