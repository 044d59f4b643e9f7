"""Inputs of bench.expression_fidelity: video frames, the live tracker's answers per frame, and
the independent reference (dlib, HOG face detection on every frame + the 68-point predictor),
cached per video under the run folder keyed by the file's sha256 and frame range.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.files import sha256
from models.tracker import Tracker

REFERENCE = "dlib HOG face detection on every frame (upsample 0) + 68-point shape predictor, no tracking"


def read_frames(path: Path, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Frames [start, stop) of a video (all from start when stop is None). -> (F, H, W, 3) BGR."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames, i = [], 0
    while stop is None or i < stop:
        ok, f = cap.read()
        if not ok:
            break
        if i >= start:
            frames.append(f)
        i += 1
    cap.release()
    if not frames:
        raise SystemExit(f"{path}: no frames could be decoded")
    return np.stack(frames)


def dlib_reference(path: Path, frames: np.ndarray, start: int, cache_dir: Path) -> dict:
    """Per-frame dlib points (F, 68, 2) frame px, NaN where HOG finds no face (the largest face
    otherwise). Cached in ``cache_dir`` by sha256 + frame range; only detector output is cached."""
    sha = sha256(path)
    stop = start + len(frames)
    cache = cache_dir / f"{path.stem}_{sha[:16]}_{start}-{stop}.npz"
    if cache.exists():
        z = np.load(cache)
        if str(z["sha256"]) == sha and z["points"].shape == (len(frames), 68, 2):
            return {"points": z["points"], "sha256": sha, "cached": True, "seconds": float(z["seconds"])}
    from models.landmarks import DlibLandmarks

    det = DlibLandmarks("hog")
    pts = np.full((len(frames), 68, 2), np.nan, np.float32)
    t0 = time.time()
    for i, f in enumerate(frames):
        faces = det.detect(f)
        if faces:
            pts[i] = faces[0].points
    seconds = time.time() - t0
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(cache.stem + ".partial.npz")
    np.savez_compressed(tmp, points=pts, sha256=sha, start=start, stop=stop, detector=REFERENCE, seconds=seconds)
    tmp.replace(cache)
    return {"points": pts, "sha256": sha, "cached": False, "seconds": seconds}


@dataclass
class Tracked:
    """The tracker's per-frame answers. landmarks / detected (N, 68, 2) frame px, NaN where no
    face (model_landmarks: the avatar's own projection, without the per-person corrective);
    expressions (N, K) with expression_names, gaze (N, ...) when the tracker gives them;
    G (N, V, 3) when kept (NaN where no face)."""

    landmarks: np.ndarray
    model_landmarks: np.ndarray | None
    detected: np.ndarray | None
    expressions: np.ndarray | None
    expression_names: list | None
    gaze: np.ndarray | None
    G: np.ndarray | None
    seconds: float

    @property
    def found(self) -> np.ndarray:
        return np.isfinite(self.landmarks).all(axis=(1, 2))


def _stack(rows: list, n: int) -> np.ndarray | None:
    """Per-frame optional arrays -> (N, ...) with NaN rows where absent; None when never present."""
    first = next((r for r in rows if r is not None), None)
    if first is None:
        return None
    out = np.full((n, *np.shape(first)), np.nan, np.float32)
    for i, r in enumerate(rows):
        if r is not None:
            out[i] = r
    return out


def track_frames(bundle, frames: np.ndarray, fps: float, device: str = "cpu", detector=None,
                 smoothing: float = 0.5, keep_geometry: bool = False, guide: str | None = "default",
                 expression_layer: bool = True, expression_source: str = "landmarks",
                 redetect: str = "near", eye_match: bool = True,
                 mouth_match: bool = True) -> Tracked:
    """Run the live :class:`models.tracker.Tracker` (its default detector unless given, its
    output filter at ``smoothing``) over consecutive frames at the video's time stamps. The
    texture is decoded once only: nothing here reads it. ``guide``: the tracker's keypoint guidance
    (:mod:`models.code_guide`; "default" = the tracker's default); ``expression_layer``: winks and
    wide eyes on G (:mod:`models.expression_layer`); ``expression_source``: where the named weights come
    from (``landmarks`` | ``fit`` | ``head``, :class:`models.tracker.Tracker`); ``redetect``: the default
    detector's check of a live track near it (``near``, :mod:`models.face_search`) or on the whole
    frame in the tracking thread (``whole``, the code before); ignored when ``detector`` is given.
    ``eye_match`` / ``mouth_match``: the layer's lid and inner-lip matching (:mod:`models.eye_match`,
    :mod:`models.mouth_match`)."""
    if detector is None and redetect == "whole":
        from models.landmark_tracking import TrackingLandmarks
        from models.landmarks import make_detector

        detector = TrackingLandmarks(make_detector("dlib"), near_redetect=False)
    kw = {} if guide in (None, "default") else {"guide": guide}
    kw.update(expression_layer=expression_layer, expression_source=expression_source, eye_match=eye_match,
              mouth_match=mouth_match)
    tr = Tracker(bundle, device, detector=detector, smoothing=smoothing, texture_every=10**9, **kw)
    n = len(frames)
    rows: dict[str, list] = {k: [] for k in ("landmarks", "model_landmarks", "detected", "expressions", "gaze", "G")}
    names = None
    t0 = time.time()
    for i, f in enumerate(frames):
        r = tr.track(f, timestamp=i / fps)
        ok = r.found
        rows["landmarks"].append(r.landmarks if ok else None)
        rows["detected"].append(r.detected if ok else None)
        rows["model_landmarks"].append(r.model_landmarks if ok else None)
        rows["G"].append(r.G if ok and keep_geometry else None)
        for k in ("expressions", "gaze"):
            rows[k].append(getattr(r, k, None) if ok else None)
        names = names or getattr(r, "expression_names", None)
    seconds = time.time() - t0
    lm = _stack(rows["landmarks"], n)
    if lm is None:
        lm = np.full((n, 68, 2), np.nan, np.float32)
    return Tracked(lm, _stack(rows["model_landmarks"], n), _stack(rows["detected"], n), _stack(rows["expressions"], n),
                   list(names) if names is not None else None, _stack(rows["gaze"], n), _stack(rows["G"], n),
                   seconds)
