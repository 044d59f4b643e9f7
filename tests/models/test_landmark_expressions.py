"""Landmark expression weights: per-person calibration without constants, the Live Link Face names."""

from __future__ import annotations

import numpy as np

from models.landmark_expressions import (
    ARKIT_NAMES,
    LIVE_LINK_FACE_NAMES,
    NAMES,
    LandmarkExpressions,
    to_live_link,
)
from models.topology import canonical_landmarks_2d


def face(eye_open: float, jaw: float, eye_scale: float, size: float) -> np.ndarray:
    """68 points: the canonical face with the lids closed by ``1 - eye_open`` and the inner lips
    opened by ``jaw`` (x the face's mouth width), eyes ``eye_scale`` times the template's height."""
    L = canonical_landmarks_2d().astype(np.float64).copy()
    for up, lo in ((37, 41), (38, 40), (43, 47), (44, 46)):
        mid = (L[up] + L[lo]) / 2
        L[up] = mid + (L[up] - mid) * eye_scale * eye_open
        L[lo] = mid + (L[lo] - mid) * eye_scale * eye_open
    w = np.linalg.norm(L[48] - L[54])
    L[[65, 66, 67], 1] += jaw * 0.4 * w
    L[56:59, 1] += jaw * 0.4 * w
    return L * size + 300.0


def test_blinks_and_jaw_for_two_different_people_without_constants():
    blinks = {40, 41, 120, 121, 200}
    for eye_scale, size in ((0.7, 80.0), (1.6, 260.0)):  # narrow eyes, small face / wide eyes, big face
        est = LandmarkExpressions()
        out = []
        for i in range(300):
            jaw = max(0.0, np.sin(i / 7.0)) if 150 <= i < 250 else 0.0
            out.append(est.update(face(0.1 if i in blinks else 1.0, jaw, eye_scale, size), i / 30.0))
        W = np.stack(out)
        b, j = W[:, NAMES.index("eyeBlinkLeft")], W[:, NAMES.index("jawOpen")]
        assert W.min() >= 0.0 and W.max() <= 1.0
        later = [i for i in blinks if i > 60]  # after two seconds of calibration
        assert b[later].min() > 0.8 and np.delete(b, list(blinks)).max() < 0.05
        assert j[:150].max() < 0.05 and j[150:250].max() > 0.9


def test_time_going_back_restarts_the_calibration():
    est = LandmarkExpressions()
    for i in range(60):
        est.update(face(1.0, 0.0, 1.0, 100.0), i / 30.0)
    assert est.samples == 60
    est.update(face(1.0, 0.0, 1.0, 100.0), 0.0)  # a looped video
    assert est.samples == 1


def test_live_link_face_names_and_mapping():
    assert len(LIVE_LINK_FACE_NAMES) == 52 == len(set(LIVE_LINK_FACE_NAMES))
    assert LIVE_LINK_FACE_NAMES[:2] == ("EyeBlinkLeft", "EyeLookDownLeft") and LIVE_LINK_FACE_NAMES[-1] == "TongueOut"
    assert LIVE_LINK_FACE_NAMES[14:17] == ("JawForward", "JawRight", "JawLeft")  # Live Link Face's order
    assert set(NAMES) <= set(ARKIT_NAMES)
    v = to_live_link(np.array([0.25, 0.5], np.float32), ("jawOpen", "notAShape"))
    assert v[LIVE_LINK_FACE_NAMES.index("JawOpen")] == 0.25 and v.sum() == 0.25
    assert not to_live_link(None, ()).any()


def test_landmark_jitter_on_a_still_face_gives_no_weights_but_a_real_raise_does():
    """A neutral face with detector-like jitter (0.4 % of the face size): the median-neutral brow
    rule would read a raise of 0.1-0.3 on about half of the frames; the noise dead zone keeps them
    at 0, while a real brow raise (frames 200-240) still reaches a clear weight."""
    rng = np.random.default_rng(3)
    est = LandmarkExpressions()
    out = []
    for i in range(300):
        L = face(1.0, 0.0, 1.0, 1.0)
        if 200 <= i < 240:
            L[17:27, 1] -= 0.06 * np.linalg.norm(L[36] - L[45])  # brows up
        out.append(est.update((L - 300.0) * 150.0 + 300.0 + rng.normal(0, 0.6, L.shape), i / 30.0))
    W = np.stack(out)
    brow = W[:, NAMES.index("browInnerUp")]
    quiet = np.r_[60:200, 245:300]
    assert np.mean(brow[quiet] > 0.05) < 0.1, np.mean(brow[quiet] > 0.05)
    assert np.median(brow[205:240]) > 0.5
    assert np.mean(W[quiet][:, [NAMES.index("eyeBlinkLeft"), NAMES.index("eyeBlinkRight")]] > 0.05) < 0.1


def test_each_new_arkit_weight_follows_its_studio_shape_and_only_it():
    """Points of the studio person (studio.arkit_basis) rolled 15 degrees and jittered: after 4 s of a
    still face, each new shape at full strength lifts its own rule weight and leaves the others."""
    from studio.arkit_basis import ARKIT_BASIS_NAMES
    from studio.head import Person

    person0 = Person(0)
    new = [n for n in NAMES[9:]]
    assert len(NAMES) == 17 and set(new) <= set(ARKIT_BASIS_NAMES)
    rng = np.random.default_rng(0)
    c, s = np.cos(np.radians(15)), np.sin(np.radians(15))
    R = np.array([[c, -s], [s, c]])

    def points(w):
        P = person0.landmarks(person0.arkit_geometry(w))[:, :2].astype(np.float64)
        return (P @ R.T) * 150.0 + 320.0 + rng.normal(0, 0.3, (68, 2))

    for name in new:
        est = LandmarkExpressions()
        for i in range(120):
            est.update(points(None), i / 30.0)
        W = np.stack([est.update(points({name: 1.0}), (120 + i) / 30.0) for i in range(3)]).mean(0)
        k = NAMES.index(name)
        assert W[k] > 0.6, (name, W[k])
        # a shape of one side leaves the other side's weight; symmetric partners of a lip roll are allowed
        side = (name.replace("Left", "Right") if name.endswith("Left")
                else name.replace("Right", "Left") if name.endswith("Right") else "")
        if side:
            assert W[NAMES.index(side)] < 0.3, (name, side, W[NAMES.index(side)])
        coupled = ("browInnerUp",) if name.startswith("browOuterUp") else ()  # its signal is the whole brow's lift
        others = [j for j, n in enumerate(NAMES) if n not in (name, side, *coupled)]
        assert W[others].max() < 0.5, (name, {NAMES[j]: round(float(W[j]), 2) for j in others if W[j] >= 0.5})


def test_talking_and_the_lab_shapes_do_not_read_as_the_new_weights():
    """Speech (the jaw at syllable rate) and the lab basis' mouth shapes at half strength keep every
    new weight (eyeWide, browOuterUp, mouthFrown, noseSneer) low: a frown must not follow the jaw."""
    from studio.head import Person

    person0 = Person(0)
    rng = np.random.default_rng(1)
    new = [NAMES.index(n) for n in NAMES[9:]]

    def points(expr):
        P = person0.landmarks(person0.arkit_geometry(None, expr))[:, :2].astype(np.float64)
        return P * 150.0 + 320.0 + rng.normal(0, 0.3, (68, 2))

    est = LandmarkExpressions()
    W = [est.update(points({"jaw_open": 0.35 * max(0.0, np.sin(i / 2.5))}), i / 30.0) for i in range(240)]
    W = np.stack(W)[60:]
    assert W[:, NAMES.index("jawOpen")].max() > 0.5  # the talking is read as the jaw
    assert W[:, new].max() < 0.3, {NAMES[j]: round(float(W[:, j].max()), 2) for j in new}
    for shape in ("smile_L", "pucker", "funnel", "lip_press"):
        est = LandmarkExpressions()
        for i in range(120):
            est.update(points(None), i / 30.0)
        w = np.stack([est.update(points({shape: 0.5}), (120 + i) / 30.0) for i in range(3)]).mean(0)
        frown_sneer = [NAMES.index(n) for n in ("mouthFrownLeft", "mouthFrownRight", "noseSneerLeft", "noseSneerRight")]
        assert w[frown_sneer].max() < 0.3, (shape, {NAMES[j]: round(float(w[j]), 2) for j in frown_sneer})
