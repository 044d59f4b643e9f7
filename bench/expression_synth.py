"""Synthetic clips of bench.expression_fidelity: studio persons the avatar was not built from,
tracked by the live tracker and scored against the studio's ground truth.

Ground truth: the 2D landmarks of the rendered person (NME, signal r, 2D stability), the
performance's blink weights (blink events: runs above GT_BLINK_LEVEL), and, for geometry, the
*avatar person's* geometry for the same expression weights (the retargeting target of issue 15:
the avatar should make the expression the person makes; the person's own identity is not the
avatar's). Expression MAE and gaze error need named expression weights / gaze from the tracker
(FrameResult.expressions / expression_names / gaze) and, for gaze, studio ground truth; each is
"n/a" with its reason when missing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.data import load_capture
from models.face_signals import face_signals, pearson

from .expression_scores import (
    BLINK_TOL,
    GT_BLINK_LEVEL,
    eye_open_both,
    landmark_scores,
    region_vertex_error,
    vertex_regions,
    weight_events,
)
from .expression_tracking import track_frames

DEFAULT_PERSONS = (7, 12)  # the default avatar is person 0 (its manifest); the studio has no held-out list


def avatar_person(bundle) -> int | None:
    p = bundle.manifest.get("provenance", {}).get("person")
    return int(p) if p is not None else None


def _gt_names(n: int) -> list[str]:
    from studio.expressions import EXPRESSION_NAMES

    return list(EXPRESSION_NAMES) if len(EXPRESSION_NAMES) == n else [f"expr_{k}" for k in range(n)]


def _blink_columns(names: list[str]) -> list[int]:
    return [i for i, n in enumerate(names) if "blink" in n.lower()]


def _arkit_of_studio() -> dict:
    try:  # the retargeting module of issue 15 names the studio's channels the ARKit way
        from studio.retarget import ARKIT_OF_STUDIO
    except ImportError:
        return {}
    return dict(ARKIT_OF_STUDIO)


def _tracker_column(tracked, name: str) -> np.ndarray | None:
    """The tracker's weight for a ground-truth channel: by name, or the mean of its Left / Right
    channels when the studio has one unsided shape (browDown, noseSneer, ...)."""
    names = tracked.expression_names
    if name in names:
        return tracked.expressions[:, names.index(name)]
    if f"{name}Left" in names and f"{name}Right" in names:
        return tracked.expressions[:, [names.index(f"{name}Left"), names.index(f"{name}Right")]].mean(1)
    return None


def expression_mae(tracked, gt_expr: np.ndarray, gt_names: list[str]) -> dict:
    """Mean absolute error of the tracker's named weights against the studio's, over the
    channels both have (studio names mapped to ARKit's by studio.retarget when it exists)."""
    if tracked.expressions is None or not tracked.expression_names:
        return {"value": "n/a", "reason": "the tracker gives no named expression weights "
                                          "(FrameResult has no expressions / expression_names)"}
    arkit = _arkit_of_studio()
    ok = tracked.found
    per = {}
    for k, n in enumerate(gt_names):
        col = _tracker_column(tracked, n)
        if col is None and n in arkit:
            col = _tracker_column(tracked, arkit[n])
        if col is not None:
            per[arkit.get(n, n)] = float(np.abs(col[ok] - gt_expr[ok, k]).mean())
    if not per:
        return {"value": "n/a", "reason": f"no expression name in common with the studio's ({', '.join(gt_names)})"}
    missing = [n for n in gt_names if arkit.get(n, n) not in per]
    return {"value": float(np.mean(list(per.values()))), "channels": len(per), "per_expression": per,
            "studio_channels_not_given": missing}


def gaze_error(tracked, gt: dict) -> dict:
    if tracked.gaze is None:
        return {"value": "n/a", "reason": "the tracker gives no gaze (FrameResult has no gaze)"}
    if "gaze" not in gt:
        return {"value": "n/a", "reason": "the studio capture has no ground-truth gaze"}
    ok = tracked.found
    d = np.degrees(np.abs(np.asarray(tracked.gaze)[ok] - np.asarray(gt["gaze"])[ok]))
    return {"value": float(d.mean())}


def blink_scores_gt(tracked, gt_expr: np.ndarray, gt_names: list[str], fps: float) -> dict:
    from models.face_signals import event_f1, find_blinks

    cols = _blink_columns(gt_names)
    if not cols:
        return {"from_landmarks": {"f1": "n/a", "reason": "no blink weights in the studio's expressions"}}
    ref = weight_events(gt_expr[:, cols].mean(1))
    lm = np.where(tracked.found[:, None, None], tracked.landmarks, np.nan)
    ev = find_blinks(eye_open_both(face_signals(lm)), fps)
    out = {"gt_frames": [int(e) for e in ref],
           "from_landmarks": {**event_f1(ev, ref, BLINK_TOL), "frames": [int(e) for e in ev]}}
    if tracked.expressions is not None and tracked.expression_names:
        tc = _blink_columns(tracked.expression_names)
        if tc:
            w = np.where(tracked.found, tracked.expressions[:, tc].mean(1), np.nan)
            out["from_expressions"] = event_f1(weight_events(w), ref, BLINK_TOL)
    if "from_expressions" not in out:
        out["from_expressions"] = {"f1": "n/a", "reason": "the tracker gives no blink weights"}
    if {"blink_L", "blink_R"} <= set(gt_names):  # each eye alone (studio _L = image-left = the subject's right)
        own = tracked.model_landmarks if tracked.model_landmarks is not None else tracked.landmarks
        s = face_signals(np.where(tracked.found[:, None, None], own, np.nan))  # the avatar's own eyes
        bl, br = gt_expr[:, gt_names.index("blink_L")], gt_expr[:, gt_names.index("blink_R")]
        per = {sig: event_f1(find_blinks(s[sig], fps), weight_events(b), BLINK_TOL)["f1"]
               for sig, b in (("eye_open_r", bl), ("eye_open_l", br))}
        asym = s["eye_open_l"] - s["eye_open_r"]
        ok = np.isfinite(asym)
        winks = np.abs(bl - br) > GT_BLINK_LEVEL
        per["wink_frames"] = int(winks.sum())
        # one eye closing more than the other: r of the avatar's eye-opening difference with the truth's
        per["wink_r"] = (pearson(asym[ok], (bl - br)[ok]) if winks.any() and np.std(asym[ok]) > 0 else "n/a")
        out["per_eye_from_landmarks"] = per
    return out


def geometry_error(bundle, tracked, gt_expr: np.ndarray) -> dict:
    """Per-region vertex error of the tracker's G against the avatar person's geometry for the
    ground-truth expression weights (model units; the face is ~2 units wide)."""
    who = avatar_person(bundle)
    if tracked.G is None:
        return {"value": "n/a", "reason": "no geometry tracked"}
    if who is None:
        return {"value": "n/a", "reason": "the bundle's manifest names no studio person"}
    from studio.head import Person

    person = Person(who)
    topo = bundle.topology
    if person.topology.n_vertices != topo.n_vertices:
        return {"value": "n/a", "reason": "the bundle's mesh is not the studio template"}
    if gt_expr.shape[1] != person.n_expressions:
        return {"value": "n/a", "reason": "the capture's expression basis differs from the avatar person's"}
    G_ref = person.geometry_batch(gt_expr)
    regions = vertex_regions(np.asarray(topo.vertices), np.asarray(topo.landmark_ids))
    return {"reference": f"studio person {who} (the avatar) with the clip's expression weights",
            "per_region": region_vertex_error(tracked.G, G_ref, regions, tracked.found)}


def default_performance() -> str:
    """``crowd`` (dense blinks, half blinks, winks) where the studio has it, else ``mixed``."""
    from studio.performance import KINDS

    return "crowd" if "crowd" in KINDS else "mixed"


def ensure_clip(cache: Path, person: int, room: str, frames: int, kind: str) -> Path:
    from studio.capture import capture_wild

    path = cache / f"wild_p{person}_{room}_{kind}_{frames}"
    if not (path / "manifest.json").exists():
        capture_wild(person, room, frames, path, kind=kind)
    return path


def run_synthetic(bundles: dict, persons: list[int], rooms: list[str], frames: int, cache: Path,
                  detector: str, device: str, smoothing: float, kind: str | None = None, log=print,
                  jitter: float | None = None) -> dict:
    from models.landmark_tracking import TrackingLandmarks
    from models.landmarks import make_detector

    from .track_eval import SimulatedDetector

    kind = kind or default_performance()

    out: dict = {}
    for person in persons:
        for room in rooms:
            key = f"p{person}_{room}"
            log(f"[expression_fidelity] synthetic {key}")
            cap = load_capture(ensure_clip(cache, person, room, frames, kind))
            video = cap.video_frames()
            fps = float(cap.manifest.get("fps", 30))
            gt_lm = cap.gt["landmarks"][:, 0]
            gt_expr = cap.gt["expr"]
            names = _gt_names(gt_expr.shape[1])
            clip = {"person": person, "room": room, "performance": kind, "frames": len(video), "detector": detector,
                    "bundles": {}}
            for label, (bundle, opts) in bundles.items():
                if avatar_person(bundle) == person:
                    clip["note"] = f"person {person} is the avatar of {label}: not held out for it"
                if detector == "simulated":
                    kw = {} if jitter is None else {"jitter": jitter}  # per-frame noise, fraction of the face size
                    det = TrackingLandmarks(SimulatedDetector(gt_lm, seed=cap.manifest["seed"], **kw))
                else:
                    det = TrackingLandmarks(make_detector(detector), near_redetect=opts.get("redetect") != "whole")
                tr = track_frames(bundle, video, fps, device, det, smoothing, keep_geometry=True, **opts)
                res = landmark_scores(tr.landmarks, gt_lm, fps)
                res["blink_gt"] = blink_scores_gt(tr, gt_expr, names, fps)
                res["expression_mae"] = expression_mae(tr, gt_expr, names)
                res["gaze_error_deg"] = gaze_error(tr, cap.gt)
                res["vertex_error"] = geometry_error(bundle, tr, gt_expr)
                res["seconds"] = round(tr.seconds, 1)
                clip["bundles"][label] = res
            out[key] = clip
    return out
