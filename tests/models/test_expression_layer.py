"""Expression layer: winks and wide eyes the DAM cannot decode, on the decoded G."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models import bundle as B
from models.config import profile
from models.expression_layer import LAYER_NAMES, ExpressionLayer, residual_weights
from models.face_signals import face_signals
from models.landmark_tracking import TrackingLandmarks
from models.landmarks import OracleDetector
from models.topology import canonical_landmarks_2d, load_topology, make_test_mesh
from models.tracker import Tracker


def test_residual_weights_keep_only_what_z_cannot_show():
    names = ("eyeBlinkLeft", "eyeBlinkRight", "eyeWideLeft", "browOuterUpLeft")
    r = dict(zip(LAYER_NAMES, residual_weights(np.array([1.0, 0.0, 0.4, 0.9]), names)))
    assert tuple(r) == ("eyeBlinkLeft", "eyeBlinkRight", "eyeWideLeft", "eyeWideRight", "jawOpen")  # brows are z's
    assert r["jawOpen"] == 0.0  # the jaw is the encoder's (or mouth matching's)
    assert r["eyeBlinkLeft"] == pytest.approx(0.5) and r["eyeBlinkRight"] == pytest.approx(-0.5)  # a wink
    assert r["eyeWideLeft"] == pytest.approx(0.4) and r["eyeWideRight"] == 0.0  # a missing name reads 0
    both = residual_weights(np.array([0.8, 0.8]), ("eyeBlinkLeft", "eyeBlinkRight"))
    assert np.abs(both).max() == 0.0  # a blink of both eyes is the z guide's, not the layer's


def test_the_layer_exists_for_the_template_head_only():
    head = load_topology("head_v1")
    layer = ExpressionLayer.for_topology(head)
    assert layer is not None and layer.B.shape == (len(LAYER_NAMES), head.n_vertices, 3)
    assert ExpressionLayer.for_topology(make_test_mesh()) is None
    with pytest.raises(ValueError, match="fields must be"):
        ExpressionLayer(np.zeros((2, 10, 3)))


def test_a_wink_closes_one_eye_of_the_template_and_gain_zero_changes_nothing():
    head = load_topology("head_v1")
    layer = ExpressionLayer.for_topology(head)
    G = torch.from_numpy(head.vertices.astype(np.float32))[None]
    names = ("eyeBlinkLeft", "eyeBlinkRight")
    Gw = layer(G, np.array([1.0, 0.0]), names)
    s0, sw = (face_signals(g[0, head.landmark_ids, :2].double().numpy()) for g in (G, Gw))
    assert sw["eye_open_l"] < 0.6 * s0["eye_open_l"]  # the subject's left eye half closes (the other half is z's)
    assert sw["eye_open_r"] > s0["eye_open_r"]  # and the right eye opens by the same half
    assert torch.equal(ExpressionLayer.for_topology(head, gain=0.0)(G, np.array([1.0, 0.0]), names), G)
    assert torch.equal(layer(G, None, ()), G)


def test_the_filter_smooths_r_restarts_after_a_gap_and_follows_the_tracker_smoothing():
    from models.filters import OneEuroConfig

    head = load_topology("head_v1")
    layer = ExpressionLayer.for_topology(head, smoothing=OneEuroConfig(min_cutoff=1.0, beta=0.0), max_gap=0.5)
    G = torch.from_numpy(head.vertices.astype(np.float32))[None]
    names = ("eyeWideLeft",)
    for i in range(10):
        layer(G, np.array([0.0]), names, i / 30)
    layer(G, np.array([1.0]), names, 10 / 30)  # a step: the filter lets only part of it through
    assert 0.0 < layer.last[2] < 0.5
    layer(G, np.array([1.0]), names, 10 / 30 + 2.0)  # after a 2 s gap the filter starts again
    assert layer.last[2] == pytest.approx(1.0)
    layer(G, np.array([0.2]), names, 0.0)  # time going back (a looped video): again
    assert layer.last[2] == pytest.approx(0.2)
    tiny = B.build(profile("tiny").replace(topology="head_v1"), load_pretrained=False)
    tr = Tracker(tiny, "cpu", detector=TrackingLandmarks(OracleDetector(lambda i: None)))
    assert tr.layer is not None and tr.layer.filter is not None  # the output filter's settings (strength 0.5)
    tr.set_smoothing(0.0)
    assert tr.layer.filter is None
    tr.set_smoothing(0.8)
    assert tr.layer.filter is not None and tr.layer.filter.cfg == tr.output_filter.cfg.scaled(tr.output_filter.cfg.z)


def _eye_open(L):
    s = face_signals(np.asarray(L, np.float64))
    return np.array([s["eye_open_l"], s["eye_open_r"]])


def test_the_tracker_winks_with_the_layer_and_cannot_without(default_bundle_layer):
    """Frames 0-59 open eyes, then the detector's subject-left eye (points 42-47) closes: with the
    layer the avatar's left eye closes further than its right; without, the DAM shows both alike."""
    pts = canonical_landmarks_2d() * 70 + np.array([80.0, 70.0])
    wink = pts.copy()
    for up, lo in ((43, 47), (44, 46)):
        mid = 0.5 * (pts[up] + pts[lo])
        wink[up], wink[lo] = mid + 0.1 * (pts[up] - mid), mid + 0.1 * (pts[lo] - mid)
    frames = [pts] * 60 + [wink] * 4
    frame = np.full((160, 160, 3), 128, np.uint8)
    out = {}
    for on, guide in ((True, "eyes"), (False, "eyes"), (True, "none")):  # the layer's own winks: no eye matching
        tr = Tracker(default_bundle_layer, "cpu", detector=TrackingLandmarks(OracleDetector(lambda i: frames[i])),
                     smoothing=0.0, guide=guide, expression_layer=on, gaze=False, eye_match=False)
        r = [tr.track(frame, timestamp=i / 30) for i in range(len(frames))]
        out[on, guide] = _eye_open(r[-1].model_landmarks)
        assert (tr.layer is not None) == on
    left, right = out[True, "eyes"]
    assert left < 0.5 * right, out
    off = out[False, "eyes"]
    assert abs(off[0] - off[1]) < 0.25 * off.max(), out
    # without the blink guide z does not set the two eyes' mean: the layer adds no wink
    unguided = out[True, "none"]
    assert abs(unguided[0] - unguided[1]) < 0.25 * unguided.max(), out


@pytest.fixture(scope="module")
def default_bundle_layer():
    return B.load(B.DEFAULT_BUNDLE)
