"""All 34 ARKit weights fitted to the 68 points (models.landmark_fit)."""

import numpy as np
import pytest

from models.camera import rotation_matrix_np
from models.landmark_fit import LandmarkFit, box_ridge, has_arkit, pose_fit
from models.topology import load_topology
from studio.head import Person

FPS = 30.0


@pytest.fixture(scope="module")
def head():
    return load_topology("head_v1")


def _project(X, yaw=0.0, pitch=0.0, roll=0.0, s=160.0, t=(320.0, 240.0)):
    R = rotation_matrix_np([pitch, yaw, roll])
    return s * X @ R[:2].T + np.asarray(t)


def _performance(person, shape, weight, rng, neutral_s=3.0, hold_s=1.0):
    """Neutral frames (jittered, a slow head turn), then ``shape`` held at ``weight``. -> points (N, 68, 2)"""
    L0 = person.landmarks(person.neutral).astype(np.float64)
    L1 = person.landmarks(person.arkit_geometry({shape: weight})).astype(np.float64)
    n0, n1 = int(neutral_s * FPS), int(hold_s * FPS)
    out = []
    for i in range(n0 + n1):
        X = L0 if i < n0 else L1
        yaw, roll = 0.25 * np.sin(i / 20), 0.1 * np.cos(i / 27)  # up to 14 and 6 degrees
        out.append(_project(X, yaw=yaw, roll=roll) + rng.normal(0, 0.6, (68, 2)))  # ~0.4 % of the face
    return np.array(out), n0


@pytest.mark.parametrize("shape", ["jawOpen", "mouthSmileLeft", "eyeBlinkRight", "browInnerUp", "mouthFunnel",
                                   "cheekPuff", "jawLeft", "mouthRollLower", "mouthLeft", "mouthPucker"])
def test_a_held_out_person_reads_each_shape_and_little_else(head, shape):
    """A studio person who is not the template (their face differs), head turning, points jittered."""
    person = Person(12)
    pts, n0 = _performance(person, shape, 0.7, np.random.default_rng(1))
    fit = LandmarkFit(head)
    W = np.array([fit.update(p, i / FPS) for i, p in enumerate(pts)])
    k = fit.names.index(shape)
    held = W[n0 + 5:]  # the expression held
    assert held[:, k].mean() == pytest.approx(0.7, abs=0.2), (shape, held[:, k].mean())
    others = np.delete(held, k, axis=1).mean(0)
    other_names = [n for n in fit.names if n != shape]
    assert others.max() < 0.25, (shape, other_names[int(np.argmax(others))], others.max())
    assert W[int(FPS):n0, :].mean(0).max() < 0.1  # the person's neutral face reads as neutral after 1 s


def test_names_are_the_34_arkit_shapes_and_weights_stay_in_the_unit_box(head):
    fit = LandmarkFit(head)
    assert len(fit.names) == 34 and "cheekPuff" in fit.names and "jawLeft" in fit.names
    rng = np.random.default_rng(0)
    base = _project(Person(3).landmarks(Person(3).neutral).astype(np.float64))
    for i in range(40):
        w = fit.update(base + rng.normal(0, 4.0, base.shape), i / FPS)  # very noisy points
        assert w.shape == (34,) and w.dtype == np.float32 and (w >= 0).all() and (w <= 1).all()
    assert not fit.update(np.full((68, 2), np.nan), 2.0).any()  # a frame without points: zeros


def test_time_going_back_starts_a_fresh_face(head):
    fit = LandmarkFit(head)
    L = _project(Person(5).landmarks(Person(5).neutral).astype(np.float64))
    for i in range(40):
        fit.update(L, i / FPS)
    assert np.abs(fit.delta).max() > 0  # learned person 5's face
    fit.update(L, 0.0)  # a looped video
    assert fit._n == 1


def test_pose_fit_recovers_a_weak_perspective_pose_and_box_ridge_keeps_the_box():
    X = np.random.default_rng(0).normal(size=(68, 3))
    R = rotation_matrix_np([0.2, -0.3, 0.1])
    d = 150.0 * X @ R[:2].T + np.array([10.0, -4.0])
    s, R2, t = pose_fit(d, X)
    assert s == pytest.approx(150.0, rel=1e-6) and np.allclose(R2, R, atol=1e-6) and np.allclose(t, [10, -4])
    A = np.eye(3)
    w = box_ridge(A, np.array([0.5, 2.0, -1.0]), 0.0, np.zeros(3), steps=100)
    assert np.allclose(w, [0.5, 1.0, 0.0], atol=1e-6)


def test_a_topology_without_arkit_shapes_is_refused():
    test = load_topology("test")
    assert not has_arkit(test)
    with pytest.raises(ValueError, match="no ARKit shapes"):
        LandmarkFit(test)


def test_the_tracker_names_34_fitted_shapes_with_the_fit_and_falls_back_without_arkit_shapes():
    """expression_source="fit": FrameResult.expressions are the 34 fitted ARKit weights (then the gaze's
    eyeLook*); a bundle on a topology without them (the tiny test mesh) keeps the landmark rule's."""
    from models import bundle as B
    from models.config import profile
    from models.gaze import LOOK_NAMES
    from models.landmark_expressions import NAMES as RULE_NAMES
    from models.landmark_tracking import TrackingLandmarks
    from models.landmarks import OracleDetector
    from models.topology import canonical_landmarks_2d
    from models.tracker import Tracker

    pts = canonical_landmarks_2d() * 70 + np.array([80.0, 70.0])
    frame = np.full((160, 160, 3), 128, np.uint8)
    tr = Tracker(B.load(B.DEFAULT_BUNDLE), "cpu", detector=TrackingLandmarks(OracleDetector(lambda i: pts)),
                 expression_source="fit", gaze=False)
    r = [tr.track(frame, i / FPS) for i in range(3)][-1]
    assert r.expression_names == tr.fit.names and len(r.expression_names) == 34 and r.expressions.shape == (34,)
    assert ((r.expressions >= 0) & (r.expressions <= 1)).all() and tr.named_source == "fit"
    tiny_bundle = B.build(profile("tiny"), load_pretrained=False)
    tiny = Tracker(tiny_bundle, "cpu", detector=TrackingLandmarks(OracleDetector(lambda i: pts)),
                   expression_source="fit")
    r2 = tiny.track(frame, 0.0)
    assert tiny.fit is None and r2.expression_names == (*RULE_NAMES, *LOOK_NAMES) and tiny.named_source == "landmarks"
    with pytest.raises(ValueError, match="expression_source"):
        Tracker(tiny_bundle, "cpu", expression_source="mesh")
