"""68-point landmarks: dlib / FAN / oracle backends and the box-reusing tracker (real media)."""

from __future__ import annotations

import dataclasses
import time

import cv2
import numpy as np
import pytest
import torch

from models.facebox import HaarBoxDetector, HogBoxDetector, box_iou, to_gray
from models.landmark_tracking import TrackingLandmarks
from models.landmarks import (
    Face,
    FanLandmarks,
    LandmarkModelInvalid,
    LandmarkModelMissing,
    OracleDetector,
    fan_url,
    fan_weights_path,
    make_detector,
)

PHOTOS = ["face_recognition_obama.jpg", "3ddfa_v2_JianzhuGuo.jpg", "face_alignment_aflw-test.jpg"]


@pytest.fixture(scope="module")
def dlib_det():
    return make_detector("dlib")


def read_frames(path, n: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while len(frames) < n:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    assert len(frames) == n, f"could not read {n} frames from {path}"
    return frames


def mean_px(a: np.ndarray, b: np.ndarray) -> float:
    """Mean per-point distance between two (68, 2) sets."""
    return float(np.linalg.norm(a - b, axis=1).mean())


def check_anatomy(face: Face, image_shape: tuple[int, ...]) -> None:
    p = face.points
    assert p.shape == (68, 2) and p.dtype == np.float32
    x0, y0, x1, y1 = face.box
    assert 0 <= x0 < x1 < image_shape[1] and 0 <= y0 < y1 < image_shape[0]
    m = 0.15 * (x1 - x0)  # the chin may sit a little below a HOG box
    assert np.all((p[:, 0] > x0 - m) & (p[:, 0] < x1 + m) & (p[:, 1] > y0 - m) & (p[:, 1] < y1 + m))
    assert p[36:42, 0].max() < p[42:48, 0].min()  # image-left eye left of image-right eye
    assert p[48:68, 1].min() > p[30, 1]  # mouth below nose tip
    assert p[30, 1] > p[36:48, 1].mean()  # nose tip below the eyes
    assert p[0, 0] < p[16, 0]  # jaw runs image-left to image-right
    assert p[8, 1] > p[57, 1]  # chin below lower lip


# --- dlib ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PHOTOS)
def test_dlib_real_photos(dlib_det, real_data, name):
    image = cv2.imread(str(real_data / name))
    faces = dlib_det.detect(image)
    assert len(faces) == 1
    check_anatomy(faces[0], image.shape)
    assert 0.5 < faces[0].score <= 1.0


def test_haar_boxes_give_the_same_landmarks(dlib_det, real_data):
    haar_det = make_detector("dlib", box_detector="haar")
    for name in PHOTOS[:2]:
        image = cv2.imread(str(real_data / name))
        hog_face, (haar_face,) = dlib_det.detect(image)[0], haar_det.detect(image)
        check_anatomy(haar_face, image.shape)
        size = hog_face.box[2] - hog_face.box[0]
        assert mean_px(hog_face.points, haar_face.points) < 0.03 * size
        assert box_iou(hog_face.box, haar_face.box) > 0.6  # Haar boxes are mapped to HOG-like ones


def test_downscaled_box_detection_keeps_pixel_convention(real_data):
    gray = to_gray(cv2.imread(str(real_data / PHOTOS[0])))  # 910 x 1137
    (full, _), (small, _) = HogBoxDetector()(gray)[0], HogBoxDetector(max_side=400)(gray)[0]
    assert box_iou(full, small) > 0.8
    assert len(HaarBoxDetector(max_side=400)(gray)) >= 1


def test_no_face_gives_nothing(dlib_det):
    grey = np.full((480, 512, 3), 128, np.uint8)
    assert dlib_det.detect(grey) == []
    trk = TrackingLandmarks(dlib_det)
    assert trk.update(grey) is None and trk.n_faces_last_detection == 0


def test_face_is_frozen(dlib_det, real_data):
    face = dlib_det.detect(cv2.imread(str(real_data / PHOTOS[1])))[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        face.score = 0.0  # type: ignore[misc]


def test_two_faces_largest_first_and_tracked(dlib_det, real_data):
    big = cv2.imread(str(real_data / "3ddfa_v2_JianzhuGuo.jpg"))  # 413 x 551
    small = cv2.resize(cv2.imread(str(real_data / "face_recognition_obama.jpg")), (300, 375))
    canvas = np.full((560, 760, 3), 90, np.uint8)
    canvas[:551, 350:760] = big[:, :410]
    canvas[100:475, 20:320] = small
    faces = dlib_det.detect(canvas)
    assert len(faces) == 2
    assert faces[0].box[0] > 300 and faces[1].box[2] < 330  # the larger face (right) comes first
    trk = TrackingLandmarks(dlib_det)
    face = trk.update(canvas)
    assert face is not None and face.box[0] > 300 and trk.n_faces_last_detection == 2


# --- tracking ------------------------------------------------------------------------------


@pytest.mark.parametrize("video", ["tpsmm_driving.mp4", "liveportrait_d9.mp4"])
def test_tracking_matches_per_frame_detection(dlib_det, real_data, video):
    frames = read_frames(real_data / video, 60)
    trk = TrackingLandmarks(dlib_det, redetect_every=30)
    errors = []
    for frame in frames:
        tracked, detected = trk.update(frame), dlib_det.detect(frame)
        assert tracked is not None and len(detected) == 1
        errors.append(mean_px(tracked.points, detected[0].points))
    errors = np.array(errors)
    assert trk.stats["frames"] == 60
    assert trk.stats["detections"] <= 6  # far fewer box detections than frames
    assert trk.stats["fits"] < 80
    assert np.median(errors) < 2.5 and np.mean(errors < 4.0) > 0.9, errors


def shifted(frame: np.ndarray, dx: float, dy: float) -> np.ndarray:
    M = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(frame, M, (frame.shape[1], frame.shape[0]), borderMode=cv2.BORDER_REPLICATE)


def test_tracking_recovers_from_fast_motion_and_blank_frames(dlib_det, real_data):
    frames = read_frames(real_data / "liveportrait_d9.mp4", 24)
    # the head jumps 60 px right, then 90 px back (a fast move), then the face vanishes for 3 frames
    seq = frames[:8] + [shifted(f, 60, 30) for f in frames[8:16]] + [shifted(f, -30, 0) for f in frames[16:20]]
    seq += [np.full_like(frames[0], 128)] * 3 + frames[20:24]
    careful = TrackingLandmarks(dlib_det, redetect_every=1000)
    blind = TrackingLandmarks(dlib_det, redetect_every=1000, min_ncc=-1.0, min_score=0.0, max_jump=1e9,
                              max_drift=1e9, max_outside=1.0)  # fmt: skip  # never re-detects
    blind_err = []
    for i, frame in enumerate(seq):
        face, naive = careful.update(frame), blind.update(frame)
        if i in (20, 21, 22):
            assert face is None
            continue
        truth = dlib_det.detect(frame)[0].points
        assert face is not None and mean_px(face.points, truth) < 4.0, i
        blind_err.append(mean_px(naive.points, truth))
    assert careful.stats["reasons"].get("appearance", 0) >= 2
    assert careful.stats["detections"] < len(seq) // 2
    assert max(blind_err) > 20.0  # without the checks the track drifts away


# --- FAN -----------------------------------------------------------------------------------


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    hub = tmp_path / "hub"
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "_hub_dir", str(hub))
    assert torch.hub.get_dir() == str(hub)
    return hub


def test_fan_without_weights_raises_at_once(empty_hub):
    t0 = time.perf_counter()
    with pytest.raises(LandmarkModelMissing) as err:
        make_detector("fan")
    assert time.perf_counter() - t0 < 2.0  # no network attempt
    msg = str(err.value)
    expected = empty_hub / "checkpoints" / fan_url().rsplit("/", 1)[1]
    assert str(expected) in msg and fan_url() in msg
    assert "--landmarks dlib" in msg and "allow_download=True" in msg and "copy the file" in msg
    assert not expected.exists()


def test_fan_with_corrupt_weights_gives_a_clear_error(empty_hub):
    path = fan_weights_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a torch checkpoint")
    with pytest.raises(LandmarkModelInvalid) as err:
        make_detector("fan")
    assert not isinstance(err.value, LandmarkModelMissing)
    assert str(path) in str(err.value) and "could not be loaded" in str(err.value)


class BlobNet(torch.nn.Module):
    """Stands in for FAN: every heatmap is the 4x-average-pooled brightness of the crop."""

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        hm = torch.nn.functional.avg_pool2d(x.mean(1, keepdim=True), 4)  # (B, 1, 64, 64)
        return [hm.expand(-1, 68, -1, -1)]


@pytest.mark.parametrize("flip", [False, True])
def test_fan_crop_and_heatmap_decoding_map_back_to_frame_pixels(empty_hub, monkeypatch, flip):
    path = fan_weights_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"fake")  # found by the missing-file check; loading is stubbed below
    monkeypatch.setattr(FanLandmarks, "_load", staticmethod(lambda p, device: BlobNet()))
    det = make_detector("fan", flip=flip)
    image = np.zeros((480, 640, 3), np.uint8)
    box = (200.0, 150.0, 400.0, 350.0)  # crop side 200 * 400 / 195 = 410 px; heatmap cell 6.4 px
    errors = []
    for x, y in np.random.default_rng(1).integers(220, 380, (40, 2)):
        image[:] = 0
        cv2.circle(image, (int(x), int(y)), 3, (255, 255, 255), -1)
        face = det.fit(image, box)
        assert face.box == box and face.points.shape == (68, 2) and 0 < face.score <= 1
        errors.append(face.points[0] - (x, y))
    errors = np.array(errors)
    assert np.abs(errors).max() < 0.75 * 6.4  # argmax cell + quarter-cell nudge
    assert np.abs(errors.mean(0)).max() < 0.6, errors.mean(0)  # no half-pixel / half-cell bias


# --- oracle & factory ----------------------------------------------------------------------


def test_oracle_and_factory():
    truth = np.random.default_rng(0).uniform(100, 200, (3, 68, 2))
    det = make_detector("oracle", points_fn=lambda i: truth[i] if i < 2 else None)
    image = np.zeros((240, 320, 3), np.uint8)
    f0 = det.detect(image)[0]
    assert np.allclose(f0.points, truth[0]) and f0.score == 1.0
    assert f0.box == pytest.approx((*truth[0].min(0), *truth[0].max(0)), abs=1e-4)
    trk = TrackingLandmarks(det)  # no box-conditioned fit: detects every frame
    assert np.allclose(trk.update(image).points, truth[1])
    assert trk.update(image) is None and trk.stats["detections"] == 2
    by_image = OracleDetector(lambda img: truth[:2] * (1 + img.mean()), pass_image=True)
    assert len(by_image.detect(image)) == 2
    with pytest.raises(ValueError, match="unknown landmark backend"):
        make_detector("nope")
