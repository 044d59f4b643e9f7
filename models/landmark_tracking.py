"""Track one face through a video with a box-and-fit landmark detector (``models.landmarks``).

:class:`TrackingLandmarks` reuses the previous frame's face box (rebuilt from the previous points)
and runs the face-box detector only when the fit degrades or every ``redetect_every`` frames.
A re-detection of a live track looks near it and leaves the whole frame to a worker thread
(``models.face_search``), so the check every N frames costs no frame-time spike.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from models.face_search import FullScan, detect_near
from models.facebox import (
    Box,
    box_area,
    box_from_points,
    box_iou,
    box_relation,
    box_size,
    face_frame,
    face_patch,
    grow_box,
    to_gray,
)
from models.landmarks import BoxLandmarkDetector, DlibLandmarks, Face, LandmarkDetector


class TrackingLandmarks:
    """Track one face (the largest) by reusing the previous face box.

    Each frame the box is rebuilt from the previous points (in the face frame of stable points,
    calibrated at each detection, so it matches what the box detector would give). The face-box
    detector runs again only when the fit degrades or every ``redetect_every`` frames. Degraded
    means: the eye/nose patch under the new fit correlates less than ``min_ncc`` with the previous
    frame's (the shape predictor happily fits a face shape to a wrong box, so appearance is the
    real check), the backend score drops below ``min_score``, points leave the grown box, the
    face jumps more than ``max_jump`` box sizes, or a second fit from the corrected box still
    moves more than ``max_drift``. A scheduled re-detection that agrees with the track keeps the
    tracked fit (no jump); one that finds no face keeps a good track up to ``max_misses`` times.
    Detectors without ``fit`` (e.g. the oracle) just detect every frame.

    ``near_redetect`` (default): a re-detection of a live track (scheduled or degraded) runs the
    box detector only near the tracked box (:func:`models.face_search.detect_near`, ~5 ms instead
    of ~25 ms on a 512 px frame, 10 instead of 94 on 720 x 1280; the whole frame when nothing is
    found there) and starts a whole-frame scan on a worker thread
    (:class:`models.face_search.FullScan`) whose answer, some frames later, updates
    ``n_faces_last_detection`` and, when a larger face than the tracked one is in view, makes the
    next frame re-detect on the whole frame (the largest face is tracked, as before). False: the
    scheduled check scans the whole frame in the tracking thread (the behaviour before).
    """

    def __init__(
        self,
        detector: LandmarkDetector,
        redetect_every: int = 30,
        min_ncc: float = 0.7,
        min_score: float = 0.5,
        max_outside: float = 0.1,
        max_jump: float = 0.3,
        refine_motion: float = 0.03,
        max_drift: float = 0.1,
        max_misses: int = 2,
        near_redetect: bool = True,
    ) -> None:
        self.detector = detector
        self.redetect_every, self.max_misses = redetect_every, max_misses
        self.min_ncc, self.min_score, self.max_outside = min_ncc, min_score, max_outside
        self.max_jump, self.refine_motion, self.max_drift = max_jump, refine_motion, max_drift
        self.frames = self.detections = self.fits = 0
        self.reasons: Counter[str] = Counter()
        self.n_faces_last_detection = 0
        # near checks and whole-frame scans need a face-box detector that can be cloned for the scan
        self._boxes = getattr(detector, "box_detector", None)
        clone = getattr(self._boxes, "clone", None)
        self._scan = FullScan(clone()) if near_redetect and clone is not None else None
        self.reset()

    def reset(self) -> None:
        """Forget the track (the next frame runs the face-box detector)."""
        self.face: Face | None = None
        self._patch: np.ndarray | None = None  # (32 * 32,) eye/nose patch of self.face
        self.last_ncc = 0.0
        self._relation: np.ndarray | None = None
        self._n_relations = 0
        self._since_detection = 0
        self._misses = 0
        self._larger_face = False  # a whole-frame scan saw a larger face than the tracked one
        if self._scan is not None:
            self._scan.cancel()

    def wait_scan(self, timeout: float | None = None) -> None:
        """Block until a running whole-frame scan has finished (tests, benchmarks); its answer is
        taken on the next :meth:`update`."""
        if self._scan is not None:
            self._scan.wait(timeout)

    @property
    def stats(self) -> dict[str, Any]:
        """Frames seen, box-detector runs in the tracking thread (whole frame or near the track),
        whole-frame scans on the worker, landmark fits and why re-detections ran."""
        return {"frames": self.frames, "detections": self.detections, "fits": self.fits,
                "scans": self._scan.scans if self._scan is not None else 0,
                "reasons": dict(self.reasons)}  # fmt: skip

    def update(self, image_bgr: np.ndarray) -> Face | None:
        """One frame (H, W, 3) BGR -> the tracked face, or None when there is none."""
        self.frames += 1
        if not isinstance(self.detector, BoxLandmarkDetector):
            faces = self.detector.detect(image_bgr)
            self.detections += 1
            self.n_faces_last_detection = len(faces)
            self.face = faces[0] if faces else None
            return self.face
        gray = to_gray(image_bgr)
        image = gray if isinstance(self.detector, DlibLandmarks) else image_bgr
        self._read_scan()
        if self.face is None:
            return self._detect(image, gray, "search", None)
        if self._larger_face:
            return self._detect(image, gray, "larger face", self.face, whole=True)
        face, reason = self._track(image, self.face)
        self._since_detection += 1
        if reason is None:
            patch = face_patch(gray, face.points)
            self.last_ncc = float(patch @ self._patch) if self._patch is not None else 1.0
            if self.last_ncc < self.min_ncc:
                reason = "appearance"
            elif self._since_detection >= self.redetect_every:
                reason = "scheduled"
            else:
                return self._accept(face, gray, patch)
        return self._detect(image, gray, reason, face)

    def _fit(self, image: np.ndarray, box: Box) -> Face:
        self.fits += 1
        return self.detector.fit(image, box)  # type: ignore[attr-defined]

    def _track(self, image: np.ndarray, prev: Face) -> tuple[Face, str | None]:
        assert self._relation is not None
        box = box_from_points(prev.points, self._relation)
        face = self._fit(image, box)
        size = box_size(box)
        motion = _moved(prev.points, face.points) / size
        if motion > self.refine_motion:  # fast motion: fit again from the corrected box
            box2 = box_from_points(face.points, self._relation)
            face2 = self._fit(image, box2)
            drift = _moved(face.points, face2.points) / size
            box, face = box2, face2
            if drift > self.max_drift:
                return face, "drift"
        if motion > self.max_jump:
            return face, "jump"
        if face.score < self.min_score:
            return face, "score"
        g = grow_box(box, 1.25)
        p = face.points
        outside = ~((p[:, 0] >= g[0]) & (p[:, 0] <= g[2]) & (p[:, 1] >= g[1]) & (p[:, 1] <= g[3]))
        if outside.mean() > self.max_outside:
            return face, "outside"
        return face, None

    def _read_scan(self) -> None:
        """Take a finished whole-frame scan's answer: the face count, and whether the largest
        face in view is another, larger one than the face tracked when the scan started."""
        got = self._scan.poll() if self._scan is not None else None
        if got is None or self.face is None:
            return
        boxes, tracked_box = got
        mine = [i for i, (b, _) in enumerate(boxes) if box_iou(b, tracked_box) > 0.5]  # the tracked face
        self.n_faces_last_detection = len(boxes) + (0 if mine else 1)  # (a small tracked face may be missed)
        if boxes and (not mine or mine[0] != 0):  # the largest face in view is another one: larger?
            own = boxes[mine[0]][0] if mine else tracked_box
            self._larger_face = box_area(boxes[0][0]) > box_area(own)

    def _detect(self, image: np.ndarray, gray: np.ndarray, reason: str, tracked: Face | None,
                whole: bool = False) -> Face | None:
        self.reasons[reason] += 1
        self.detections += 1
        self._since_detection = 0
        self._larger_face = False
        near = tracked is not None and not whole and self._scan is not None  # a live track: near it first
        boxes = detect_near(self._boxes, gray, tracked.box) if near else []  # type: ignore[arg-type,union-attr]
        if not boxes:
            near = False
            if self._scan is not None:
                self._scan.cancel()  # this whole-frame answer is newer
            boxes = self.detector.detect_boxes(image)  # type: ignore[attr-defined]
            self.n_faces_last_detection = len(boxes)
        if not boxes:
            if reason == "scheduled" and tracked is not None and self._misses < self.max_misses:
                self._misses += 1
                return self._accept(tracked, gray, None, keep_misses=True)
            self.reset()
            return None
        box = boxes[0][0]
        same = tracked is not None and box_iou(box, tracked.box) > 0.5
        face = self._fit(image, box)
        if not same:  # a new face (or a lost track): recalibrate from scratch
            self._relation, self._n_relations = None, 0
        self._calibrate(box, face.points)
        if reason == "scheduled" and same:
            face = tracked  # type: ignore[assignment]  # agrees: no jump
        out = self._accept(face, gray)
        if near:  # the whole frame on the worker: the face count, a larger face (the face tracked now)
            self._scan.start(gray, out.box)  # type: ignore[union-attr]
        return out

    def _calibrate(self, box: Box, points: np.ndarray) -> None:
        """Running mean of the detector box in the face frame (averages out its quantisation)."""
        rel = box_relation(box, points)
        n = self._n_relations = min(self._n_relations + 1, 8)
        self._relation = rel if self._relation is None else self._relation + (rel - self._relation) / n

    def _accept(self, face: Face, gray: np.ndarray, patch: np.ndarray | None = None, keep_misses: bool = False) -> Face:
        if not keep_misses:
            self._misses = 0
        self.face, self._patch = face, face_patch(gray, face.points) if patch is None else patch
        return face


def _moved(a: np.ndarray, b: np.ndarray) -> float:
    """Displacement (pixels) of the stable-point face centre between two (68, 2) fits."""
    return float(np.linalg.norm(face_frame(a)[0] - face_frame(b)[0]))
