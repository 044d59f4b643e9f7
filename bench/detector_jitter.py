"""Per-region frame-to-frame jitter of a landmark detector on real videos.

The crowd encoder is trained with keypoint noise that should match what the live detector
delivers (issue 15, item 5): too much and the encoder learns to ignore the eye and brow points,
too little and it trusts them more than it should. For white noise of std sigma on a point,
the second difference x_{t+1} - 2 x_t + x_{t-1} has std sqrt(6) sigma, while smooth motion
adds little at 25-30 FPS. Blinks and fast expressions are not smooth, so the estimate is
robust: sigma = 1.4826 median(|second difference|) / sqrt(6), per point and axis, in
fractions of the crop box side (:func:`models.crop.box_from_landmarks`), then the median over
each region's points and over the videos.

    python -m bench.detector_jitter --videos ../shared/data/real --out runs/jitter [--frames 300]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np

from models import crop as C
from models.face_signals import REGIONS, second_difference_sigma
from models.landmarks import make_detector


def detect_track(path: Path, frames: int, detector) -> np.ndarray:
    """Detector points on the first ``frames`` frames, detection every frame. -> (N, 68, 2), NaN: none."""
    cap = cv2.VideoCapture(str(path))
    out = []
    while len(out) < frames:
        ok, img = cap.read()
        if not ok:
            break
        faces = detector.detect(img)
        out.append(faces[0].points if faces else np.full((68, 2), np.nan))
    cap.release()
    return np.asarray(out, np.float64)


def jitter_per_point(L: np.ndarray) -> np.ndarray:
    """Robust per-point noise std as a fraction of the box side. L (N, 68, 2) -> (68,)."""
    side = np.array([C.box_from_landmarks(p)[2] if np.isfinite(p).all() else np.nan for p in L])
    Ln = L / side[:, None, None]
    d2 = Ln[2:] - 2 * Ln[1:-1] + Ln[:-2]  # (N-2, 68, 2)
    ok = np.isfinite(d2).all(axis=(1, 2))
    if ok.sum() < 10:
        return np.full(68, np.nan)
    return second_difference_sigma(d2[ok], axis=0).mean(-1)  # (68, 2) -> (68,)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.detector_jitter", description=__doc__.split("\n\n")[0])
    p.add_argument("--videos", required=True, help="folder of real videos (*.mp4)")
    p.add_argument("--out", required=True)
    p.add_argument("--frames", type=int, default=300, help="frames per video (from the start)")
    p.add_argument("--detector", default="dlib")
    a = p.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    det = make_detector(a.detector)
    per_video, t0 = {}, time.time()
    for v in sorted(Path(a.videos).glob("*.mp4")):
        L = detect_track(v, a.frames, det)
        pp = jitter_per_point(L)
        per_video[v.name] = {r: float(np.nanmedian(pp[list(idx)])) for r, idx in REGIONS.items()}
        per_video[v.name]["found"] = float(np.isfinite(L).all(axis=(1, 2)).mean())
        print(v.name, {k: round(x, 5) for k, x in per_video[v.name].items()})
    regions = {r: float(np.nanmedian([d[r] for d in per_video.values()])) for r in REGIONS}
    res = {"detector": a.detector, "frames_per_video": a.frames, "unit": "fraction of the crop box side",
           "per_video": per_video, "median": regions, "seconds": round(time.time() - t0, 1)}
    (out / "detector_jitter.json").write_text(json.dumps(res, indent=2))
    print("median per region:", {k: round(x, 5) for k, x in regions.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
