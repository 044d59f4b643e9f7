"""Table 1 of the paper on studio ground truth: wild rooms x persons, rows without_da,
flrc_only, paper_da (Eq. 5 exactly), full_da (the shipped adaptation: Eq. 5 + the temporal
term L_TEMP + the z keypoint-jitter augmentation, see models.adapt) and the classical
landmark_fit baseline. Two more rows show what the live tracker outputs:
``without_da_smoothed`` and ``full_da_smoothed`` run the tracker's output filter
(models.filters, default strength) over without_da / full_da; the paper's comparison (and
the issue's targets) are the unfiltered rows.

For each clip the tracker adapts on the first half (its own frames and detected landmarks
only) and every row is scored on the second half: temporal stability (Eq. 10) of the
predicted geometry and the reprojection error of the salient points (moles) at the
256-crop scale.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from models.adapt import AdaptConfig, adapt
from models.bundle import AvatarBundle
from models.data import load_capture
from models.losses import DAWeights
from models.metrics import G_TEMPORAL_OFFSET, temporal_stability

from .track_eval import (
    SimulatedDetector,
    detect_and_crop,
    landmark_fit,
    predict,
    salient_error_256,
    smoothed,
)

ROWS = ("without_da", "flrc_only", "paper_da", "full_da", "landmark_fit", "without_da_smoothed", "full_da_smoothed")


def ensure_wild(cache: Path, person: int, room: str, frames: int) -> Path:
    from studio.capture import capture_wild

    path = cache / f"wild_p{person}_{room}_{frames}"
    if not (path / "manifest.json").exists():
        capture_wild(person, room, frames, path)
    return path


def score(bundle, G, H, track, idx, gt) -> dict:
    v = track.found[idx]
    Gv = G[v]
    temporal = temporal_stability(Gv, offset=G_TEMPORAL_OFFSET) if len(Gv) >= 3 else float("nan")
    err = salient_error_256(bundle, G, H, track.boxes[idx], bundle.cfg.crop_size, gt["salient_uv"],
                            gt["salient"][idx, 0], gt["salient_visible"][idx, 0] & v[:, None])
    return {"temporal": float(temporal), "reprojection": float(np.nanmean(err)), "frames": int(v.sum())}


def run_clip(bundle: AvatarBundle, capture: Path, detector: str, adapt_cfg: AdaptConfig) -> dict:
    cap = load_capture(capture)
    frames = cap.video_frames()
    S = bundle.cfg.crop_size
    det = SimulatedDetector(cap.gt["landmarks"][:, 0], seed=cap.manifest["seed"]) if detector == "simulated" \
        else detector
    track = detect_and_crop(frames, S, det)
    n = len(frames)
    a_idx, e_idx = np.arange(0, n // 2), np.arange(n // 2, n)
    rec_a, rec_e = track.rec.subset(slice(0, n // 2)), track.rec.subset(slice(n // 2, n))
    out: dict = {"detected_fraction": float(track.found.mean())}
    fps = float(cap.manifest.get("fps", 30))

    def score_smoothed(pred: dict) -> dict:  # the live tracker's output filter over a row's answer
        sm = smoothed(bundle, pred, track.boxes[e_idx], track.found[e_idx], fps)
        return score(bundle, sm["G"], sm["H"], track, e_idx, cap.gt)

    base = predict(bundle, rec_e)
    out["without_da"] = score(bundle, base["G"], base["H"], track, e_idx, cap.gt)
    out["without_da_smoothed"] = score_smoothed(base)
    paper = adapt_cfg.paper()  # Eq. 5 exactly
    variants = (("flrc_only", replace(paper, weights=DAWeights(0.0, 0.0, 1.0))), ("paper_da", paper),
                ("full_da", adapt_cfg))
    for row, cfg in variants:
        res = adapt(bundle.i2znet, bundle.color, bundle.dam, bundle.topology, rec_a, replace(cfg, keep_rejected=True))
        pred = predict(bundle, rec_e, res.weights)
        out[row] = {**score(bundle, pred["G"], pred["H"], track, e_idx, cap.gt), "verdict": res.verdict,
                    "adapt_seconds": round(res.seconds, 1), "keypoint_jitter_px": round(res.keypoint_jitter, 3)}
        if row == "full_da":
            out["full_da_smoothed"] = score_smoothed(pred)
    kp = rec_e.keypoints.numpy()
    fit = landmark_fit(bundle, kp)
    out["landmark_fit"] = score(bundle, fit["G"], fit["H"], track, e_idx, cap.gt)
    out["ground_truth_temporal"] = float(temporal_stability(cap.gt["G"][e_idx], offset=G_TEMPORAL_OFFSET))
    del a_idx
    return out


def table1(bundles: dict[int, AvatarBundle], rooms: list[str], frames: int, cache: Path, detector: str,
           adapt_cfg: AdaptConfig, log=print) -> dict:
    result: dict = {}
    for person, bundle in bundles.items():
        for room in rooms:
            key = f"p{person}_{room}"
            log(f"[table1] {key}")
            result[key] = run_clip(bundle, ensure_wild(cache, person, room, frames), detector, adapt_cfg)
    avg = {}
    for row in ROWS:
        avg[row] = {m: float(np.nanmean([result[k][row][m] for k in result])) for m in ("temporal", "reprojection")}
    result["average"] = avg
    return result
