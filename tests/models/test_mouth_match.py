"""Mouth matching (models.mouth_match): the avatar's inner lips part as far as the user's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models import bundle as B
from models.expression_layer import LAYER_NAMES, ExpressionLayer
from models.face_signals import face_signals
from models.filters import OneEuroConfig
from models.landmark_expressions import LandmarkExpressions
from models.landmark_tracking import TrackingLandmarks
from models.landmarks import OracleDetector
from models.mouth_match import GAP_MAX, MouthMatch, mouth_opening
from models.topology import canonical_landmarks_2d, load_topology
from models.tracker import Tracker


@pytest.fixture(scope="module")
def parts():
    head = load_topology("head_v1")
    layer = ExpressionLayer.for_topology(head)
    ids = head.landmark_ids
    return layer.B.numpy()[LAYER_NAMES.index("jawOpen"), ids], head.vertices.astype(np.float64)[ids]


def test_the_gap_is_reached_with_jawopen_and_the_lips_never_cross(parts):
    jaw, N = parts
    m = MouthMatch(jaw, N)
    assert m(N, 0.0) == pytest.approx(0.0, abs=1e-9)  # closed user, neutral avatar
    r = m(N, 0.2)
    assert r > 0 and mouth_opening(N + r * jaw, m.axis) == pytest.approx(m.o_n + 0.2)
    open_avatar = N + 0.8 * jaw  # the decoder opened the jaw wide; the user's lips are closed
    r = m(open_avatar, 0.0)
    assert r == pytest.approx(-0.8) and mouth_opening(open_avatar + r * jaw, m.axis) == pytest.approx(m.o_n, abs=1e-8)
    assert m(N, -0.3) == pytest.approx(0.0, abs=1e-9)  # below the closed level reads closed: no crossing
    assert m(N, 5.0) == pytest.approx(min(GAP_MAX / m.k_jaw, 1.5))  # a detector slip is clipped


def test_the_gap_filter_and_bad_fields(parts):
    jaw, N = parts
    m = MouthMatch(jaw, N, smoothing=OneEuroConfig(min_cutoff=1.0, beta=0.0))
    for i in range(10):
        m(N, 0.0, i / 30)
    # its own filter: half the given rest cut-off and the speech band's beta
    assert m.filter.cfg == OneEuroConfig(min_cutoff=0.5, beta=MouthMatch.beta)
    m(N, 0.3, 10 / 30)
    assert 0.0 < m.last_gap < 0.3
    m(N, 0.3, 10 / 30 + 2.0)  # a gap in time: the filter restarts
    assert m.last_gap == pytest.approx(0.3)
    with pytest.raises(ValueError, match="68, 3"):
        MouthMatch(jaw[:10], N)
    with pytest.raises(ValueError, match="part the lips"):
        MouthMatch(-jaw, N)


def test_the_rule_reports_the_gap_above_the_closed_level():
    est = LandmarkExpressions()
    assert est.mouth_gap() is None
    pts = canonical_landmarks_2d() * 100
    for i in range(40):
        est.update(pts, i / 30)
    opened = pts.copy()
    s = np.linalg.norm(pts[45] - pts[36])
    opened[[65, 66, 67], 1] += 0.25 * s  # the lower inner lip drops by a quarter interocular
    est.update(opened, 40 / 30)
    closed = face_signals(pts)["mouth_open"]
    assert est.mouth_gap() == pytest.approx(face_signals(opened)["mouth_open"] - closed, abs=0.01)
    assert est.mouth_gap() == pytest.approx(0.25, abs=0.03)


def test_the_tracked_avatar_parts_its_lips_as_far_as_the_user():
    """The detector's lower inner lip drops by 0.2 interocular: with mouth matching the avatar's
    inner lips part by about that much more than on the closed frames; the guide is off."""
    bundle = B.load(B.DEFAULT_BUNDLE)
    pts = canonical_landmarks_2d() * 70 + np.array([80.0, 70.0])
    s = np.linalg.norm(pts[45] - pts[36])
    opened = pts.copy()
    opened[[65, 66, 67], 1] += 0.2 * s
    frames = [pts] * 60 + [opened] * 8
    frame = np.full((160, 160, 3), 128, np.uint8)
    got = {}
    for match in (True, False):
        tr = Tracker(bundle, "cpu", detector=TrackingLandmarks(OracleDetector(lambda i: frames[i])),
                     smoothing=0.0, guide="none", gaze=False, mouth_match=match, landmark_identity=False)
        r = [tr.track(frame, timestamp=i / 30) for i in range(len(frames))]
        got[match] = [face_signals(np.asarray(r[i].model_landmarks, np.float64))["mouth_open"] for i in (59, 67)]
        assert (tr.layer.mouth is not None) == match
    closed, opened_av = got[True]
    assert opened_av - closed == pytest.approx(0.2, abs=0.05), got
    assert got[False][1] - got[False][0] < 0.1, got  # the encoder alone does not part them so (blank image)


def test_the_layer_adds_jawopen_only_when_matching(parts):
    head = load_topology("head_v1")
    layer = ExpressionLayer.for_topology(head)
    G = torch.from_numpy(head.vertices.astype(np.float32))[None]
    assert torch.equal(layer(G, None, (), mouth=0.2), G)  # not matching: the gap is ignored
    layer.match_mouth(head.vertices)
    out = layer(G, None, (), mouth=0.2)
    P = out[0, head.landmark_ids].double().numpy()
    assert mouth_opening(P, layer.mouth.axis) == pytest.approx(layer.mouth.o_n + 0.2, abs=1e-4)
    assert layer.last[LAYER_NAMES.index("jawOpen")] > 0
    layer.match_mouth(None)
    assert layer.mouth is None
