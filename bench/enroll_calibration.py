"""Calibrate a personal avatar in a different room (issue 17 target: still accepted, held-back
DA loss improves).

    python -m bench.enroll_calibration --bundle AVATAR [--room tungsten] [--frames 150] --out DIR

The enrolled person (``AVATAR/person.npz``) is rendered by the studio into a wild room (coloured
light, camera effects, clutter: :func:`studio.capture.capture_wild`), then "Calibrate to this
room" runs exactly as the window runs it (the window's plan, 10 s of frames, the CFTC + MOTC +
FLRC adaptation of :func:`models.adapt.adapt` and its held-back verdict). Writes
``DIR/enroll_calibration.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from models import bundle as B
from models.adapt import adapt
from models.data import read_video

from .common import git_commit, machine
from .track_eval import detect_and_crop


def main(argv: list[str] | None = None) -> int:
    from app.pipeline.calibration import CalibrationPlan
    from studio.capture import capture_wild
    from studio.enroll.person import EnrolledPerson

    p = argparse.ArgumentParser(prog="python -m bench.enroll_calibration", description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", required=True, help="a personal avatar (with person.npz)")
    p.add_argument("--room", default="tungsten")
    p.add_argument("--frames", type=int, default=150)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    bundle = B.load(a.bundle)
    person = EnrolledPerson.load(Path(a.bundle) / "person.npz")
    wild = out / f"wild_{a.room}"
    if not (wild / "manifest.json").exists():
        capture_wild(person, a.room, a.frames, wild, tex_size=bundle.cfg.tex_size, kind="crowd")
    frames = read_video(wild / "video.mp4")
    track = detect_and_crop(frames, bundle.cfg.crop_size, "dlib")
    plan = CalibrationPlan()
    t1 = time.time()
    res = adapt(bundle.i2znet, bundle.color, bundle.dam, bundle.topology, track.rec, plan.adapt_config())
    report = {
        "command": "python -m bench.enroll_calibration " + " ".join(argv or sys.argv[1:]),
        "bundle": str(a.bundle), "room": a.room, "frames": int(len(frames)), "faces": int(track.found.sum()),
        "verdict": res.verdict, "accepted": res.accepted, "reason": res.reason,
        "before": res.before, "after": res.after,
        "da_loss_change": (res.after.get("da", np.nan) / res.before.get("da", np.nan) - 1.0)
        if res.before.get("da") else None,
        "adapt_seconds": round(time.time() - t1, 1), "wall_seconds": round(time.time() - t0, 1),
        "machine": machine(), "git_commit": git_commit(),
    }
    (out / "enroll_calibration.json").write_text(json.dumps(report, indent=2, default=float))
    print(json.dumps({k: report[k] for k in ("verdict", "reason", "da_loss_change", "adapt_seconds")}, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
