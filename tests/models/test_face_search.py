"""Scheduled re-detection near the track plus a whole-frame scan on a worker thread (issue 16:
the HOG spike): the same boxes, the same track, the face count and the largest-face rule kept."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from models.face_search import FullScan, detect_near
from models.facebox import HogBoxDetector, box_iou, box_size, to_gray
from models.landmark_tracking import TrackingLandmarks
from models.landmarks import make_detector

from .test_landmarks import read_frames


@pytest.fixture(scope="module")
def dlib_det():
    return make_detector("dlib")


def two_faces(real_data, big_visible: bool = True) -> np.ndarray:
    """A 560 x 760 canvas: a small face on the left, a larger one on the right (or grey there)."""
    big = cv2.imread(str(real_data / "3ddfa_v2_JianzhuGuo.jpg"))  # 413 x 551
    small = cv2.resize(cv2.imread(str(real_data / "face_recognition_obama.jpg")), (300, 375))
    canvas = np.full((560, 760, 3), 90, np.uint8)
    if big_visible:
        canvas[:551, 350:760] = big[:, :410]
    canvas[100:475, 20:320] = small
    return canvas


@pytest.mark.parametrize("video", ["liveportrait_d9.mp4", "liveportrait_d13.mp4"])
def test_detect_near_finds_the_same_box_as_the_whole_frame(real_data, video):
    """Near the face at ~120 px the detector finds the box the whole-frame detector finds (mapped
    back to frame pixels), on a landscape and on a 720 x 1280 portrait clip."""
    hog = HogBoxDetector()
    gray = to_gray(read_frames(real_data / video, 1)[0])
    (full, _), *_ = hog(gray)
    shifted = tuple(v + 0.1 * box_size(full) for v in full)  # the track is a little off
    near = detect_near(hog, gray, shifted)
    assert near, "no face near the track"
    assert box_iou(near[0][0], full) > 0.75, (near[0][0], full)
    assert abs(box_size(near[0][0]) / box_size(full) - 1) < 0.2


def test_detect_near_at_the_frame_border_and_with_nothing_there(real_data):
    hog = HogBoxDetector()
    gray = to_gray(read_frames(real_data / "liveportrait_d9.mp4", 1)[0])
    (full, _), *_ = hog(gray)
    dx = full[0] + 0.3 * (full[2] - full[0])  # move the frame so the face is cut by the left border
    cut = np.ascontiguousarray(gray[:, int(dx):])
    box = (full[0] - int(dx), full[1], full[2] - int(dx), full[3])
    assert all(np.isfinite(v) for b, _ in detect_near(hog, cut, box) for v in b)  # no crash, frame pixels
    blank = np.full_like(gray, 128)
    assert detect_near(hog, blank, full) == []
    assert detect_near(hog, gray, (5.0, 5.0, 5.0, 5.0)) == []  # a degenerate box


@pytest.mark.parametrize("box, f", [((100.0, 100.0, 399.0, 399.0), 0.4), ((10.0, 20.0, 59.0, 69.0), 2.0)])
def test_detect_near_maps_window_boxes_back_to_frame_pixels(box, f):
    """A fake detector reports the window's pixel (x', y') = (10, 12) .. (30, 40): it must come back
    as (x' + 0.5) / f - 0.5 + window corner, with the window clipped at the frame's top-left."""
    image = np.zeros((480, 640), np.uint8)
    seen = []

    def fake(small):
        seen.append(small.shape)
        return [((10.0, 12.0, 30.0, 40.0), 2.5)]

    (got, score), = detect_near(fake, image, box, face_px=f * box_size(box))
    size = box_size(box)
    cx, cy, half = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, 2.4 * size / 2
    x0, y0 = max(0, int(np.floor(cx - half))), max(0, int(np.floor(cy - half)))
    want = ((10.5 / f - 0.5 + x0), (12.5 / f - 0.5 + y0), (30.5 / f - 0.5 + x0), (40.5 / f - 0.5 + y0))
    assert np.allclose(got, want) and score == 2.5
    if box[0] < 100:
        assert x0 == 0 and y0 == 0  # the small box's window is clipped at the corner
    x1, y1 = min(640, int(np.ceil(cx + half))), min(480, int(np.ceil(cy + half)))
    assert seen == [(round((y1 - y0) * f), round((x1 - x0) * f))]


def test_the_scan_has_a_detector_of_its_own(dlib_det):
    """dlib's detector keeps per-call state: the worker's scans must not share it with the near
    checks in the tracking thread."""
    trk = TrackingLandmarks(dlib_det)
    assert trk._scan is not None and trk._scan._detect is not dlib_det.box_detector
    assert type(trk._scan._detect) is type(dlib_det.box_detector)
    assert TrackingLandmarks(dlib_det, near_redetect=False)._scan is None


def test_full_scan_runs_beside_the_caller_drops_cancelled_answers_and_survives_errors():
    gate = threading.Event()
    calls: list[tuple] = []

    def detect(img):
        gate.wait(5)
        calls.append(img.shape)
        if img.shape[0] == 3:
            raise RuntimeError("broken detector")
        return [((1.0, 2.0, 3.0, 4.0), 1.0)]

    scan = FullScan(detect)
    img = np.zeros((4, 4), np.uint8)
    assert scan.start(img, (0, 0, 1, 1)) and not scan.start(img, (0, 0, 1, 1))  # one at a time
    img[:] = 7  # the scan works on its own copy
    assert scan.poll() is None  # still running: the caller goes on
    gate.set()
    scan.wait(5)
    boxes, box = scan.poll()
    assert boxes == [((1.0, 2.0, 3.0, 4.0), 1.0)] and box == (0, 0, 1, 1)
    assert scan.poll() is None  # an answer is taken once
    gate.clear()
    assert scan.start(img, (0, 0, 1, 1))
    scan.cancel()
    assert not scan.start(img, (0, 0, 1, 1))  # the forgotten scan still runs: no second one beside it
    gate.set()
    scan.wait(5)
    assert scan.poll() is None  # cancelled: its finished answer is dropped
    assert scan.start(np.zeros((3, 3), np.uint8), (0, 0, 1, 1))
    scan.wait(5)
    assert scan.poll() is None and scan.errors == 1 and scan.scans == 3 and len(calls) == 3
    scan.close()


def test_tracking_near_redetect_matches_the_whole_frame_schedule(dlib_det, real_data):
    """Over 90 frames with a check every 10 frames, the near re-detection keeps the track as close
    to per-frame detection as the whole-frame schedule, and the whole frame is scanned off-thread."""
    frames = read_frames(real_data / "liveportrait_d9.mp4", 90)
    near = TrackingLandmarks(dlib_det, redetect_every=10)
    whole = TrackingLandmarks(dlib_det, redetect_every=10, near_redetect=False)
    err_near, err_whole = [], []
    for frame in frames:
        ref = dlib_det.detect(frame)[0].points
        a, b = near.update(frame), whole.update(frame)
        near.wait_scan(5)
        err_near.append(np.linalg.norm(a.points - ref, axis=1).mean())
        err_whole.append(np.linalg.norm(b.points - ref, axis=1).mean())
        assert near.n_faces_last_detection == 1
    assert near.stats["reasons"].get("scheduled", 0) >= 8
    assert near.stats["scans"] >= 8 and whole.stats["scans"] == 0
    assert np.median(err_near) < 2.5 and np.median(err_near) < np.median(err_whole) + 0.3, (
        np.median(err_near), np.median(err_whole))


def test_a_larger_face_that_appears_is_taken_over_after_the_scan(dlib_det, real_data):
    """The largest face in view is tracked, as with whole-frame checks: the near check keeps the
    small face, the scan on the worker sees the larger one, and the next frame switches to it."""
    only_small, both = two_faces(real_data, big_visible=False), two_faces(real_data)
    trk = TrackingLandmarks(dlib_det, redetect_every=3)
    assert trk.update(only_small).box[2] < 330  # the small face (left) is the only one
    faces = []
    for _ in range(8):
        faces.append(trk.update(both))
        trk.wait_scan(5)
    assert faces[0].box[2] < 330  # the track stays on the small face until the scan has spoken
    assert faces[-1].box[0] > 300, [f.box for f in faces]  # then the larger (right) face
    assert trk.stats["reasons"].get("larger face") == 1
    assert trk.n_faces_last_detection == 2
