"""Gaze on real clips, where no ground truth exists: is the iris estimate (:mod:`models.gaze`) a signal?

``python -m bench.gaze_real --videos ../shared/data/real --out DIR [--frames 300]``

Per clip the live tracker runs (its default detector, gaze on) and three reference-free checks are
scored on the frames with a face and both eyes open:

- **inter-eye agreement**: Pearson r of the left and the right eye's yaw (and pitch), estimated from
  different pixels. Eyes move together (conjugate gaze), so noise lowers r and a real signal raises it.
- **counter-rotation**: r and slope of eye yaw against head yaw (the tracker's H). A person who keeps
  looking at the camera while turning the head turns the eyes the other way. A positive head yaw (ry)
  turns the face to the image's left (R = Rz Ry Rx), so the eyes then turn to the image's right: a
  positive gaze yaw, a positive slope (up to 1). A talking-head clip mostly looks at the camera.
- **jitter**: the robust frame-to-frame noise of the yaw (second differences, degrees).

Writes results.json, results.md, gaze_<clip>.png (traces), eyes_<clip>.png (eye crops of the frames
with the most extreme yaw, the iris estimate marked) and avatar_<clip>.png (those frames' faces next
to the avatar rendered frontally with its irises moved to the estimate).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from models import bundle as B
from models.data import video_fps
from models.face_signals import pearson, robust_noise
from models.gaze import EYES, MIN_OPEN, eye_frame, iris_offset, lid_opening

from .common import git_commit, machine, run_dir, write_json
from .expression_tracking import read_frames
from .real_videos import DEFAULT_VIDEOS


def _r(a: np.ndarray, b: np.ndarray) -> float:
    """:func:`models.face_signals.pearson`, NaN with fewer than 10 frames where both are finite."""
    return pearson(a, b) if (np.isfinite(a) & np.isfinite(b)).sum() >= 10 else float("nan")


def track(bundle, frames: np.ndarray, fps: float, detector=None) -> dict:
    """The live tracker (its default detector unless given) over the frames: gaze, head yaw, detected
    points and geometry per frame, the texture once."""
    from models.tracker import Tracker

    tr = Tracker(bundle, "cpu", detector=detector, texture_every=10**9)
    n = len(frames)
    out = {"gaze": np.full((n, 2, 2), np.nan), "yaw": np.full(n, np.nan), "points": np.full((n, 68, 2), np.nan),
           "G": [None] * n, "texture": None}
    for i, f in enumerate(frames):
        r = tr.track(f, timestamp=i / fps)
        if r.found and r.gaze is not None:
            out["gaze"][i], out["yaw"][i], out["points"][i] = r.gaze, r.H_frame[2], r.detected
            out["G"][i] = r.G.astype(np.float16)
            if out["texture"] is None:  # decoded once (texture_every), before any iris move
                out["texture"] = tr._texture
    return out


def extreme_frames(t: dict, n: int) -> list[int]:
    """The n frames with the lowest and the n with the highest mean yaw, among frames with both eyes
    well open (twice the estimator's closed threshold: a closing eye holds its last gaze)."""
    yaw = np.nanmean(t["gaze"][:, :, 0], axis=1)
    with np.errstate(invalid="ignore"):
        ok = np.where(np.isfinite(yaw) & (eye_opening(t["points"]) > 2 * MIN_OPEN).all(-1))[0]
    if len(ok) < 2 * n:
        return []
    order = ok[np.argsort(yaw[ok])]
    return [*order[:n], *order[-n:]]


def avatar_sheet(bundle, frames: np.ndarray, t: dict, path: Path, n: int = 3) -> None:
    """Per extreme frame: the real face | the avatar (frontal) with its irises at that frame's gaze."""
    from models.gaze import EyeWarp
    from render.context import create_context
    from render.face_renderer import FaceRenderer

    pick = extreme_frames(t, n)
    if not pick or t["texture"] is None:
        return
    renderer = FaceRenderer(bundle.topology, create_context())
    try:
        warp = EyeWarp(bundle.topology, t["texture"].shape[-1])
    except ValueError:  # a texture too small to move the irises in (the tiny test profile)
        warp = None
    L = bundle.topology.vertices[bundle.topology.landmark_ids]
    rows = []
    for i in pick:
        P = t["points"][i]
        c, side = P.mean(0), 1.3 * np.ptp(P, axis=0).max()
        x0, y0 = (c - side / 2).astype(int)
        face = cv2.resize(frames[i][max(y0, 0):y0 + int(side), max(x0, 0):x0 + int(side)], (192, 192))
        G = t["G"][i].astype(np.float32)
        f = 192 * 0.8 / max(np.ptp(L[:, :2], axis=0).max(), 1e-6)
        cm = G[bundle.topology.landmark_ids].mean(0)
        H = np.array([f, 0.0, 0.0, 0.0, 96 - f * cm[0], 96 - f * cm[1]])
        tex = np.moveaxis(warp.apply(t["texture"], t["gaze"][i]) if warp else t["texture"], 0, -1)
        av = renderer.render(G, H, np.clip(tex, 0, 1), (192, 192), np.full((192, 192, 3), 40, np.uint8)).rgb
        tile = np.concatenate([face, np.ascontiguousarray(av[..., ::-1])], 1)
        cv2.putText(tile, f"yaw {np.degrees(np.nanmean(t['gaze'][i, :, 0])):+.0f}", (4, 14),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 255, 255), 1)
        rows.append(tile)
    cv2.imwrite(str(path), np.concatenate([np.concatenate(rows[:n], 1), np.concatenate(rows[n:], 1)], 0))


def eye_opening(P: np.ndarray) -> np.ndarray:
    """Lid opening over eye width per eye, as models.gaze reads it. (N, 68, 2) -> (N, 2)"""
    return np.stack([lid_opening(P[:, a:b]) for a, b in EYES], -1)


def scores(t: dict) -> dict:
    with np.errstate(invalid="ignore"):
        open_ = (eye_opening(t["points"]) > MIN_OPEN).all(-1)
    g = np.where(open_[:, None, None], t["gaze"], np.nan)
    yaw = g[:, :, 0].mean(1)
    slope = float("nan")
    ok = np.isfinite(yaw) & np.isfinite(t["yaw"])
    if ok.sum() >= 10 and np.std(t["yaw"][ok]) > 1e-6:
        slope = float(np.polyfit(t["yaw"][ok], yaw[ok], 1)[0])
    return {"frames_scored": int(np.isfinite(yaw).sum()),
            "inter_eye_r_yaw": _r(g[:, 0, 0], g[:, 1, 0]), "inter_eye_r_pitch": _r(g[:, 0, 1], g[:, 1, 1]),
            "eye_vs_head_yaw_r": _r(yaw, t["yaw"]), "eye_vs_head_yaw_slope": slope,
            "yaw_std_deg": float(np.degrees(np.nanstd(yaw))),
            "head_yaw_std_deg": float(np.degrees(np.nanstd(t["yaw"]))),
            "yaw_jitter_deg": float(np.degrees(robust_noise(yaw[np.isfinite(yaw)])))}


def trace_plot(clip: str, fps: float, t: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.arange(len(t["yaw"])) / fps
    fig, axs = plt.subplots(2, 1, figsize=(11, 4.2), sharex=True)
    axs[0].plot(x, np.degrees(t["gaze"][:, 0, 0]), "C0-", lw=1, label="left eye yaw")
    axs[0].plot(x, np.degrees(t["gaze"][:, 1, 0]), "C3-", lw=1, label="right eye yaw")
    axs[0].plot(x, np.degrees(t["yaw"] - np.nanmedian(t["yaw"])), "k--", lw=1, label="head yaw (centred)")
    axs[0].set_ylabel("degrees")
    axs[0].legend(fontsize=7, ncol=3)
    axs[1].plot(x, np.degrees(t["gaze"][:, 0, 1]), "C0-", lw=1, label="left eye pitch")
    axs[1].plot(x, np.degrees(t["gaze"][:, 1, 1]), "C3-", lw=1, label="right eye pitch")
    axs[1].set_ylabel("degrees")
    axs[1].set_xlabel("seconds")
    axs[1].legend(fontsize=7, ncol=2)
    fig.suptitle(f"{clip}: gaze from the iris (models.gaze), no ground truth", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def eye_sheet(frames: np.ndarray, t: dict, path: Path, n: int = 4) -> None:
    """Eye crops of the n frames with the most extreme mean yaw on each side, the estimate marked."""
    yaw = np.nanmean(t["gaze"][:, :, 0], axis=1)
    pick = extreme_frames(t, n)
    if not pick:
        return
    tiles = []
    for i in pick:
        row = []
        for a, b in ((36, 42), (42, 48)):
            pts = t["points"][i, a:b]
            m, A, e1, e2 = eye_frame(pts)
            o = iris_offset(frames[i], pts)
            x0, y0 = (m - 1.6 * A).astype(int)
            side = max(int(3.2 * A), 8)
            crop = frames[i][max(y0, 0):y0 + side, max(x0, 0):x0 + side].copy()
            k = 96 / max(crop.shape[:2])
            crop = cv2.resize(crop, (96, int(round(crop.shape[0] * k))) if crop.shape[1] >= crop.shape[0]
                              else (int(round(crop.shape[1] * k)), 96))
            if o is not None:
                c = (m + A * (o[0] * e1 + o[1] * e2) - [max(x0, 0), max(y0, 0)]) * k
                cv2.drawMarker(crop, (int(c[0]), int(c[1])), (0, 255, 0), cv2.MARKER_CROSS, 10, 1)
            tile = np.zeros((96, 96, 3), np.uint8)
            tile[:crop.shape[0], :crop.shape[1]] = crop[:96, :96]
            row.append(tile)
        img = np.concatenate(row, 1)
        cv2.putText(img, f"{np.degrees(yaw[i]):+.0f}", (2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 255), 1)
        tiles.append(img)
    cv2.imwrite(str(path), np.concatenate([np.concatenate(tiles[:n], 1), np.concatenate(tiles[n:], 1)], 0))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.gaze_real", description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", default=str(B.DEFAULT_BUNDLE))
    p.add_argument("--videos", default=str(DEFAULT_VIDEOS))
    p.add_argument("--out", default=None)
    p.add_argument("--frames", type=int, default=300, help="at most this many frames per video")
    a = p.parse_args(argv)
    out = run_dir(a.out, "gaze_real")
    bundle = B.load(a.bundle)
    vids = sorted(Path(a.videos).glob("*.mp4"))
    if not vids:
        raise SystemExit(f"no .mp4 videos in {a.videos}")
    t0 = time.time()
    r = {"machine": machine(), "git_commit": git_commit(), "bundle": a.bundle,
         "command": "python -m bench.gaze_real " + " ".join(map(shlex.quote, sys.argv[1:] if argv is None else argv)),
         "clips": {}}
    for v in vids:
        print(f"[gaze_real] {v.name}", flush=True)
        frames, fps = read_frames(v, 0, a.frames), video_fps(v)
        t = track(bundle, frames, fps)
        r["clips"][v.stem] = scores(t)
        trace_plot(v.stem, fps, t, out / f"gaze_{v.stem}.png")
        eye_sheet(frames, t, out / f"eyes_{v.stem}.png")
        avatar_sheet(bundle, frames, t, out / f"avatar_{v.stem}.png")
        write_json(out / "results.json", r)
    keys = [k for k in next(iter(r["clips"].values())) if k != "frames_scored"]
    r["mean"] = {k: float(np.nanmean([c[k] for c in r["clips"].values()])) for k in keys}
    r["seconds"] = round(time.time() - t0, 1)
    write_json(out / "results.json", r)
    lines = [f"Command: `{r['command']}` ({r['seconds']} s)", "", "| clip | " + " | ".join(keys) + " |",
             "|---" * (len(keys) + 1) + "|"]
    for c, s in [*r["clips"].items(), ("mean", r["mean"])]:
        lines.append(f"| {c} | " + " | ".join(f"{s[k]:.3g}" for k in keys) + " |")
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
