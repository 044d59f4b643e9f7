"""Enrollment on real clips: enroll on the first 80 %, verify on the last 20 % (issue 17 targets).

    python -m bench.enroll_real --videos ../shared/data/real --out runs/enroll_real [--min-seconds 10]

Every clip longer than ``--min-seconds`` is enrolled with ``python -m studio enroll`` (one process
per clip, so each wall time is what a user waits) and its ``enroll_report.json`` collected into
``OUT/enroll_real.json`` and a markdown table ``OUT/enroll_real.md`` (targets marked). A clip
already enrolled in OUT is reused (delete its folder to redo it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import cv2

from .common import git_commit, machine

TARGETS = {"identity_distance_median": ("<=", 0.50), "identity_ratio_to_default": ("<=", 0.75),
           "psnr_face": (">=", 24.0), "ssim_face": (">=", 0.80), "nme51_vs_detector": ("<=", 0.035)}


def clip_seconds(path: Path) -> float:
    cap = cv2.VideoCapture(str(path))
    n, fps = cap.get(cv2.CAP_PROP_FRAME_COUNT), cap.get(cv2.CAP_PROP_FPS) or 30.0
    cap.release()
    return n / fps


def meets(key: str, value: float) -> bool:
    op, bound = TARGETS[key]
    return value <= bound if op == "<=" else value >= bound


def table(rows: dict) -> str:
    """One row per clip: personal avatar value (default avatar's on the same frames), target misses marked."""
    keys = list(TARGETS)
    head = "| clip | s | " + " | ".join(keys) + " | wall s |\n|" + "---|" * (len(keys) + 3) + "\n"
    lines = []
    for name, r in rows.items():
        hb = r["held_back"]
        cells = []
        for k in keys:
            v = hb[k]
            base = hb.get(k.replace("_median", "") + "_default_avatar", hb.get(k + "_default_avatar"))
            ref = f" ({base:.3f})" if isinstance(base, float) else ""
            cells.append(f"{v:.3f}{ref}{'' if meets(k, v) else ' **missed**'}")
        lines.append(f"| {name} | {r['clip_seconds']:.1f} | " + " | ".join(cells) + f" | {r['seconds']:.0f} |")
    return head + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.enroll_real", description=__doc__.split("\n\n")[0])
    p.add_argument("--videos", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--min-seconds", type=float, default=10.0)
    p.add_argument("--only", nargs="*", default=None, help="clip stems to run (default: all long enough)")
    a = p.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = {}
    for video in sorted(Path(a.videos).glob("*.mp4")):
        secs = clip_seconds(video)
        if secs <= a.min_seconds or (a.only and video.stem not in a.only):
            continue
        dest = out / video.stem
        if not (dest / "enroll_report.json").exists():
            t0 = time.time()
            cmd = [sys.executable, "-m", "studio", "enroll", "--video", str(video), "--out", str(dest),
                   "--name", video.stem, "--resume"]
            print("[enroll_real] " + " ".join(cmd), flush=True)
            r = subprocess.run(cmd)
            print(f"[enroll_real] {video.stem}: exit {r.returncode} after {time.time() - t0:.0f} s", flush=True)
            if r.returncode != 0:
                continue
        rep = json.loads((dest / "enroll_report.json").read_text())
        rep["clip_seconds"] = secs
        rows[video.stem] = rep
    summary = {"command": "python -m bench.enroll_real " + " ".join(argv or sys.argv[1:]), "machine": machine(),
               "git_commit": git_commit(), "targets": TARGETS,
               "clips": {k: {"held_back": v["held_back"], "seconds": v["seconds"], "timings_s": v["timings_s"],
                             "clip_seconds": v["clip_seconds"], "fit": v["fit"], "warnings": v.get("warnings", []),
                             "frames": v["frames"]} for k, v in rows.items()}}
    (out / "enroll_real.json").write_text(json.dumps(summary, indent=2, default=float))
    if rows:
        (out / "enroll_real.md").write_text(table(rows))
        print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
