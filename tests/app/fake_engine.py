"""A stand-in for ``python -m studio enroll --progress-json`` (the window's tests never run the real
engine): :func:`write_engine` writes a script that speaks the JSON-lines contract.

Modes: ``ok`` (progress, then a bundle copied from ``bundle`` at ``--out`` and ``{"result": "ok"}``),
``bad`` (exit 2 with a message and prompts to redo), ``crash`` (a traceback on stderr, exit 1),
``slow`` (progress, then waits until SIGTERM: ``{"result": "cancelled"}``, exit 3; with ``--resume``
it finishes like ``ok``). Every run appends its argv to ``calls.jsonl`` next to the script.
"""

from __future__ import annotations

import sys
from pathlib import Path

SCRIPT = r'''
import json, shutil, signal, sys, time
from pathlib import Path

MODE, BUNDLE = {mode!r}, {bundle!r}
HERE = Path(__file__).resolve().parent
args = sys.argv[1:]
with open(HERE / "calls.jsonl", "a") as f:
    f.write(json.dumps(args) + "\n")
out = Path(args[args.index("--out") + 1])


def say(obj):
    print(json.dumps(obj), flush=True)


def finish():
    for i, stage in enumerate(("fit", "unwrap", "train", "write")):
        say({{"stage": stage, "done": 0.25 * (i + 1), "eta_s": 3.0 - i, "message": f"step {{i}}"}})
        time.sleep(0.02)
    shutil.copytree(BUNDLE, out)
    (out / "enroll_report.json").write_text(json.dumps({{"held_back": {{"psnr_face": 24.5, "ssim_face": 0.81,
        "identity_distance_median": 0.45}}, "seconds": 1.0, "frames": 12}}))
    (out / "contact_sheet.png").write_bytes(b"png")
    say({{"result": "ok", "bundle": str(out), "report": str(out / "enroll_report.json")}})
    sys.exit(0)


print("loading models ...", flush=True)  # a stray line: ignored
say({{"stage": "landmarks", "done": 0.05, "eta_s": None, "message": "frame 3 of 60"}})
if MODE == "ok" or (MODE == "slow" and "--resume" in args):
    finish()
if MODE == "bad":
    say({{"result": "error", "message": "too little head rotation: turn further left and right (2 of 60 frames)",
         "redo": ["turn_left", "turn_right"]}})
    sys.exit(2)
if MODE == "crash":
    print("Traceback (most recent call last):\nValueError: boom", file=sys.stderr, flush=True)
    sys.exit(1)


def stop(signum, frame):
    (out.parent / (out.name + ".work")).mkdir(exist_ok=True)
    say({{"result": "cancelled"}})
    sys.exit(3)


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
say({{"stage": "fit", "done": 0.3, "eta_s": 120.0, "message": "waiting"}})
while True:
    time.sleep(0.05)
'''


def write_engine(folder: Path, mode: str, bundle: Path) -> list[str]:
    """Write the fake engine into ``folder``; -> the command that runs it."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / f"engine_{mode}.py"
    script.write_text(SCRIPT.format(mode=mode, bundle=str(bundle)))
    return [sys.executable, str(script)]


def calls(folder: Path) -> list[list[str]]:
    import json

    f = folder / "calls.jsonl"
    return [json.loads(line) for line in f.read_text().splitlines()] if f.exists() else []
