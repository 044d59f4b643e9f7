"""The tracker's output filter against ground truth: what each smoothing buys and costs.

``python -m bench.output_filter --bundle PATH[@PERSON] [--bundle ...] --cache DIR --out DIR [--quick] [--videos DIR]``

Studio clips per person: the Table-1 rooms with the mixed performance (head turns, expressions)
and "desk" clips (a still head and a talking head at a webcam's face size), each with the
room's camera shake. Each clip is adapted on its first half as in Table 1 (``full_da``), and
the second half's raw answers are run through each filter variant, frame by frame as the live
tracker does (:func:`bench.track_eval.smoothed`), and scored against ground truth:

- ``stab2d``: 2D stability of the 68 projected landmarks (Eq. 10 on frame-pixel tracks,
  +0.1 px), next to ``gt_stab2d``, the true landmarks' own (they move and shake too);
- ``landmark_px``: mean distance of the projected landmarks to the true ones, frame px;
- ``reprojection``: salient-point error at the 256-crop scale, and ``temporal``: Eq. 10 on G.

A filter that brings ``stab2d`` below the truth's own removes real motion; the price of
smoothing is the rise in ``landmark_px`` and ``reprojection`` (lag). With ``--videos`` the real
videos are run the same way with the first bundle (dlib landmarks, no ground truth): ``stab2d``
next to the detector's.
Variants: ``none``; ``euro_pose``, the 1-euro pose filter the tracker used before (3 Hz, beta
15); ``default``, the shipped filter; ``strength_0.25`` / ``strength_0.75``, the app's slider.
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from models import bundle as B
from models.adapt import AdaptConfig, adapt
from models.data import load_capture, read_video, video_fps
from models.filters import OneEuroConfig, SmoothingConfig
from models.metrics import G_TEMPORAL_OFFSET, LANDMARK_2D_OFFSET, temporal_stability

from .common import git_commit, machine, md_table, run_and_cache_dirs, write_json
from .paper_tables import _person
from .real_videos import projected_landmarks
from .table1 import ensure_wild, score
from .track_eval import SimulatedDetector, detect_and_crop, predict, smoothed

VARIANTS: dict[str, SmoothingConfig | None] = {
    "none": None,
    "euro_pose": replace(SmoothingConfig(), pose=OneEuroConfig(min_cutoff=3.0, beta=15.0)),
    "default": SmoothingConfig(),
    "strength_0.25": SmoothingConfig(strength=0.25),
    "strength_0.75": SmoothingConfig(strength=0.75),
}
ROOMS = ("tungsten", "office", "window", "evening", "rgb_desk")
DESK = (("office", "still"), ("tungsten", "talk"), ("evening", "still"), ("window", "talk"))
DESK_FACE_SCALE = 0.2  # a face at a desk webcam fills more of the frame than in the Table-1 clips


def ensure_desk(cache: Path, person: int, room: str, kind: str, frames: int) -> Path:
    from studio.capture import capture_wild

    path = cache / f"wild_p{person}_{room}_{kind}_{frames}"
    if not (path / "manifest.json").exists():
        capture_wild(person, room, frames, path, kind=kind, face_scale=DESK_FACE_SCALE)
    return path


def _stab2d(points: np.ndarray) -> float:
    """Eq. 10 on 2D tracks (N, 68, 2) with +0.1 px; NaN with fewer than 3 frames to score."""
    if len(points) < 3:
        return float("nan")
    return temporal_stability(points.astype(np.float64), offset=LANDMARK_2D_OFFSET)


def _variants(bundle, pred: dict, boxes: np.ndarray, found: np.ndarray, fps: float, weights) -> dict:
    return {name: pred if cfg is None else smoothed(bundle, pred, boxes, found, fps, cfg, weights)
            for name, cfg in VARIANTS.items()}


def _calibrate_and_predict(bundle, track, adapt_cfg: AdaptConfig):
    """Adapt on the first half of ``track`` (kept even if rejected, to score it) and answer the
    second half with the adapted networks -> (adaptation result, ``predict``'s dict)."""
    n = len(track.found)
    res = adapt(bundle.i2znet, bundle.color, bundle.dam, bundle.topology, track.rec.subset(slice(0, n // 2)),
                replace(adapt_cfg, keep_rejected=True))
    return res, predict(bundle, track.rec.subset(slice(n // 2, n)), res.weights)


def run_clip(bundle, capture: Path, adapt_cfg: AdaptConfig) -> dict:
    """Adapt on the first half, score every filter variant on the second (ground truth)."""
    cap = load_capture(capture)
    frames = cap.video_frames()
    n = len(frames)
    track = detect_and_crop(frames, bundle.cfg.crop_size,
                            SimulatedDetector(cap.gt["landmarks"][:, 0], seed=cap.manifest["seed"]))
    e_idx = np.arange(n // 2, n)
    res, pred = _calibrate_and_predict(bundle, track, adapt_cfg)
    boxes, found = track.boxes[e_idx], track.found[e_idx]
    gt_lm = cap.gt["landmarks"][e_idx, 0].astype(np.float64)
    out: dict = {"gt_stab2d": _stab2d(gt_lm[found]), "verdict": res.verdict, "variants": {}}
    for name, p in _variants(bundle, pred, boxes, found, float(cap.manifest.get("fps", 30)), res.weights).items():
        lm = projected_landmarks(bundle, p, boxes)
        out["variants"][name] = {**score(bundle, p["G"], p["H"], track, e_idx, cap.gt),
                                 "stab2d": _stab2d(lm[found]),
                                 "landmark_px": float(np.linalg.norm(lm - gt_lm, axis=-1)[found].mean())}
    return out


def run_video(bundle, path: Path, adapt_cfg: AdaptConfig) -> dict:
    """A real video: dlib landmarks, calibrate on the first half, filter variants on the second."""
    frames = read_video(path)
    n = len(frames)
    track = detect_and_crop(frames, bundle.cfg.crop_size, "dlib")
    res, pred = _calibrate_and_predict(bundle, track, adapt_cfg)
    boxes, found, det = track.boxes[n // 2:], track.found[n // 2:], track.points[n // 2:]
    out: dict = {"detector_stab2d": _stab2d(det[found]), "verdict": res.verdict,
                 "variants": {}}
    for name, p in _variants(bundle, pred, boxes, found, video_fps(path), res.weights).items():
        lm = projected_landmarks(bundle, p, boxes)[found]
        err = float(np.linalg.norm(lm - det[found], axis=-1).mean())
        temporal = temporal_stability(p["G"][found], offset=G_TEMPORAL_OFFSET) if len(lm) >= 3 else float("nan")
        out["variants"][name] = {"stab2d": _stab2d(lm), "temporal": temporal,
                                 "landmark_error_vs_detector_px": err}
    return out


def average(clips: dict) -> dict:
    """Mean of every metric per variant over ``clips`` (+ the mean gt / detector stability)."""
    first = next(iter(clips.values()))
    avg: dict = {k: float(np.nanmean([c[k] for c in clips.values()])) for k in first if k.endswith("stab2d")}
    for v in VARIANTS:
        keys = [k for k, x in first["variants"][v].items() if isinstance(x, float)]
        avg[v] = {k: float(np.nanmean([c["variants"][v][k] for c in clips.values()])) for k in keys}
    return avg


def _table(title: str, avg: dict, ref: str) -> str:
    """One markdown table of ``average``'s means; ``ref``: the reference stability's key."""
    keys = list(avg["default"])
    rows = [[v] + [avg[v][k] for k in keys] for v in VARIANTS]
    return f"## {title} ({ref} {avg[ref]:.3f})\n\n" + md_table(["variant"] + keys, rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.output_filter", description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", action="append", required=True, help="avatar bundle (PATH or PATH@PERSON_SEED)")
    p.add_argument("--cache", default="runs/paper_cache", help="captures are rendered once and reused")
    p.add_argument("--out", default=None)
    p.add_argument("--quick", action="store_true", help="one room and one desk clip per person, short clips")
    p.add_argument("--frames", type=int, default=None, help="frames per clip (quick 40, full 240)")
    p.add_argument("--adapt-steps", type=int, default=None, help=f"(quick 15, full {AdaptConfig().steps})")
    p.add_argument("--videos", default=None,
                   help="also run the real videos (*.mp4) in this folder, with the first --bundle")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    t0 = time.time()
    out, cache = run_and_cache_dirs(a.out, "output_filter", a.cache)
    q = a.quick
    frames = a.frames or (40 if q else 240)
    adapt_cfg = AdaptConfig(steps=a.adapt_steps or (15 if q else AdaptConfig().steps))
    rooms, desk = (ROOMS[:1], DESK[:1]) if q else (ROOMS, DESK)
    results: dict = {"machine": machine(), "git_commit": git_commit(), "quick": q, "frames_per_clip": frames,
                     "adapt_steps": adapt_cfg.steps, "variants": {k: repr(v) for k, v in VARIANTS.items()},
                     "mixed": {}, "desk": {}}
    for spec in a.bundle:
        bundle = B.load(spec.split("@")[0])
        person = _person(bundle, spec)
        if any(k.startswith(f"p{person}_") for k in results["mixed"]):
            raise SystemExit(f"two bundles for studio person {person}: give each bundle its own (PATH@PERSON)")
        for room in rooms:
            print(f"[output_filter] person {person} {room} mixed", flush=True)
            clip = ensure_wild(cache, person, room, frames)
            results["mixed"][f"p{person}_{room}"] = run_clip(bundle, clip, adapt_cfg)
        for room, kind in desk:
            print(f"[output_filter] person {person} {room} {kind}", flush=True)
            results["desk"][f"p{person}_{room}_{kind}"] = run_clip(
                bundle, ensure_desk(cache, person, room, kind, frames), adapt_cfg)
    md = [_table("Mixed head motion (Table-1 clips)", average(results["mixed"]), "gt_stab2d"),
          _table("Desk: still and talking heads", average(results["desk"]), "gt_stab2d")]
    results["average"] = {"mixed": average(results["mixed"]), "desk": average(results["desk"])}
    if a.videos:
        vids = sorted(Path(a.videos).glob("*.mp4"))
        if not vids:
            raise SystemExit(f"no .mp4 videos in {a.videos}")
        bundle = B.load(a.bundle[0].split("@")[0])
        results["real"] = {}
        for v in vids:
            print(f"[output_filter] {v.name}", flush=True)
            results["real"][v.name] = run_video(bundle, v, adapt_cfg)
        results["average"]["real"] = average(results["real"])
        md.append(_table("Real videos (no ground truth)", results["average"]["real"], "detector_stab2d"))
        rows = [[k, r["detector_stab2d"]] + [r["variants"][v]["stab2d"] for v in VARIANTS]
                for k, r in results["real"].items()]
        md.append(md_table(["video", "detector"] + [f"{v} stab2d" for v in VARIANTS], rows))
    results["seconds"] = round(time.time() - t0, 1)
    write_json(out / "results.json", results)
    text = "\n\n".join(md)
    (out / "results.md").write_text(f"# Output filter\n\nMachine: {results['machine']}\n\n{text}\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
