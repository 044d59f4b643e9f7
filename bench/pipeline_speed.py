"""Tracker capacity on real clips, old and new code side by side (issue 16, "Measure and report").

``python -m bench.pipeline_speed --videos ../shared/data/real [--frames 150] [--rounds 3]
[--backends onnx torch] [--render] [--out DIR]``

Every clip's first ``--frames`` frames are decoded into memory once. Each variant tracks them as fast
as it can (no camera, no waiting), so the frame rate is the tracker's capacity. Variants:

- backend: ``onnx`` (the shipped fast path) or ``torch`` (eager);
- mode: ``sequential`` (``Tracker.track``, the code before the two-stage split) or ``two-stage``
  (:class:`models.two_stage.TwoStage`: stage 1 of frame t+1 runs on a worker thread during stage 2
  of frame t); ``app-loop`` / ``app-loop-two-stage``: the app's own tracking loop
  (:class:`app.pipeline.loops.TrackingLoop` over :class:`app.pipeline.frame.Pipeline`, without and with
  ``two_stage``) fed by a thread that hands each frame in as soon as the loop took the one before
  (a camera faster than the tracker);
- ``--render`` adds the window's per-frame drawing (camera overlay and avatar view through
  ``app.pipeline.drawing.FrameDrawer``, in the caller's thread, as ``--render-in-thread`` does);
- ``--texture-async`` adds every variant again with the texture decoded on a worker thread
  (``Tracker(texture_async=True)``, :mod:`models.texture_worker`; labels get ``+ async texture``);
- ``--redetect near whole``: the scheduled face check near the track with the whole-frame scan on a
  worker (:mod:`models.face_search`, the default) or on the whole frame in the tracking thread (the
  code before; labels get ``+ whole-frame check``). Frame-time p99 and max show the spike.

The texture is decoded every ``TEXTURE_EVERY`` frames, as in the app. Rounds rotate the variant
order, and every variant runs every clip in every round; the ratios against ``onnx sequential`` are
taken per round and the medians reported, because this 2-core machine is shared and noisy.
Per-stage p50 / p95 come from ``FrameResult.timings`` (ms). The outputs of the two modes must agree:
the largest landmark difference is reported and must be 0.
Writes results.json and results.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

from models import bundle as B
from models.landmark_tracking import TrackingLandmarks
from models.landmarks import make_detector
from models.tracker import Tracker
from models.two_stage import TwoStage

from .common import git_commit, machine, md_table, run_dir, write_json
from .expression_tracking import read_frames

STAGES = ("detect", "crop", "encoder", "decoder", "colour", "render", "frame")


def run_variant(tracker: Tracker, frames: np.ndarray, fps: float, mode: str, drawer=None) -> dict:
    """Track ``frames`` once from a fresh track. -> frames per second, per-stage timings, landmarks."""
    tracker.reset()
    worker = tracker._worker
    counts0 = (worker.decoded, worker.replaced) if worker is not None else (0, 0)
    results = []
    timings: dict[str, list[float]] = {k: [] for k in STAGES}
    opts = None
    if drawer is not None:
        from app.pipeline.packets import ViewOptions

        opts = ViewOptions()

    def draw(r, frame):
        if drawer is None or not r.found:
            return
        t = time.perf_counter()
        drawer.camera(frame[..., ::-1], r.G, r.H_frame, r.detected, r.box, opts, r.landmarks)
        drawer.avatar(r.G, r.H_frame, r.texture, opts, 1.0)
        timings["render"].append(1e3 * (time.perf_counter() - t))

    t0 = time.perf_counter()
    if mode.startswith("app-loop"):
        results += _app_loop(tracker, frames, fps, mode == "app-loop-two-stage", drawer, timings)
    elif mode == "sequential":
        for i, f in enumerate(frames):
            t = time.perf_counter()
            r = tracker.track(f, i / fps)
            draw(r, f)
            timings["frame"].append(1e3 * (time.perf_counter() - t))
            results.append(r)
    else:
        two = TwoStage(tracker)
        try:
            for i, f in enumerate(frames):
                out = two.step(f, i / fps, i)
                if out is not None:
                    draw(out[1], frames[out[0]])
                    results.append(out[1])
            last = two.flush()
            draw(last[1], frames[last[0]])
            results.append(last[1])
        finally:
            two.close()
    tracker.wait_texture(10.0)  # the last texture decode is part of the run (texture_async)
    seconds = time.perf_counter() - t0
    for r in results:
        for k in STAGES[:-2]:
            if k in r.timings:
                timings[k].append(r.timings[k])
    lm = np.stack([r.landmarks if r.found else np.full((68, 2), np.nan, np.float32) for r in results])
    # textures the worker decoded, and requests a newer one replaced before it started (work not done)
    textures = ({"decoded": worker.decoded - counts0[0], "replaced": worker.replaced - counts0[1]}
                if worker is not None else {})
    return {"fps": len(frames) / seconds, "timings": timings, "landmarks": lm, "textures": textures}


def _app_loop(tracker: Tracker, frames: np.ndarray, fps: float, two_stage: bool, drawer, timings: dict) -> list:
    """``frames`` through the app's TrackingLoop + Pipeline, handed in by a feeder thread as fast as the loop
    takes them (lossless). -> the FrameResults in order; per-frame stage-2 + drawing time in ``timings``."""
    from app.pipeline.frame import Pipeline
    from app.pipeline.loops import TrackingLoop
    from app.pipeline.mailbox import Mailbox
    from app.pipeline.packets import FramePacket

    box: Mailbox = Mailbox()
    got: list = []
    loop = TrackingLoop(Pipeline(tracker, drawer), box, got.append, two_stage=two_stage)

    def feed() -> None:
        for i, f in enumerate(frames):
            if not box.put(FramePacket(i, time.perf_counter(), f, 0.0, t_media=i / fps), wait=True, timeout=30.0):
                return

    feeder = threading.Thread(target=feed, name="feeder")
    feeder.start()
    try:
        while feeder.is_alive() or box.peek_pending() or loop.in_flight:
            loop.step(timeout=0.05)
    finally:
        loop.close()
        feeder.join()
    timings["frame"] += [p.timings["total"] for p in got]
    if drawer is not None:
        timings["render"] += [p.timings["render"] for p in got]
    return [p.result for p in got]


_QUANTS = {s: ("p50", "p95", "p99", "max") if s in ("detect", "frame") else ("p50", "p95") for s in STAGES}


def _pct(v: list[float]) -> dict:
    if not v:
        return {}
    return {"p50": float(np.percentile(v, 50)), "p95": float(np.percentile(v, 95)),
            "p99": float(np.percentile(v, 99)), "max": float(np.max(v))}


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--videos", default="../shared/data/real")
    p.add_argument("--clips", type=int, default=0, help="at most this many clips (0: all)")
    p.add_argument("--frames", type=int, default=150)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--backends", nargs="+", default=["onnx", "torch"], choices=["onnx", "torch", "script"])
    p.add_argument("--render", action="store_true", help="also the window's drawing per frame")
    p.add_argument("--texture-async", action="store_true", help="also each variant with the texture on a worker thread")
    p.add_argument("--modes", nargs="+", default=["sequential", "two-stage"],
                   choices=["sequential", "two-stage", "app-loop", "app-loop-two-stage"])
    p.add_argument("--redetect", nargs="+", default=["near"], choices=["near", "whole"],
                   help="the scheduled face check: near the track + whole-frame scan on a worker, "
                        "or the whole frame in the tracking thread")
    p.add_argument("--out", default=None)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    from app.pipeline.defaults import TEXTURE_EVERY
    from models.data import video_fps

    torch.set_num_threads(1)  # as the app's tracking thread
    vids = sorted(Path(a.videos).glob("*.mp4"))[: a.clips or None]
    if not vids:
        raise SystemExit(f"no .mp4 videos in {a.videos}")
    clips = {v.stem: (read_frames(v, 0, a.frames), video_fps(v)) for v in vids}
    bundle = B.load(B.DEFAULT_BUNDLE)
    texs = [False, True] if a.texture_async else [False]
    trackers = {}
    for be in a.backends:
        for tex in texs:
            for rdt in a.redetect:
                det = TrackingLandmarks(make_detector("dlib"), near_redetect=rdt == "near")
                trackers[be, tex, rdt] = Tracker(bundle, "cpu", det, texture_every=TEXTURE_EVERY, infer_backend=be,
                                                 texture_async=tex)
                trackers[be, tex, rdt].warm_up()
    drawer = None
    if a.render:
        from app.pipeline.drawing import FrameDrawer

        drawer = FrameDrawer(bundle.topology)
    renders = [False, True] if a.render else [False]
    variants = [(be, mode, rd, tex, rdt) for be in a.backends for mode in a.modes for rd in renders for tex in texs
                for rdt in a.redetect]
    label = {v: f"{v[0]} {v[1]}{' + render' if v[2] else ''}{' + async texture' if v[3] else ''}"
                f"{' + whole-frame check' if v[4] == 'whole' else ''}" for v in variants}
    out = run_dir(a.out, "pipeline_speed")
    per_round: list[dict] = []
    stage_times: dict[str, dict[str, list[float]]] = {label[v]: {k: [] for k in STAGES} for v in variants}
    worker_counts: dict[str, dict[str, int]] = {label[v]: {"decoded": 0, "replaced": 0} for v in variants if v[3]}
    max_diff = 0.0
    t_start, load_start = time.time(), os.getloadavg()
    for rnd in range(a.rounds):
        order = variants[rnd % len(variants):] + variants[: rnd % len(variants)]
        fps_round: dict[str, list[float]] = {label[v]: [] for v in variants}
        for frames, fps in clips.values():
            ref = {}
            for v in order:
                be, mode, rd, tex, rdt = v
                res = run_variant(trackers[be, tex, rdt], frames, fps, mode, drawer if rd else None)
                fps_round[label[v]].append(res["fps"])
                for k, n in res["textures"].items():
                    worker_counts[label[v]][k] += n
                for k in STAGES:
                    stage_times[label[v]][k] += res["timings"][k]
                key = (be, rd, rdt)
                if key in ref:  # the two modes must give the same answers (found or not, and where)
                    got, want = res["landmarks"], ref[key]
                    if not np.array_equal(np.isfinite(got), np.isfinite(want)):
                        max_diff = float("inf")
                    else:
                        max_diff = max(max_diff, float(np.abs(np.nan_to_num(got - want)).max()))
                else:
                    ref[key] = res["landmarks"]
        per_round.append({k: float(np.mean(v)) for k, v in fps_round.items()})
        print(f"[pipeline_speed] round {rnd + 1}/{a.rounds}: "
              + ", ".join(f"{k} {v:.1f}" for k, v in per_round[-1].items()), flush=True)
    base = label[(a.backends[0], a.modes[0], False, False, a.redetect[0])]
    summary = {}
    for v in variants:
        k = label[v]
        base_k = label[(v[0], a.modes[0], v[2], False, v[4])]  # the same backend and drawing, before the split
        summary[k] = {"fps_median": float(np.median([r[k] for r in per_round])),
                      "ratio_vs_" + base: float(np.median([r[k] / r[base] for r in per_round])),
                      f"ratio_vs_{a.modes[0]}_same_backend_and_render":
                          float(np.median([r[k] / r[base_k] for r in per_round])),
                      "stages_ms": {s: _pct(t) for s, t in stage_times[k].items() if t},
                      **({"texture_worker": worker_counts[k]} if k in worker_counts else {})}
    r = {"machine": machine(), "git_commit": git_commit(), "command": "python -m bench.pipeline_speed "
         + " ".join(sys.argv[1:] if argv is None else argv), "clips": list(clips), "frames_per_clip": a.frames,
         "rounds": a.rounds, "texture_every": TEXTURE_EVERY, "per_round_fps_mean_over_clips": per_round,
         "summary": summary, "max_landmark_difference_between_modes_px": max_diff,
         "load_average_1_5_15": {"start": load_start, "end": os.getloadavg()},
         "seconds": round(time.time() - t_start, 1)}
    write_json(out / "results.json", r)
    rows = [[k, f"{s['fps_median']:.1f}", f"{s['ratio_vs_' + base]:.2f}",
             *[" / ".join(f"{s['stages_ms'][st][q]:.1f}" for q in _QUANTS[st]) if st in s["stages_ms"] else "-"
               for st in STAGES]] for k, s in summary.items()]
    md = (f"# Tracker capacity ({len(clips)} clips x {a.frames} frames, {a.rounds} rounds)\n\n"
          f"Command: `{r['command']}`; commit {r['git_commit']}; {r['seconds']} s; 1-min load average "
          f"{load_start[0]:.2f} at the start, {r['load_average_1_5_15']['end'][0]:.2f} at the end\n\n"
          + md_table(["variant", "FPS (median of rounds)", f"x {base}",
                      *[f"{s} {' / '.join(_QUANTS[s])} ms" for s in STAGES]], rows)
          + f"\n\nLargest landmark difference between the modes: {max_diff:.2g} px\n")
    (out / "results.md").write_text(md)
    print(md)
    if max_diff > 0:
        print(f"[pipeline_speed] the modes disagree (largest landmark difference {max_diff} px)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
