"""A contact sheet of what the landmark fit reads on a real clip (docs/expression_fit.md).

``python -m bench.landmark_fit_sheet --video CLIP.mp4 --frames 124,169,305 --out sheet.png``

The clip is tracked from its first frame with the app's detector (dlib, tracked box) and
:class:`models.landmark_fit.LandmarkFit`; for each asked-for frame the face crop is shown with the
four largest fitted ARKit weights beneath it, so a reader can judge each reading by eye (a real
clip has no true weights).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from models.landmark_fit import LandmarkFit
from models.landmark_tracking import TrackingLandmarks
from models.landmarks import make_detector
from models.topology import load_topology

TILE = 220


def fit_video(path: Path) -> tuple[list, np.ndarray, tuple[str, ...], list]:
    """Every frame (BGR), the fitted weights (N, 34) (zeros where no face), their names, the points (or None)."""
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    det, fit = TrackingLandmarks(make_detector("dlib")), LandmarkFit(load_topology("head_v1"))
    frames, W, pts = [], [], []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        face = det.update(frame)
        frames.append(frame)
        pts.append(face.points if face is not None else None)
        W.append(fit.update(face.points, len(W) / fps) if face is not None else np.zeros(len(fit.names), np.float32))
    cap.release()
    return frames, np.array(W), fit.names, pts


def tile(frame: np.ndarray, points: np.ndarray | None, w: np.ndarray, names: tuple[str, ...], index: int) -> np.ndarray:
    if points is None:
        crop = np.zeros((TILE, TILE, 3), np.uint8)
    else:
        c, s = points.mean(0), float(np.ptp(points[:, 0]))
        pad = int(s)
        big = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_CONSTANT)
        x0, y0 = int(c[0] - 0.8 * s) + pad, int(c[1] - 0.8 * s) + pad
        crop = cv2.resize(big[y0:y0 + int(1.6 * s), x0:x0 + int(1.6 * s)], (TILE, TILE))
    panel = np.zeros((74, TILE, 3), np.uint8)
    cv2.putText(panel, f"frame {index}", (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (200, 200, 200), 1)
    for k, j in enumerate(np.argsort(w)[::-1][:4]):
        cv2.putText(panel, f"{names[j]} {w[j]:.2f}", (4, 28 + 14 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (255, 255, 255), 1)
    return np.vstack([crop, panel])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.landmark_fit_sheet", description=__doc__.split("\n\n")[0])
    p.add_argument("--video", required=True)
    p.add_argument("--frames", required=True, help="comma list of frame indices")
    p.add_argument("--per-row", type=int, default=5)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    frames, W, names, pts = fit_video(Path(a.video))
    want = [int(v) for v in a.frames.split(",")]
    bad = [i for i in want if not 0 <= i < len(frames)]
    if bad:
        raise SystemExit(f"{a.video} has {len(frames)} frames; not in it: {bad}")
    tiles = [tile(frames[i], pts[i], W[i], names, i) for i in want]
    blank = np.zeros_like(tiles[0])
    rows = [np.hstack(tiles[i:i + a.per_row] + [blank] * (a.per_row - len(tiles[i:i + a.per_row])))
            for i in range(0, len(tiles), a.per_row)]
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(a.out, np.vstack(rows))
    print(f"wrote {a.out} ({len(tiles)} frames of {a.video})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
