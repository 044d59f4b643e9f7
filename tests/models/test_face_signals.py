"""models.face_signals: signals on a constructed landmark set, NME, Pearson r, blinks and event F1."""

import numpy as np
import pytest

from models.face_signals import INNER51, REGIONS, event_f1, face_signals, find_blinks, interocular, nme, pearson


def constructed_face(scale: float = 1.0) -> np.ndarray:
    """68 points with known distances: outer eye corners 36 / 45 100 px apart (x 0 and 100)."""
    L = np.zeros((68, 2))
    L[:, 0] = np.linspace(0, 100, 68)  # everything else somewhere harmless
    L[:, 1] = 300.0
    L[36], L[45] = (0, 0), (100, 0)
    # subject's right eye (36-41): lids 37/41 8 px apart, 38/40 12 px apart -> opening 10 px
    L[37], L[41], L[38], L[40] = (10, -4), (10, 4), (20, -6), (20, 6)
    # subject's left eye (42-47): lids 4 px and 6 px apart -> opening 5 px
    L[43], L[47], L[44], L[46] = (80, -2), (80, 2), (90, -3), (90, 3)
    L[39], L[42] = (30, 0), (70, 0)
    L[48], L[54] = (20, 120), (80, 120)  # mouth corners 60 px apart
    L[62], L[66] = (50, 110), (50, 135)  # inner lips 25 px apart
    # brows 40 px above each eye centroid
    re, le = L[36:42].mean(0), L[42:48].mean(0)
    L[17:22] = re + [0, -40] + np.linspace(-10, 10, 5)[:, None] * [1, 0]
    L[22:27] = le + [0, -40] + np.linspace(-10, 10, 5)[:, None] * [1, 0]
    return L * scale


def test_signals_on_a_constructed_face_have_the_known_values_at_any_size():
    for scale in (1.0, 2.5):
        s = face_signals(constructed_face(scale))
        assert interocular(constructed_face(scale)) == pytest.approx(100 * scale)
        assert s["eye_open_r"] == pytest.approx(0.10)
        assert s["eye_open_l"] == pytest.approx(0.05)
        assert s["mouth_width"] == pytest.approx(0.60)
        assert s["mouth_open"] == pytest.approx(0.25)
        assert s["brow_height"] == pytest.approx(0.40)


def test_signals_batch_and_nan_propagate():
    L = np.stack([constructed_face(), np.full((68, 2), np.nan)])
    s = face_signals(L)
    assert s["mouth_open"].shape == (2,)
    assert np.isfinite(s["mouth_open"][0]) and np.isnan(s["mouth_open"][1])


def test_nme_per_region_is_the_offset_over_the_eye_corner_distance():
    ref = constructed_face()[None]
    pred = ref.copy()
    pred[0, list(REGIONS["mouth"])] += [3.0, 4.0]  # 5 px on the 20 mouth points
    assert nme(pred, ref, REGIONS["mouth"])[0] == pytest.approx(0.05)
    assert nme(pred, ref, REGIONS["eyes"])[0] == pytest.approx(0.0)
    assert nme(pred, ref)[0] == pytest.approx(0.05 * 20 / len(INNER51))
    assert sorted(i for r in REGIONS.values() for i in r) == list(range(68))


def test_pearson_ignores_nan_frames_and_says_nan_when_undefined():
    a = np.array([1.0, 2.0, np.nan, 4.0, 5.0])
    b = np.array([2.0, 4.0, 100.0, 8.0, np.nan])
    assert pearson(a, b) == pytest.approx(1.0)  # frames 2 and 4 dropped
    assert pearson(a, -b) == pytest.approx(-1.0)
    assert np.isnan(pearson([1.0, 2.0, np.nan], [1.0, 2.0, 3.0]))  # < 3 common frames
    assert np.isnan(pearson([1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0]))  # no variance
    assert np.isnan(pearson([np.nan] * 5, [1.0] * 5))


def blink_trace(n: int, at: list[int], depth: float = 0.8, width: int = 2, noise: float = 0.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = 0.3 + noise * rng.standard_normal(n)
    for t in at:
        for k in range(-width, width + 1):
            if 0 <= t + k < n:
                x[t + k] -= 0.3 * depth * (1 - abs(k) / (width + 1))
    return x


def test_find_blinks_finds_each_closing_at_its_deepest_frame():
    at = [30, 100, 170, 250]
    x = blink_trace(300, at, noise=0.003)
    ev = find_blinks(x, fps=30)
    assert list(ev) == at


def test_find_blinks_ignores_shallow_dips_and_bridges_nan_gaps():
    x = blink_trace(200, [50, 150], depth=0.8)
    x = x - 0.3 * 0.15 * (np.abs(np.arange(200) - 100) <= 2)  # a 15 % dip: not a blink at drop=0.35
    x[120:124] = np.nan
    assert list(find_blinks(x, fps=30)) == [50, 150]
    assert len(find_blinks(np.full(50, np.nan))) == 0
    assert len(find_blinks(np.zeros(0))) == 0
    assert len(find_blinks(np.full(100, 0.3))) == 0  # open all the time


def test_find_blinks_is_relative_to_the_person_eye_size():
    at = [40, 120]
    assert list(find_blinks(blink_trace(180, at) * 0.2)) == list(find_blinks(blink_trace(180, at))) == at


def test_event_f1_tolerance_and_one_to_one_matching():
    assert event_f1([10, 52], [12, 50], tol=2)["f1"] == 1.0
    r = event_f1([10, 53], [12, 50], tol=2)  # 53 is 3 frames off
    assert (r["precision"], r["recall"]) == (0.5, 0.5)
    r = event_f1([10, 11], [10], tol=2)  # one reference matches one prediction only
    assert (r["precision"], r["recall"], r["n_pred"], r["n_ref"]) == (0.5, 1.0, 2, 1)
    assert event_f1([], [], tol=2)["f1"] == 1.0
    assert event_f1([5], [], tol=2)["f1"] == 0.0
    assert event_f1([], [5], tol=2)["f1"] == 0.0
    assert event_f1([13], [10], tol=3)["f1"] == 1.0
