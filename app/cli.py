"""Command line of ``python launcher.py``: the window by default, ``--headless`` for benchmarks/CI."""

from __future__ import annotations

import argparse
import logging
import sys

from models.config import PROFILES

from .pipeline.defaults import CALIB_STEPS, TEXTURE_EVERY
from .pipeline.detectors import LANDMARK_BACKENDS

EPILOG = """\
examples:
  python launcher.py                                   # window; first webcam, else the synthetic actor
  python launcher.py --source synthetic:window         # the synthetic actor in the 'window' room
  python launcher.py --source video:clip.mp4 --profile "My office"
  python launcher.py --headless --source synthetic --frames 600 --json out.json
  python launcher.py --headless --source video:clip.mp4 --tracks tracks.npz --json out.json
  python launcher.py --headless --source synthetic:warm --frames 900 --calibrate 10 --json calib.json

synthetic rooms: lab, tungsten (alias warm), office, window, evening, rgb_desk (alias rgb)
"""


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, e.g. 640x480, got {text!r}") from None
    return w, h


def _vmc_target(text: str) -> tuple[str, int]:
    from .outputs.vmc import parse_target

    try:
        return parse_target(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="launcher.py", formatter_class=argparse.RawDescriptionHelpFormatter,
                                description="Live 3D face avatar tracker that adapts itself to your room "
                                            "(Yoon et al., CVPR 2019).", epilog=EPILOG)
    p.add_argument("--source", default=None, metavar="SPEC",
                   help="webcam[:INDEX] | video:PATH | synthetic[:ROOM] (default: the first webcam, "
                        "else the synthetic actor, with a notice)")
    p.add_argument("--bundle", default=None, metavar="PATH",
                   help="avatar bundle folder (default: models/assets/default_avatar)")
    p.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"],
                   help="where the networks run (auto: CUDA when available, else CPU)")
    p.add_argument("--profile", default=None, metavar="NAME", help="load a saved room profile by name")
    p.add_argument("--model-profile", default="tiny", choices=PROFILES,
                   help="model profile of the UNTRAINED stand-in used only when no bundle can be loaded")
    p.add_argument("--landmarks", default="auto", choices=LANDMARK_BACKENDS,
                   help="68-point detector (auto: synthetic ground truth for the synthetic actor, else dlib)")
    p.add_argument("--size", type=_size, default=(640, 480), metavar="WxH",
                   help="camera / synthetic frame size (default 640x480)")
    p.add_argument("--fps", type=float, default=30.0, help="camera / synthetic frame rate (default 30)")
    p.add_argument("--mirror", action="store_true", help="mirror the image (selfie view)")
    p.add_argument("--no-loop", action="store_true", help="stop at the end of a video instead of looping")
    p.add_argument("--smoothing", type=float, default=None, metavar="S",
                   help="0-0.95: crop-box smoothing and strength of the output filter on z and the head pose "
                        "(0 = the networks' raw per-frame answer; default: the window's saved setting, 0.5; in the "
                        "window the value is saved like the slider's)")
    p.add_argument("--guide", default=None, metavar="SPEC",
                   help="which expressions follow the detector's points (models.code_guide): "
                        "eyes,brows,smile,pucker (default), eyes,brows, all (adds the jaw), none (the encoder "
                        "alone); in the window on/off is saved like the checkbox")
    p.add_argument("--no-gaze", action="store_true",
                   help="do not estimate the gaze from the iris (models.gaze); the avatar keeps its own eyes")
    p.add_argument("--raw-landmarks", action="store_true",
                   help="report the avatar's own projected landmarks, without the per-person corrective that moves "
                        "them onto the user's features (models.landmark_identity)")
    p.add_argument("--no-expression-layer", action="store_true",
                   help="do not match the avatar's eyes and lips to yours (winks, wide eyes, lid and lip "
                        "openings) on its decoded mesh (models.expression_layer); it shows only what its DAM decodes")
    p.add_argument("--two-stage", action=argparse.BooleanOptionalAction, default=None,
                   help="run a frame's detector (stage 1) on a second thread while the frame before it finishes "
                        "(networks, drawing): more frames per second from a camera faster than the tracker "
                        "(app.pipeline.loops.TrackingLoop)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads of the tracking (and calibration) thread; 1 is best on small CPUs")
    p.add_argument("--texture-every", type=int, default=TEXTURE_EVERY, metavar="N",
                   help="decode the avatar's view-dependent texture every N-th frame and reuse it in between "
                        f"(geometry and pose every frame; default {TEXTURE_EVERY})")
    p.add_argument("--expressions", default=None, choices=["landmarks", "fit", "head"],
                   help="where the named expression weights (outputs, bars, --tracks) come from: landmarks (the "
                        "detector's points with a per-person calibration, 17 ARKit names; default), fit (all 34 "
                        "studio ARKit shapes fitted to the points, models.landmark_fit: more names, but on real "
                        "faces it follows blinks and the jaw less well and reads big smiles as puffs, "
                        "docs/expression_fit.md) or head (the encoder's expression head, when the avatar has one); "
                        "in the window the choice is saved like the Input panel's")
    p.add_argument("--sync-texture", action="store_true",
                   help="decode the texture in the tracking thread instead of a worker thread beside it "
                        "(models.texture_worker; the worker gave 1.10-1.14x the tracker's capacity, docs/speed.md)")
    p.add_argument("--calib-in-thread", action="store_true",
                   help="adapt in a thread of the app instead of a child process (for comparison: the thread "
                        "shares the GIL with the GUI and the tracker)")
    p.add_argument("--render-in-thread", action="store_true",
                   help="draw the avatar view in the tracking thread instead of a child process (for comparison)")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    o = p.add_argument_group("outputs to other programs (window and headless; docs/outputs.md)")
    o.add_argument("--vmc", type=_vmc_target, default=None, metavar="HOST:PORT",
                   help="send the face over the VMC protocol (OSC/UDP) to HOST:PORT, e.g. 127.0.0.1:39539")
    o.add_argument("--vmc-perfect-sync", action="store_true",
                   help="with --vmc: also send the 52 ARKit blendshapes (VMagicMirror's perfect sync names)")
    o.add_argument("--record", default=None, metavar="DIR",
                   help="record a take (Live Link Face CSV + NPZ + avatar mp4) into DIR/take-DATE-TIME/")
    h = p.add_argument_group("headless mode (benchmarks, CI)")
    h.add_argument("--headless", action="store_true", help="track without a window and report figures")
    h.add_argument("--frames", type=int, default=300, help="frames to track in headless mode (default 300)")
    h.add_argument("--json", default=None, metavar="OUT", help="write FPS, per-stage latency p50/p95 and "
                   "frames dropped (and the calibration figures) to this JSON file")
    h.add_argument("--tracks", default=None, metavar="OUT.npz", help="save per frame: 68 projected landmarks "
                   "(frame pixels), face found, H, z, timestamp, frame number")
    h.add_argument("--calibrate", type=float, default=None, metavar="SECONDS",
                   help="record SECONDS of frames, calibrate while tracking goes on, report before/after + verdict")
    h.add_argument("--calib-steps", type=int, default=CALIB_STEPS,
                   help=f"adaptation steps of a calibration (default {CALIB_STEPS})")
    h.add_argument("--realtime", action="store_true",
                   help="play video files at their frame rate and drop frames the tracker cannot keep up with "
                        "(default for videos in headless mode: every frame is tracked)")
    h.add_argument("--no-render", action="store_true", help="headless: skip overlay/avatar drawing")
    h.add_argument("--seconds", type=float, default=None, metavar="S",
                   help="stop after S seconds even if --frames are not tracked yet (soaks: use a large --frames)")
    h.add_argument("--progress", default=None, metavar="OUT.jsonl",
                   help="append one JSON line every --progress-every seconds: frames, FPS, dropped, RSS")
    h.add_argument("--progress-every", type=float, default=5.0, metavar="S", help="seconds between --progress lines")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.headless:
        from .headless import run_headless

        return run_headless(args)
    if args.tracks or args.json or args.calibrate is not None:
        print("--json, --tracks and --calibrate are headless options; add --headless", file=sys.stderr)
        return 2
    from .gui.main import run_gui

    return run_gui(args)
