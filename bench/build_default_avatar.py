"""Build the default avatar from nothing: studio lab capture -> studio landmark detector ->
DAM -> I2ZNet (lite profile) -> bundle.

``python -m bench.build_default_avatar --out models/assets/default_avatar [--frames 600 --views 8]``

The landmark detector goes to ``models/assets/studio_landmarks`` (``--landmarks-out``). The
bundle's manifest records the command, the capture, the training settings and the wall time.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import time
from pathlib import Path

from models.heatmap_landmarks import DEFAULT_DIR as LANDMARKS_DIR
from models.train import TrainConfig, train

from .common import git_commit, machine


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.build_default_avatar", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="bundle folder to write")
    p.add_argument("--work", default="runs/default_avatar", help="captures, checkpoints and curves")
    p.add_argument("--person", type=int, default=0)
    p.add_argument("--views", type=int, default=8)
    p.add_argument("--frames", type=int, default=600)
    p.add_argument("--lab", default=None, help="reuse an existing lab capture instead of rendering one")
    p.add_argument("--dam-steps", type=int, default=3000)
    p.add_argument("--i2z-steps", type=int, default=4000)
    p.add_argument("--landmark-steps", type=int, default=2500)
    p.add_argument("--landmarks-out", default=str(LANDMARKS_DIR))
    p.add_argument("--skip-landmarks", action="store_true")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    lab = Path(a.lab) if a.lab else work / f"lab_p{a.person}"
    timings = {}
    if not (lab / "manifest.json").exists():
        cmd = [sys.executable, "-m", "studio", "capture", "--kind", "lab", "--person", str(a.person),
               "--views", str(a.views), "--frames", str(a.frames), "--out", str(lab)]
        print("[build] " + " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
    timings["capture_s"] = round(time.time() - t0, 1)
    if not a.skip_landmarks:
        from models.train_landmarks import train as train_landmarks

        t1 = time.time()
        r = train_landmarks([str(lab)], a.landmarks_out, steps=a.landmark_steps)
        timings["landmarks_s"] = round(time.time() - t1, 1)
        print(f"[build] landmark detector: train error {r['final_train_error_px']:.2f} px", flush=True)
    t2 = time.time()
    cfg = TrainConfig(dam_steps=a.dam_steps, i2z_steps=a.i2z_steps)
    prov = {"command": "python -m bench.build_default_avatar " + " ".join(argv or sys.argv[1:]),
            "person": a.person, "machine": machine(), "git_commit": git_commit()}
    train("lite", [lab], work / "train", a.out, cfg, provenance=prov)
    timings["train_s"] = round(time.time() - t2, 1)
    timings["total_s"] = round(time.time() - t0, 1)
    print(f"[build] done: {timings}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
