"""``python -m studio enroll --video PATH --out DIR [--name NAME] [--budget-minutes M] [--resume]
[--device auto|cpu|cuda] [--progress-json]``

Exit codes: 0 done; 2 bad input (the message says what to record again); 3 cancelled (Ctrl-C
or SIGTERM: the finished stages are kept, ``--resume`` continues); anything else is a crash
(the work folder is kept too). With ``--progress-json`` every line on stdout is one JSON
object: progress ``{"stage", "done", "eta_s", "message"}``, then a last line
``{"result": "ok", "bundle", "report"}``, ``{"result": "error", "message", "redo"}`` or
``{"result": "cancelled"}``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from studio.cli import register


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--video", required=True, help="the enrollment clip (about 30 s, following the prompts)")
    p.add_argument("--out", required=True, help="the avatar bundle folder to create")
    p.add_argument("--name", default="My avatar")
    p.add_argument("--budget-minutes", type=float, default=10.0, help="training budget (default %(default)s)")
    p.add_argument("--resume", action="store_true", help="continue an unfinished enrollment of the same clip")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--default-bundle", default=None, help="the avatar to warm-start from (default: the shipped one)")
    p.add_argument("--lab-frames", type=int, default=None, help="advanced: frames of the personal lab capture")
    p.add_argument("--lab-views", type=int, default=None, help="advanced: views of the personal lab capture")
    p.add_argument("--dam-steps", type=int, default=None, help="advanced: DAM training steps (overrides the budget)")
    p.add_argument("--i2z-steps", type=int, default=None, help="advanced: I2ZNet training steps")
    p.add_argument("--progress-json", action="store_true", help="machine-readable progress on stdout")


def _run(a: argparse.Namespace) -> int:
    import os

    os.environ.setdefault("TQDM_DISABLE", "1")  # the training loops' bars; progress is ours
    from .clip import EnrollInputError
    from .pipeline import DEFAULT_BUNDLE, EnrollRequest, enroll

    stop = {"flag": False}

    def on_signal(signum, frame):
        stop["flag"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def say(obj: dict) -> None:
        if a.progress_json:
            print(json.dumps(obj), flush=True)
        elif "stage" in obj:
            eta = f", about {obj['eta_s'] / 60:.1f} min left" if obj.get("eta_s") else ""
            print(f"[enroll] {obj['done'] * 100:5.1f}% {obj['stage']}: {obj['message']}{eta}", flush=True)

    budget = None
    if any(v is not None for v in (a.lab_frames, a.lab_views, a.dam_steps, a.i2z_steps)):
        from dataclasses import replace

        from .pipeline import budget_for

        budget = budget_for(a.budget_minutes)
        given = {"frames": a.lab_frames, "views": a.lab_views, "dam_steps": a.dam_steps, "i2z_steps": a.i2z_steps}
        budget = replace(budget, **{k: v for k, v in given.items() if v is not None})
    req = EnrollRequest(Path(a.video), Path(a.out), a.name, a.budget_minutes, a.resume, a.device,
                        Path(a.default_bundle) if a.default_bundle else DEFAULT_BUNDLE, budget)
    last = {"stage": None}

    def report(obj: dict) -> None:  # progress: every stage change, then at most every 1 % step
        key = (obj["stage"], int(obj["done"] * 100))
        if key != last["stage"] or obj.get("message") == "done":
            last["stage"] = key
            say(obj)

    try:
        rep = enroll(req, report, cancel=lambda: stop["flag"])
    except EnrollInputError as e:
        say({"result": "error", "message": str(e), "redo": list(e.redo)})
        if not a.progress_json:
            print(f"enroll: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        say({"result": "cancelled"})
        if not a.progress_json:
            print(f"enroll: cancelled; the finished stages are kept in {req.work} (run again with --resume)",
                  file=sys.stderr)
        return 3
    hb = rep["held_back"]
    say({"result": "ok", "bundle": str(req.out), "report": str(req.out / "enroll_report.json"),
         **({"warnings": rep["warnings"]} if rep.get("warnings") else {})})
    if not a.progress_json:
        for w in rep.get("warnings", []):
            print(f"[enroll] note: {w['message']} (redo: {', '.join(w['redo'])})", flush=True)
    if not a.progress_json:
        print(f"[enroll] avatar written to {req.out} in {rep['seconds']:.0f} s: held-back face PSNR "
              f"{hb['psnr_face']:.1f} dB, SSIM {hb['ssim_face']:.3f}, identity distance "
              f"{hb['identity_distance_median']:.3f} (default avatar {hb['identity_distance_default_avatar']:.3f})",
              flush=True)
    return 0


register("enroll", "make a personal avatar from a short webcam clip (issue 17)", _args, _run)
