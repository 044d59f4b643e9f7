"""``--headless``: the same capture thread, mailbox and pipeline as the window, no Qt.

Writes FPS, per-stage latency p50/p95, frames dropped (and, with ``--calibrate``, the
calibration's before/after/verdict plus the figures measured while it ran) to ``--json``,
and per-frame tracks to ``--tracks``; ``--progress`` appends running figures every few seconds
and ``--seconds`` ends the run by the clock (soaks: ``bench.soak``). Nothing kept grows per frame
unless ``--tracks`` asks for every frame (issue 16).
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

from .outputs.hub import outputs_from_args
from .pipeline.adapt_process import AdaptProcess
from .pipeline.calibration import CalibrationPlan, calibrate, freeze_heap, warm_up
from .pipeline.defaults import CALIB_TRACK_FPS, TWO_STAGE
from .pipeline.drawing import FrameDrawer
from .pipeline.frame import Pipeline
from .pipeline.loops import CaptureLoop, TrackingLoop
from .pipeline.mailbox import Mailbox
from .pipeline.packets import STAGES, CalibOutcome, TrackPacket
from .pipeline.profiles import ProfileStore
from .pipeline.progress import ProgressLog
from .pipeline.setup import apply_profile, build_tracker, resolve_source
from .pipeline.stats import StageStats
from .pipeline.tracks import TrackWriter
from .sources import SourceUnavailable, make_source

log = logging.getLogger(__name__)
KEYS = (*STAGES, "total", "latency")


class _Phase:
    """Figures of one phase of the run (all frames, or while a calibration runs); bounded memory
    however long the run (first/last time stamp and a count, :class:`StageStats` streams)."""

    def __init__(self) -> None:
        self.stats, self.n, self.t0, self.t1 = StageStats(), 0, 0.0, 0.0
        self.dropped0: int | None = None
        self.dropped1 = 0

    def add(self, p: TrackPacket) -> None:
        self.stats.add(p.timings)
        self.t0 = p.t_done if self.n == 0 else self.t0
        self.t1, self.n = p.t_done, self.n + 1
        self.dropped0 = p.dropped if self.dropped0 is None else self.dropped0
        self.dropped1 = p.dropped

    def summary(self) -> dict:
        n = self.n
        fps = (n - 1) / (self.t1 - self.t0) if n > 1 and self.t1 > self.t0 else 0.0
        lat = self.stats.summary(KEYS)
        return {"frames": n, "fps": fps, "latency_ms": lat,
                "tracker_fps": 1e3 / lat["total"]["mean"] if lat["total"]["mean"] else 0.0,
                "frames_dropped": self.dropped1 - (self.dropped0 or 0)}


def _machine() -> dict:
    return {"platform": platform.platform(), "python": sys.version.split()[0], "torch": torch.__version__,
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def run_headless(args) -> int:
    """Run ``args.frames`` frames (and a calibration); returns the process exit code."""
    spec, src_note = resolve_source(args.source)
    setup = build_tracker(args.bundle, args.device, args.landmarks, spec.kind, args.model_profile,
                          texture_every=args.texture_every, gaze=not getattr(args, "no_gaze", False),
                          texture_async=not getattr(args, "sync_texture", False),
                          expression_source=getattr(args, "expressions", None) or "landmarks",
                          landmark_identity=not getattr(args, "raw_landmarks", False),
                          expression_layer=not getattr(args, "no_expression_layer", False))
    if args.smoothing is not None:
        setup.tracker.set_smoothing(args.smoothing)
    if getattr(args, "guide", None) is not None:
        try:
            setup.tracker.set_guide(args.guide)
        except ValueError as e:
            print(f"[headless] ERROR: --guide: {e}", file=sys.stderr)
            return 2
    notices = [n for n in (src_note, *setup.notices) if n]
    store = ProfileStore()
    if args.profile:
        msg = apply_profile(setup, store, args.profile)
        notices += [msg] if msg else []
    for n in notices:
        print(f"[headless] WARNING: {n}", file=sys.stderr)
    source = make_source(spec, loop_video=not args.no_loop, width=args.size[0], height=args.size[1], fps=args.fps)
    drawer = None if args.no_render else FrameDrawer(setup.choice.bundle.topology)
    pipeline = Pipeline(setup.tracker, drawer)
    outputs, out_errors = outputs_from_args(args, getattr(source, "fps", 30.0))
    if out_errors:
        outputs.close()
        print("\n".join(f"[headless] ERROR: {m}" for m in out_errors), file=sys.stderr)
        return 2
    mailbox: Mailbox = Mailbox()
    events: list[dict] = []
    on_event = lambda kind, msg: (events.append({"kind": kind, "message": msg}), log.info("%s: %s", kind, msg))
    capture = CaptureLoop(source, mailbox, on_event, lossless=spec.kind == "video" and not args.realtime,
                          mirror=lambda: bool(args.mirror))
    stop = threading.Event()
    cap_thread = threading.Thread(target=capture.run, args=(stop,), name="capture", daemon=True)
    allp, during = _Phase(), _Phase()
    tracks = TrackWriter(getattr(source, "fps", 30.0), spec.kind == "video", keep=bool(args.tracks))
    calib: dict = {}

    def on_packet(p: TrackPacket) -> None:
        outputs.submit(p)  # slot/queue puts only: sending and writing happen on the outputs' threads
        allp.add(p)
        tracks.add(p)
        if calib.get("thread") is not None and calib["thread"].is_alive():
            during.add(p)

    def on_recording(rec, recorder) -> None:
        plan = CalibrationPlan(args.calibrate, args.calib_steps, room=str(spec), threads=args.threads)
        calib["recorded"] = {"seconds": recorder.elapsed, "frames": len(rec), "skipped": recorder.skipped}

        def work() -> None:
            try:
                calib["outcome"] = calibrate(setup.tracker, rec, plan, store, fingerprint=setup.fingerprint,
                                             runner=runner)
            except Exception as e:  # report, never kill the run
                log.exception("calibration failed")
                calib["outcome"] = CalibOutcome("failed", f"{type(e).__name__}: {e}")
            finally:
                loop.rate_cap = None
                pipeline.set_adapting(False)

        loop.rate_cap = CALIB_TRACK_FPS  # the idle-priority adaptation needs what the tracker leaves
        pipeline.set_adapting(True)
        calib["thread"] = threading.Thread(target=work, name="calibration", daemon=True)
        calib["thread"].start()

    runner = None
    if args.calibrate:
        warm_up(setup.tracker)  # torch's lazy imports before tracking starts, not inside the calibration
        if not args.calib_in_thread:
            runner = AdaptProcess(nice=CalibrationPlan.nice, threads=args.threads)
            if not runner.ready():
                runner = None
        pipeline.on_recording_done = on_recording
        pipeline.start_recording(args.calibrate)
    freeze_heap()  # after start-up: no full GC pass over ~350k long-lived objects mid-run
    two_stage = TWO_STAGE if getattr(args, "two_stage", None) is None else bool(args.two_stage)
    loop = TrackingLoop(pipeline, mailbox, on_packet, lambda m: events.append({"kind": "error", "message": m}),
                        threads=args.threads, two_stage=two_stage)
    loop.set_threads()
    t0 = time.perf_counter()
    cap_thread.start()
    progress = ProgressLog(getattr(args, "progress", None), getattr(args, "progress_every", 5.0))
    seconds = getattr(args, "seconds", None)
    while True:
        loop.step(timeout=0.2)
        progress.tick(loop.processed, capture.frames, mailbox.dropped + loop.capped)
        calibrating = args.calibrate and ("outcome" not in calib)
        if (loop.processed >= args.frames or (seconds and time.perf_counter() - t0 >= seconds)) and not calibrating:
            break
        if not cap_thread.is_alive() and not mailbox.peek_pending() and not loop.in_flight:
            if capture.state == "unavailable":
                print(f"[headless] ERROR: {events[-1]['message']}", file=sys.stderr)
                outputs.close()
                return 3
            if calibrating and "thread" in calib:
                calib["thread"].join()
            break
    progress.tick(loop.processed, capture.frames, mailbox.dropped + loop.capped, final=True)
    loop.close()
    stop.set()
    capture.interrupt()  # a source blocked in a read returns now
    mailbox.close()
    cap_thread.join(timeout=5)
    if runner is not None:
        runner.close()
    outputs.close()
    if outputs.last_take is not None:
        t = outputs.last_take
        print(f"[headless] take {t.path}: {t.frames} frames" + (f" ({t.error})" if t.error else ""))
    report = {"source": str(spec), "source_fps": getattr(source, "fps", None), "frame_size": list(args.size),
              "bundle": setup.choice.description, "bundle_path": setup.choice.path,
              "model_profile": setup.choice.bundle.cfg.name, "untrained": setup.choice.untrained,
              "device": str(setup.tracker.device), "landmarks": setup.landmarks, "room_profile": setup.profile,
              "render": drawer is not None, "smoothing": setup.tracker.smoother.strength,
              "gaze": setup.tracker.gaze is not None, "landmark_identity": setup.tracker.identity is not None,
              "expression_layer": setup.tracker.layer is not None, "texture_async": setup.tracker.texture_async,
              "two_stage": loop.two_stage, "two_stage_overlapped": loop.overlapped,
              "expression_source": setup.tracker.named_source,
              "guide": (setup.tracker.guide_spec if setup.tracker.guide is not None
                        else "none (the bundle has no guide_codes)"),
              "seconds": time.perf_counter() - t0, "frames_captured": capture.frames,
              **allp.summary(), "faces_found": tracks.found_count, "warnings": notices + ([pipeline.notice]
              if pipeline.notice else []), "events": events, "machine": _machine(),
              "outputs": outputs.summary()}
    if args.calibrate:
        out: CalibOutcome | None = calib.get("outcome")
        report["calibration"] = {**(out.summary() if out else {"verdict": "not run", "reason": "source ended first"}),
                                 "recorded": calib.get("recorded"), "during": during.summary(),
                                 "in_process": runner is not None}
    _finish(args, report, tracks)
    return 0


def _finish(args, report: dict, tracks: TrackWriter) -> None:
    lat = report["latency_ms"]
    fmt = lambda d: "-" if d["p50"] is None else f"{d['p50']:.1f}/{d['p95']:.1f}"
    print(f"[headless] {report['frames']} frames, {report['fps']:.1f} FPS, dropped {report['frames_dropped']}, "
          f"camera-to-result p50/p95 {fmt(lat['latency'])} ms; " +
          ", ".join(f"{k} {fmt(lat[k])}" for k in STAGES))
    if "calibration" in report:
        c = report["calibration"]
        print(f"[headless] calibration: {c['verdict']} - {c['reason']}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(_jsonable(report), indent=2))
        print(f"[headless] wrote {args.json}")
    if args.tracks:
        tracks.save(args.tracks)
        print(f"[headless] wrote {args.tracks}")


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, np.generic):
        return _jsonable(x.item())
    return x


__all__ = ["run_headless", "SourceUnavailable"]
