"""Gaze (models.gaze): the iris moves in the texture, renders of a looking studio person move the
iris pixels and only them, and the iris estimator reads the gaze back from the image."""

import numpy as np
import pytest

from models.gaze import EyeWarp, IrisGaze, inside_polygon


@pytest.fixture(scope="module")
def stage():
    from studio.capture import make_stage

    return make_stage(12, 256)  # a studio person the default avatar was never trained on


def _dark_centroid(img, rows, cols):
    lum = img[rows, cols].sum(1)
    w = np.clip(np.percentile(lum, 15) - lum, 0, None)
    return np.array([(cols * w).sum(), (rows * w).sum()]) / w.sum()


def test_the_eye_warp_moves_the_iris_by_the_turn_it_is_asked_and_nothing_else(stage):
    warp = EyeWarp(stage.person.topology, 256)
    alb = stage.albedo.copy()
    assert np.array_equal(warp.apply(alb, np.zeros((2, 2))), alb)
    g = np.array([[0.3, 0.0], [0.3, 0.0]])
    out = warp.apply(alb, g)
    assert np.array_equal(alb, stage.albedo)  # the input is untouched
    changed = np.abs(out - alb).sum(-1) > 1e-6
    eye = np.zeros_like(changed)
    for e in warp.eyes:
        eye[e["rows"], e["cols"]] = True
    assert changed.any() and not (changed & ~eye).any()  # only eye texels change
    for e in warp.eyes:
        shift = _dark_centroid(out, e["rows"], e["cols"]) - _dark_centroid(alb, e["rows"], e["cols"])
        expected = e["J"] @ (e["radius"] * np.sin(g[0]))  # texels, +col = +x (image right)
        assert shift[0] == pytest.approx(expected[0], rel=0.35) and abs(shift[1]) < 0.35 * abs(expected[0])
    down = warp.apply(alb, np.array([[0.0, 0.25], [0.0, 0.25]]))
    for e in warp.eyes:
        assert _dark_centroid(down, e["rows"], e["cols"])[1] > _dark_centroid(alb, e["rows"], e["cols"])[1] + 1


def test_a_looking_studio_person_moves_the_iris_pixels_and_only_them(tmp_path):
    from models.data import load_capture
    from studio.capture import capture_wild

    cap = load_capture(capture_wild(12, "office", 60, tmp_path / "c", size=(256, 192), kind="gaze",
                                   face_scale=0.2))
    gaze, V, L = cap.gt["gaze"], cap.video_frames().astype(np.float32), cap.gt["landmarks"][:, 0]
    still = np.where(np.abs(gaze).max(axis=(1, 2)) < 1e-3)[0]
    moved = np.where(np.abs(gaze[:, 0]).max(1) > 0.1)[0]
    assert len(still) and len(moved), "the seeded performance should look straight and aside"
    yy, xx = np.mgrid[0:V.shape[1], 0:V.shape[2]]
    p = np.stack([xx.ravel(), yy.ravel()], -1).astype(np.float64)
    for t in moved[:3]:
        s = still[np.argmin(np.abs(still - t))]  # the nearest straight-ahead frame: similar pose
        eyes = (inside_polygon(p, L[t, 36:42]) | inside_polygon(p, L[t, 42:48])).reshape(V.shape[1:3])
        d = np.abs(V[t] - V[s]).sum(-1)
        assert d[eyes].mean() > 3 * max(d[~eyes].mean(), 0.5), (t, s, d[eyes].mean(), d[~eyes].mean())


def test_the_iris_estimator_reads_the_studio_gaze(tmp_path):
    from models.data import load_capture
    from studio.capture import capture_wild

    cap = load_capture(capture_wild(11, "office", 120, tmp_path / "c", size=(384, 288), kind="gaze", seed=14))
    V, L, gt = cap.video_frames(), cap.gt["landmarks"][:, 0], cap.gt["gaze"]
    est = IrisGaze()
    G = np.stack([est.update(np.ascontiguousarray(f[..., ::-1]), L[i], i / 30.0) for i, f in enumerate(V)])
    G, gt = G[30:], gt[30:]  # after a second of neutral calibration
    for k in (0, 1):
        assert np.corrcoef(G[:, k, 0], gt[:, k, 0])[0, 1] > 0.85
        assert np.corrcoef(G[:, k, 1], gt[:, k, 1])[0, 1] > 0.3
    assert np.degrees(np.abs(G - gt)).mean() < 5.0
    closed = IrisGaze()
    shut = L[0].copy()
    shut[[37, 38, 43, 44]] = shut[[41, 40, 47, 46]]  # lids met: the last gaze is kept
    assert np.array_equal(closed.update(V[0], shut, 0.0), np.zeros((2, 2), np.float32))


def test_only_the_gaze_performance_moves_the_eyes():
    from studio.performance import performance

    assert performance(3, 60, kind="crowd").gaze is None
    a, b = performance(3, 300, kind="gaze"), performance(3, 300, kind="gaze")
    assert a.gaze.shape == (300, 2, 2) and np.array_equal(a.gaze, b.gaze)
    assert np.abs(a.gaze).max() > 0.1 and np.abs(a.gaze).max() <= 0.36
    assert np.array_equal(a.gaze[:, 0], a.gaze[:, 1])


def test_arkit_look_weights_follow_the_camera_view_convention():
    from models.gaze import LOOK_NAMES, arkit_look

    w = dict(zip(LOOK_NAMES, arkit_look(np.array([[0.25, 0.0], [0.25, 0.0]]))))  # both irises to image right
    assert w["eyeLookOutLeft"] == pytest.approx(0.5) and w["eyeLookInRight"] == pytest.approx(0.5)
    assert w["eyeLookInLeft"] == 0 and w["eyeLookOutRight"] == 0
    w = dict(zip(LOOK_NAMES, arkit_look(np.array([[0.0, -1.0], [0.0, 0.1]]))))
    assert w["eyeLookUpLeft"] == 1.0 and w["eyeLookDownRight"] == pytest.approx(0.2)


def test_the_tracker_reports_gaze_and_moves_the_avatars_irises(tmp_path):
    """A studio person looking aside: FrameResult.gaze turns the same way as the truth, the eyeLook
    weights join the expressions, and the avatar's texture differs from its unwarped one in the eyes only."""
    from models import bundle as B
    from models.data import load_capture
    from models.landmark_tracking import TrackingLandmarks
    from models.landmarks import OracleDetector
    from models.tracker import Tracker
    from studio.capture import capture_wild

    cap = load_capture(capture_wild(11, "office", 120, tmp_path / "c", size=(384, 288), kind="gaze", seed=14))
    V, L, gt = cap.video_frames(), cap.gt["landmarks"][:, 0], cap.gt["gaze"]
    b = B.load(B.DEFAULT_BUNDLE)
    runs = {}
    for gaze in (True, False):
        tr = Tracker(b, "cpu", detector=TrackingLandmarks(OracleDetector(lambda i: L[i])), gaze=gaze, smoothing=0.0)
        runs[gaze] = [tr.track(np.ascontiguousarray(f[..., ::-1]), timestamp=i / 30.0) for i, f in enumerate(V)]
    assert all(r.gaze is None for r in runs[False])
    aside = [i for i in range(60, len(V)) if np.abs(gt[i, :, 0]).max() > 0.12]
    assert aside, "the seeded performance looks aside after the first second"
    i = aside[len(aside) // 2]
    r = runs[True][i]
    assert r.gaze.shape == (2, 2) and np.all(np.sign(r.gaze[:, 0]) == np.sign(gt[i, :, 0]))
    names = list(r.expression_names)
    look = "eyeLookOutLeft" if gt[i, 0, 0] > 0 else "eyeLookInLeft"
    assert r.expressions[names.index(look)] > 0.1
    diff = np.abs(np.asarray(r.texture) - np.asarray(runs[False][i].texture)).sum(0)
    warp = EyeWarp(b.topology, diff.shape[-1])
    eye = np.zeros(diff.shape, bool)
    for e in warp.eyes:
        eye[e["rows"], e["cols"]] = True
    assert diff[eye].max() > 0.05 and not (diff[~eye] > 1e-6).any()
