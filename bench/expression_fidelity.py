"""Expression fidelity (issue 15's measure): does the tracker read eyes, brows and mouth?

``python -m bench.expression_fidelity --bundle PATH [--bundle OLD] --videos ../shared/data/real --out DIR [--quick]``

Real videos: every frame is tracked by the live tracker (its default dlib-in-tracking-mode
detector and output filter) and, independently, by dlib with HOG face detection on every frame
+ the 68-point predictor (the reference; cached per video under ``OUT/reference_cache`` by
sha256 and frame range). Scored on the frames where both have a face
(:mod:`bench.expression_scores`): NME per region and NME51 of the tracker's projected 68
landmarks, Pearson r of mouth opening / width, eye opening per eye and brow height
(:mod:`models.face_signals`), the same for the avatar's own projected landmarks (without the
per-person corrective of :mod:`models.landmark_identity`), blink F1 (+-2 frames, both eyes averaged; per eye too),
whether dlib's brow signal varies on the clip, and 2D stability (Eq. 10, +0.1 px). The same
for the tracker's input detector points (FrameResult.detected): what the detector alone
reaches. Synthetic clips of studio persons other than the avatar: :mod:`bench.expression_synth`.
``--guide`` runs each bundle with each keypoint-guidance setting of the tracker (:mod:`models.code_guide`).
All bundles run in the same process on the same frames. Writes results.json, results.md,
eyes_<clip>.png (eye-opening traces), overview.png and traces/<clip>.npz.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from models import bundle as B
from models.data import video_fps

from .common import git_commit, machine, run_dir, write_json
from .expression_report import eye_plot, overview_plot, real_means, results_md
from .expression_scores import (
    BLINK_TOL,
    BROW_VARIES_RATIO,
    GT_BLINK_LEVEL,
    brow_variation,
    landmark_scores,
    named_signal_r,
    stability_2d,
    valid,
)
from .expression_synth import DEFAULT_PERSONS, run_synthetic
from .expression_tracking import REFERENCE, dlib_reference, read_frames, track_frames
from .real_videos import DEFAULT_VIDEOS

QUICK_FRAMES = 30


def bundle_labels(paths: list[str]) -> dict[str, str]:
    """Short unique labels: the folder names, prefixed by their position when they collide."""
    names = [Path(p).resolve().name or str(p) for p in paths]
    if len(set(names)) < len(names):
        names = [f"{i}:{n}" for i, n in enumerate(names)]
    return dict(zip(names, paths))


def run_video(bundles: dict, path: Path, out: Path, frames_max: int | None, device: str, smoothing: float) -> dict:
    frames = read_frames(path, 0, frames_max)
    fps = video_fps(path)
    ref = dlib_reference(path, frames, 0, out / "reference_cache")
    pts = ref["points"]
    res = {"frames": len(frames), "fps": fps, "size": list(frames.shape[1:3][::-1]), "sha256": ref["sha256"],
           "dlib": {"found_fraction": float(valid(pts).mean()), "stability_2d": stability_2d(pts),
                    "cached": ref["cached"], "seconds": round(ref["seconds"], 1)},
           "brow": brow_variation(pts), "bundles": {}}
    traces = {"dlib": pts}
    for label, (bundle, opts) in bundles.items():
        tr = track_frames(bundle, frames, fps, device, smoothing=smoothing, **opts)
        r = {"tracker": landmark_scores(tr.landmarks, pts, fps), "seconds": round(tr.seconds, 1),
             "tracked_fps": len(frames) / max(tr.seconds, 1e-9),
             "named_expressions": tr.expression_names is not None, "gaze": tr.gaze is not None,
             "named_signal_r": named_signal_r(tr.expressions, tr.expression_names, pts)}
        traces[f"tracker {label}"] = tr.landmarks
        if tr.model_landmarks is not None and not np.array_equal(tr.model_landmarks, tr.landmarks, equal_nan=True):
            r["avatar_landmarks"] = landmark_scores(tr.model_landmarks, pts, fps)
            traces[f"avatar {label}"] = tr.model_landmarks
        if tr.detected is not None:
            r["detector_input"] = landmark_scores(tr.detected, pts, fps)
            traces.setdefault("detector input", tr.detected)
        res["bundles"][label] = r
    (out / "traces").mkdir(exist_ok=True)
    np.savez_compressed(out / "traces" / f"{path.stem}.npz", **{k.replace(" ", "_"): v for k, v in traces.items()})
    ref_blinks = next(iter(res["bundles"].values()))["tracker"]["blink"].get("ref_frames", [])
    eye_plot(path.stem, fps, pts, {k: v for k, v in traces.items() if k != "dlib"}, out / f"eyes_{path.stem}.png",
             ref_blinks)
    res["plot"] = f"eyes_{path.stem}.png"
    return res


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.expression_fidelity", description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", action="append", help="avatar bundle (repeat for two; default: the default avatar)")
    p.add_argument("--guide", action="append", default=None,
                   help="the tracker's keypoint guidance (models.code_guide: none | eyes,brows | all | default); "
                        "repeat to run every bundle with each (labels get ' guide=SPEC')")
    p.add_argument("--redetect", action="append", default=None, choices=["near", "whole"],
                   help="the detector's check of a live track: near it (models.face_search, the default) or "
                        "on the whole frame in the tracking thread (the code before); repeat for both "
                        "(labels get ' redetect=...')")
    p.add_argument("--layer", action="append", default=None, choices=["on", "eyes", "winks", "off"],
                   help="the tracker's expression layer (models.expression_layer): on = with lid and inner-lip "
                        "matching (models.eye_match, models.mouth_match; the default), eyes = lid matching only, "
                        "winks = its winks and wide eyes only (the code before matching), off; repeat for "
                        "several (labels get ' layer=...')")
    p.add_argument("--expressions", action="append", default=None, choices=["landmarks", "fit"],
                   help="where the named weights come from (Tracker expression_source: the landmark rule, or the "
                        "34 ARKit shapes fitted to the points, models.landmark_fit); repeat for both "
                        "(labels get ' expressions=...')")
    p.add_argument("--videos", default=str(DEFAULT_VIDEOS), help="folder of .mp4 files (read in place)")
    p.add_argument("--out", default=None)
    p.add_argument("--quick", action="store_true", help=f"first {QUICK_FRAMES} frames per video, tiny synthetic clips")
    p.add_argument("--frames", type=int, default=None, help="at most this many frames per real video")
    p.add_argument("--no-real", action="store_true", help="synthetic clips only")
    p.add_argument("--device", default="cpu")
    p.add_argument("--smoothing", type=float, default=0.5, help="the tracker's smoothing (app default 0.5)")
    p.add_argument("--persons", type=int, nargs="*", default=list(DEFAULT_PERSONS),
                   help="studio persons of the synthetic clips (none: skip them)")
    p.add_argument("--rooms", nargs="+", default=["office"])
    p.add_argument("--synthetic-frames", type=int, default=None, help="frames per synthetic clip (300; quick 24)")
    p.add_argument("--performance", default=None, help="studio performance kind (default: crowd, else mixed)")
    p.add_argument("--synthetic-detector", default="simulated", choices=["simulated", "dlib", "studio"],
                   help="detector on synthetic clips: simulated (GT + detector-like noise, as bench.paper_tables; "
                        "dlib's HOG finds no face on studio renders) | dlib | studio")
    p.add_argument("--synthetic-jitter", type=float, default=None,
                   help="the simulated detector's per-frame jitter (fraction of the face size; default its own "
                        "0.012; dlib's measured on the real clips: about 0.004, bench.detector_jitter)")
    p.add_argument("--cache", default="runs/expression_cache", help="rendered synthetic clips (reused)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    paths = a.bundle or [str(B.DEFAULT_BUNDLE)]
    guides, layers, sources = a.guide or ["default"], a.layer or ["on"], a.expressions or ["landmarks"]
    redetects = a.redetect or ["near"]

    def label(k: str, g: str, y: str, e: str, d: str) -> str:
        return (k + ("" if len(guides) == 1 else f" guide={g}") + ("" if len(layers) == 1 else f" layer={y}")
                + ("" if len(sources) == 1 else f" expressions={e}")
                + ("" if len(redetects) == 1 else f" redetect={d}"))

    variants = {label(k, g, y, e, d): (v, g, y, e, d) for k, v in bundle_labels(paths).items() for g in guides
                for y in layers for e in sources for d in redetects}
    loaded = {v: B.load(v) for v in paths}
    bundles = {label: (loaded[v], {"guide": g, "expression_layer": y != "off", "eye_match": y in ("on", "eyes"),
                                   "mouth_match": y == "on",
                                   "expression_source": e, "redetect": d})
               for label, (v, g, y, e, d) in variants.items()}
    out = run_dir(a.out, "expression_fidelity")
    vids = [] if a.no_real else sorted(Path(a.videos).glob("*.mp4"))
    if not vids and not a.no_real:
        raise SystemExit(f"no .mp4 videos in {a.videos}")
    frames_max = a.frames or (QUICK_FRAMES if a.quick else None)
    t0 = time.time()
    r = {"machine": machine(), "git_commit": git_commit(), "quick": a.quick,
         "command": "python -m bench.expression_fidelity " + " ".join(map(shlex.quote, sys.argv[1:] if argv is None
                                                                          else argv)),
         "bundles": {label: v[0] for label, v in variants.items()}, "guides": guides, "layers": layers,
         "expression_sources": sources, "redetects": redetects,
         "videos": a.videos,
         "frames_per_video": frames_max or "all",
         "smoothing": a.smoothing,
         "definitions": {"reference": REFERENCE, "blink_tolerance_frames": BLINK_TOL,
                         "blink": "events of models.face_signals.find_blinks in the eye opening, both eyes averaged "
                                  "(blink); each eye alone (blink_per_eye)",
                         "brow_varies_ratio": BROW_VARIES_RATIO,
                         "brow_varies": "std of dlib's brow height / (robust std of its second difference / sqrt 6)",
                         "gt_blink_level": GT_BLINK_LEVEL,
                         "scored_frames": "frames where both the scored track and dlib have a face"},
         "real": {}}
    for v in vids:
        print(f"[expression_fidelity] {v.name}", flush=True)
        r["real"][v.stem] = run_video(bundles, v, out, frames_max, a.device, a.smoothing)
        write_json(out / "results.json", r)  # partial results survive an interrupted run
    if r["real"]:
        r["real_mean"] = real_means(r)
    if a.persons:
        n = a.synthetic_frames or (24 if a.quick else 300)
        cache = Path(a.cache)
        cache.mkdir(parents=True, exist_ok=True)
        r["synthetic"] = run_synthetic(bundles, a.persons, a.rooms, n, cache, a.synthetic_detector, a.device,
                                       a.smoothing, a.performance, jitter=a.synthetic_jitter)
        r["synthetic_jitter"] = a.synthetic_jitter
    r["seconds"] = round(time.time() - t0, 1)
    write_json(out / "results.json", r)
    if r["real"]:
        overview_plot(r, out / "overview.png")
    md = results_md(r)
    (out / "results.md").write_text(md + "\n")
    print(md)
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
