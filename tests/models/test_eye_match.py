"""Eye matching (models.eye_match): the avatar's lids open as far as the user's, per eye."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models import bundle as B
from models.expression_layer import ExpressionLayer
from models.eye_match import CLOSED, EyeMatch, lid_axes, openings
from models.face_signals import face_signals
from models.filters import OneEuroConfig
from models.landmark_expressions import LandmarkExpressions
from models.landmark_tracking import TrackingLandmarks
from models.landmarks import OracleDetector
from models.topology import canonical_landmarks_2d, load_topology
from models.tracker import Tracker


@pytest.fixture(scope="module")
def head():
    return load_topology("head_v1")


@pytest.fixture(scope="module")
def match_parts(head):
    layer = ExpressionLayer.for_topology(head)
    ids = head.landmark_ids
    Bf = layer.B.numpy()
    N = head.vertices.astype(np.float64)[ids]  # (68, 3) the template's neutral landmark vertices
    return Bf[:2, ids], Bf[2:4, ids], N


def test_openings_are_signed_and_linear_in_the_vertices(match_parts):
    blink, _, N = match_parts
    axes = lid_axes(N)
    o_n = openings(N, axes)
    assert o_n.shape == (2,) and np.all(o_n > 0.05)
    steps = [openings(N + r * blink[0], axes)[0] for r in (0.0, 0.5, 1.0, 1.5)]
    assert np.allclose(np.diff(steps), steps[1] - steps[0], rtol=1e-6)  # linear in r
    assert openings(N + 3.0 * blink[0], axes)[0] < 0  # lids pushed past each other read negative
    assert openings(N + blink[0], axes)[1] == pytest.approx(o_n[1])  # the other eye does not move


def test_a_closed_ratio_closes_one_eye_to_the_avatars_full_blink(match_parts):
    blink, wide, N = match_parts
    m = EyeMatch(blink, wide, N)
    assert np.abs(m(N, np.array([1.0, 1.0]))).max() < 1e-9  # open user, neutral avatar: nothing to add
    r = m(N, np.array([CLOSED, 1.0]))  # the subject's left eye shut, the right open
    assert r[0] == pytest.approx(1.0) and r[1] == pytest.approx(0.0) and r[2:].max() == 0.0
    half = m(N, np.array([0.6, 0.6]))
    P = N + half[0] * blink[0] + half[1] * blink[1]
    assert np.allclose(openings(P, m.axes), m.targets(m.openness([0.6, 0.6])))  # the target is reached


def test_an_eye_the_decoder_closed_too_far_opens_and_a_wide_eye_uses_eyewide(match_parts):
    blink, wide, N = match_parts
    m = EyeMatch(blink, wide, N)
    r = m(N + 0.5 * blink[0], np.array([1.0, 1.0]))  # the decoder half closed the left eye, the user's is open
    assert r[0] == pytest.approx(-0.5) and r[2] == 0.0
    r = m(N, np.array([1.4, 1.0]))  # the left eye wider than its open level
    assert r[0] == 0.0 and r[2] > 0.1
    assert openings(N + r[2] * wide[0], m.axes)[0] == pytest.approx(m.targets(m.openness([1.4, 1.0]))[0])
    assert m(N, np.array([9.0, np.nan]))[2] <= 1.5  # clipped; NaN reads open


def test_the_filter_smooths_u_and_restarts_after_a_gap(match_parts):
    blink, wide, N = match_parts
    m = EyeMatch(blink, wide, N, smoothing=OneEuroConfig(min_cutoff=1.0, beta=0.0))
    for i in range(10):
        m(N, np.ones(2), i / 30)
    assert m.filter.cfg == OneEuroConfig(min_cutoff=1.0, beta=0.0)  # the settings given (z's in the tracker)
    m(N, np.array([CLOSED, 1.0]), 10 / 30)
    assert 0.2 < m.last_u[0] < 1.0  # only part of the step
    m(N, np.array([CLOSED, 1.0]), 10 / 30 + 2.0)  # after a gap: the new value
    assert m.last_u[0] == pytest.approx(0.0)


def test_bad_fields_are_refused(match_parts):
    blink, wide, N = match_parts
    with pytest.raises(ValueError, match="68, 3"):
        EyeMatch(blink[:, :10], wide, N)
    with pytest.raises(ValueError, match="close"):
        EyeMatch(-blink, wide, N)


def test_the_rule_reports_each_eyes_opening_over_its_open_level():
    est = LandmarkExpressions()
    assert est.eye_ratios() is None
    pts = canonical_landmarks_2d() * 100
    for i in range(40):
        est.update(pts, i / 30)
    half = pts.copy()
    for up, lo in ((43, 47), (44, 46)):  # the subject's left eye half closed
        mid = 0.5 * (pts[up] + pts[lo])
        half[up], half[lo] = mid + 0.5 * (pts[up] - mid), mid + 0.5 * (pts[lo] - mid)
    est.update(half, 40 / 30)
    assert est.eye_ratios() == pytest.approx([0.5, 1.0], abs=0.02)
    est.update(np.full((68, 2), np.nan), 41 / 30)
    assert est.eye_ratios() is None


def _eye_open(L):
    s = face_signals(np.asarray(L, np.float64))
    return np.array([s["eye_open_l"], s["eye_open_r"]])


@pytest.fixture(scope="module")
def default_bundle():
    return B.load(B.DEFAULT_BUNDLE)


def test_the_tracked_avatar_opens_its_lids_as_far_as_the_user_without_a_guide(default_bundle):
    """The detector's subject-left eye goes to 60 % of its open height; with eye matching the
    avatar's left eye goes to the matching fraction of its own (u = (0.6 - 0.2) / 0.8), the right
    stays open; the z guide is off, so only the layer can do it."""
    pts = canonical_landmarks_2d() * 70 + np.array([80.0, 70.0])
    half = pts.copy()
    for up, lo in ((43, 47), (44, 46)):
        mid = 0.5 * (pts[up] + pts[lo])
        half[up], half[lo] = mid + 0.6 * (pts[up] - mid), mid + 0.6 * (pts[lo] - mid)
    frames = [pts] * 60 + [half] * 6
    frame = np.full((160, 160, 3), 128, np.uint8)
    got, want = {}, None
    for match in (True, False):
        tr = Tracker(default_bundle, "cpu", detector=TrackingLandmarks(OracleDetector(lambda i: frames[i])),
                     smoothing=0.0, guide="none", gaze=False, eye_match=match)
        r = [tr.track(frame, timestamp=i / 30) for i in range(len(frames))]
        got[match] = _eye_open(r[-1].model_landmarks) / _eye_open(r[59].model_landmarks)
        m = tr.layer.eyes
        assert (m is not None) == match
        if match:  # o* / o_n of the left eye: the fraction of its own open lids the avatar should show
            want = m.targets(m.openness([0.6, 1.0]))[0] / m.o_n[0]
    left, right = got[True]
    assert 0.3 < want < 0.7
    # the 2D lid distance in the image, not the signed model-space one: within 0.08
    assert left == pytest.approx(want, abs=0.08) and right == pytest.approx(1.0, abs=0.05), got
    assert got[False][0] > 0.85, got  # without matching (and no guide) the left eye stays open


def test_the_layer_applies_matching_only_with_openings(head):
    layer = ExpressionLayer.for_topology(head)
    G = torch.from_numpy(head.vertices.astype(np.float32))[None]
    with pytest.raises(ValueError, match="landmark ids"):
        ExpressionLayer(layer.B.numpy()).match_eyes(head.vertices)
    layer.match_eyes(head.vertices)
    shut = layer(G, None, (), eyes=np.array([CLOSED, 1.0]))
    o = openings(shut[0, head.landmark_ids].double().numpy(), layer.eyes.axes)
    assert o[0] == pytest.approx(layer.eyes.o_c[0], abs=1e-4) and o[1] == pytest.approx(layer.eyes.o_n[1], abs=1e-4)
    assert torch.equal(layer(G, None, ()), G)  # no weights and no openings: unchanged
    layer.match_eyes(None)
    assert layer.eyes is None
