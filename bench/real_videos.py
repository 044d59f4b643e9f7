"""Real videos: track, calibrate on the first half, evaluate on the second half.

``python -m bench.real_videos --bundle PATH [--videos DIR] --out DIR``

Per video: tracking FPS (the live Tracker, per frame), temporal stability (Eq. 10) of the
predicted geometry before/after calibration, landmark error against the detector, 2D
landmark stability (Eq. 10 on the 68 projected landmark tracks in frame pixels, +0.1 px in
numerator and denominator) for the tracker before/after and for the detector itself, and a
contact sheet with the avatar drawn over the frames. ``after`` is the networks' raw per-frame
answer; ``after_smoothed`` adds the live tracker's output filter at its default strength
(:mod:`models.filters`), i.e. what the app shows. Landmarks come from the offline dlib
detector. The videos are read in place and never copied.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from models import bundle as B
from models.adapt import AdaptConfig, adapt
from models.camera import crop_to_frame, project
from models.data import read_video, video_fps
from models.metrics import G_TEMPORAL_OFFSET, LANDMARK_2D_OFFSET, temporal_stability
from models.tracker import Tracker

from .common import git_commit, machine, md_table, run_dir, write_json
from .track_eval import detect_and_crop, predict, smoothed

DEFAULT_VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


def projected_landmarks(bundle, pred, boxes) -> np.ndarray:
    S = bundle.cfg.crop_size
    Hf = crop_to_frame(torch.from_numpy(pred["H"]).double(), torch.from_numpy(boxes).double(), S)
    G = torch.from_numpy(pred["G"]).double()[:, bundle.topology.landmark_ids]
    return project(G, Hf).numpy()


def tracker_fps(bundle, frames: np.ndarray, n: int = 90) -> dict:
    tr = Tracker(bundle, "cpu")
    for f in frames[:5]:
        tr.track(f)
    stages: dict[str, list[float]] = {}
    t0 = time.perf_counter()
    k = min(n, len(frames))
    for f in frames[:k]:
        r = tr.track(f)
        for s, ms in r.timings.items():
            stages.setdefault(s, []).append(ms)
    dt = time.perf_counter() - t0
    return {"fps": k / dt, "ms_per_stage_p50": {s: float(np.median(v)) for s, v in stages.items()}}


def contact_sheet(bundle, frames, pred, boxes, idx, path: Path) -> None:
    from render.face_renderer import FaceRenderer

    S = bundle.cfg.crop_size
    r = FaceRenderer(bundle.topology)
    tiles = []
    for i in idx:
        f = frames[i]
        h, w = f.shape[:2]
        Hf = crop_to_frame(torch.from_numpy(pred["H"][i]).double()[None], torch.from_numpy(boxes[i])[None], S)[0]
        img = r.render(pred["G"][i], Hf.numpy(), pred["T"][i], (w, h), f[..., ::-1].copy())
        avatar = img.rgb[..., ::-1]
        blend = np.where(img.mask[..., None], (0.65 * avatar + 0.35 * f).astype(np.uint8), f)
        tile = np.concatenate([f, blend], 1)
        s = 240 / h
        tiles.append(cv2.resize(tile, (int(tile.shape[1] * s), 240)))
    cv2.imwrite(str(path), np.concatenate(tiles, 0))
    r.release()


def run_video(bundle, path: Path, out: Path, adapt_cfg: AdaptConfig) -> dict:
    frames = read_video(path)
    n = len(frames)
    S = bundle.cfg.crop_size
    res = {"frames": n, "size": list(frames.shape[1:3][::-1])}
    res.update(tracker_fps(bundle, frames))
    track = detect_and_crop(frames, S, "dlib")
    half = n // 2
    rec_a, rec_e = track.rec.subset(slice(0, half)), track.rec.subset(slice(half, n))
    boxes_e, found_e, det_e = track.boxes[half:], track.found[half:], track.points[half:]
    before = predict(bundle, rec_e, textures=True)
    t0 = time.time()
    ad = adapt(bundle.i2znet, bundle.color, bundle.dam, bundle.topology, rec_a, adapt_cfg)
    res["calibration"] = {"verdict": ad.verdict, "reason": ad.reason, "seconds": round(time.time() - t0, 1),
                          "before": ad.before, "after": ad.after,
                          "keypoint_jitter_px": round(ad.keypoint_jitter, 3)}
    after = predict(bundle, rec_e, ad.weights, textures=True) if ad.weights is not None else before
    after_s = smoothed(bundle, after, boxes_e, found_e, video_fps(path), weights=ad.weights)
    for name, pred in (("before", before), ("after", after), ("after_smoothed", after_s)):
        lm = projected_landmarks(bundle, pred, boxes_e)[found_e]
        res[name] = {"temporal": temporal_stability(pred["G"][found_e], offset=G_TEMPORAL_OFFSET),
                     "landmark_error_px": float(np.linalg.norm(lm - det_e[found_e], axis=-1).mean()),
                     "landmark_stability_2d": temporal_stability(lm, offset=LANDMARK_2D_OFFSET)}
    res["detector_landmark_stability_2d"] = temporal_stability(det_e[found_e], offset=LANDMARK_2D_OFFSET)
    res["detected_fraction"] = float(track.found.mean())
    sheet = out / f"{path.stem}_sheet.png"
    idx = np.linspace(half, n - 1, 4).astype(int) - half
    contact_sheet(bundle, frames[half:], after_s, boxes_e, idx, sheet)
    res["contact_sheet"] = sheet.name
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.real_videos", description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", default=str(B.DEFAULT_BUNDLE))
    p.add_argument("--videos", default=str(DEFAULT_VIDEOS))
    p.add_argument("--out", default=None)
    p.add_argument("--adapt-steps", type=int, default=AdaptConfig().steps)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    bundle = B.load(a.bundle)
    out = run_dir(a.out, "real_videos")
    vids = sorted(Path(a.videos).glob("*.mp4"))
    if not vids:
        raise SystemExit(f"no .mp4 videos in {a.videos}")
    t0 = time.time()
    results = {"machine": machine(), "git_commit": git_commit(), "bundle": a.bundle, "videos": {}}
    for v in vids:
        print(f"[real_videos] {v.name}", flush=True)
        results["videos"][v.name] = run_video(bundle, v, out, AdaptConfig(steps=a.adapt_steps))
    results["seconds"] = round(time.time() - t0, 1)
    write_json(out / "results.json", results)
    rows = [[k, r["fps"], r["before"]["temporal"], r["after"]["temporal"], r["before"]["landmark_error_px"],
             r["after"]["landmark_error_px"], r["before"]["landmark_stability_2d"],
             r["after"]["landmark_stability_2d"], r["after_smoothed"]["landmark_stability_2d"],
             r["after_smoothed"]["temporal"], r["after_smoothed"]["landmark_error_px"],
             r["detector_landmark_stability_2d"], r["calibration"]["verdict"]]
            for k, r in results["videos"].items()]
    md = md_table(["video", "FPS", "temporal before", "after", "lmk err before", "after", "2D stab before",
                   "after", "after + filter", "temporal after + filter", "lmk err after + filter",
                   "detector 2D stab", "verdict"], rows)
    (out / "results.md").write_text(f"# Real videos\n\n{results['machine']}\n\n{md}\n")
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
