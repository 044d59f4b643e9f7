"""Which keypoint stream should the lite I2ZNet use on real faces?

``python -m bench.keypoint_source --bundle PATH --lab LAB [--lab LAB2] --steps N --out DIR``

Two encoders start from the bundle's I2ZNet and get the same fine-tuning budget (``N``
steps of Eq. 1-4 on the same lab captures, same seed):

* ``detector``: the 68 points of the offline dlib detector rendered as Gaussian heatmaps
  (the shipped lite default);
* ``hourglass``: a learned FAN-style hourglass stream (no pretrained FAN weights exist
  offline), supervised with the studio's ground-truth landmark heatmaps; every other weight
  is copied from the bundle.

Then each real video is tracked with each encoder (no calibration). Reported per video:
the label-free image-fit losses of the paper (CFTC, Eq. 6: texture consistency between
consecutive frames; MOTC, Eq. 8: agreement of the colour-corrected model texture with the
observed one), temporal stability (Eq. 10) of G, 2D stability of the 68 projected landmarks,
the landmark error against dlib (biased towards ``detector``, which sees dlib's points: it
is listed, not used alone) and the encoder's time per frame.
"""

from __future__ import annotations

import argparse
import copy
import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from models import bundle as B
from models.adapt import image_fit_losses
from models.data import load_capture, read_video
from models.i2znet import I2ZNet
from models.metrics import G_TEMPORAL_OFFSET, LANDMARK_2D_OFFSET, temporal_stability
from models.train import LabData, TrainConfig, load_dam_checkpoint, require_encoder, train_i2z

from .common import git_commit, machine, md_table, run_dir, write_json
from .real_videos import DEFAULT_VIDEOS, projected_landmarks
from .track_eval import detect_and_crop, predict

SOURCES = ("detector", "hourglass")


def variant(bundle: B.AvatarBundle, source: str) -> B.AvatarBundle:
    """A copy of the bundle whose I2ZNet uses ``source``; shared weights are copied."""
    if source == bundle.cfg.keypoint_source:
        return replace(bundle, i2znet=copy.deepcopy(bundle.i2znet))
    cfg = bundle.cfg.replace(keypoint_source=source)
    net = I2ZNet(cfg, load_pretrained=False)
    own = net.state_dict()
    shared = {k: v for k, v in bundle.i2znet.state_dict().items() if k in own and own[k].shape == v.shape}
    net.load_state_dict(shared, strict=False)
    return replace(bundle, cfg=cfg, i2znet=net)


def fit_losses(bundle: B.AvatarBundle, rec) -> dict:
    """Mean CFTC (Eq. 6) and MOTC (Eq. 8) over consecutive pairs with a face."""
    L = image_fit_losses(bundle.i2znet, bundle.color, bundle.dam, bundle.topology, rec)
    return {n: L[n] for n in ("cftc", "motc")}


def encoder_ms(bundle: B.AvatarBundle, rec, n: int = 40) -> float:
    net = bundle.i2znet.eval()
    times = []
    with torch.no_grad():
        for i in range(min(n, len(rec))):
            t = time.perf_counter()
            net(rec.crops[i:i + 1], rec.keypoints[i:i + 1])
            times.append(1e3 * (time.perf_counter() - t))
    return float(np.median(times[3:] or times))


def score_video(variants: dict[str, B.AvatarBundle], path: Path) -> dict:
    frames = read_video(path)
    S = next(iter(variants.values())).cfg.crop_size
    track = detect_and_crop(frames, S, "dlib")
    found = track.found
    out: dict = {"frames": len(frames), "detected_fraction": float(found.mean())}
    for name, b in variants.items():
        pred = predict(b, track.rec)
        lm = projected_landmarks(b, pred, track.boxes)[found]
        out[name] = {**fit_losses(b, track.rec),
                     "temporal": temporal_stability(pred["G"][found], offset=G_TEMPORAL_OFFSET),
                     "landmark_stability_2d": temporal_stability(lm, offset=LANDMARK_2D_OFFSET),
                     "landmark_error_vs_dlib_px": float(np.linalg.norm(lm - track.points[found], axis=-1).mean()),
                     "encoder_ms": encoder_ms(b, track.rec)}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.keypoint_source", description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", default=str(B.DEFAULT_BUNDLE))
    p.add_argument("--lab", action="append", required=True, help="lab capture(s) the bundle was trained on")
    p.add_argument("--dam-checkpoint", default=None,
                   help="the DAM training checkpoint (WORK/dam.pt): its encoder E_X gives z_gt when the "
                        "bundle ships without it")
    p.add_argument("--steps", type=int, default=600, help="fine-tuning steps per variant")
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--videos", default=str(DEFAULT_VIDEOS))
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    t0 = time.time()
    out = run_dir(a.out, "keypoint_source")
    base = B.load(a.bundle)
    if a.dam_checkpoint:
        load_dam_checkpoint(base, a.dam_checkpoint)
    try:
        require_encoder(base)
    except ValueError as e:
        raise SystemExit(f"{a.bundle}: {e}") from None
    data = LabData([load_capture(c) for c in a.lab])
    cfg = TrainConfig(i2z_steps=a.steps, i2z_lr=a.lr, checkpoint_every=max(50, a.steps // 4))
    variants, train_s = {}, {}
    for src in SOURCES:
        v = variant(base, src)
        t = time.time()
        train_i2z(v, data, cfg, out / f"train_{src}")
        train_s[src] = round(time.time() - t, 1)
        variants[src] = v
    vids = sorted(Path(a.videos).glob("*.mp4"))
    results = {"machine": machine(), "git_commit": git_commit(), "bundle": a.bundle, "steps": a.steps,
               "train_seconds": train_s, "videos": {}}
    for vid in vids:
        print(f"[keypoint_source] {vid.name}", flush=True)
        results["videos"][vid.name] = score_video(variants, vid)
    results["seconds"] = round(time.time() - t0, 1)
    write_json(out / "results.json", results)
    metrics = ("cftc", "motc", "temporal", "landmark_stability_2d", "landmark_error_vs_dlib_px", "encoder_ms")
    rows = [[f"{k} / {s}", *[r[s][m] for m in metrics]] for k, r in results["videos"].items() for s in SOURCES]
    md = md_table(["video / source", *metrics], rows)
    (out / "results.md").write_text(f"# Keypoint source on real videos\n\n{results['machine']}\n\n{md}\n")
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
