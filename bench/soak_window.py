"""The real window for :mod:`bench.soak`: open it, track for ``--seconds``, write progress lines.

``python -m bench.soak_window --seconds S --progress OUT.jsonl [--progress-every S] [app flags]``

The window is built as ``launcher.py`` builds it (:func:`app.gui.main.create_window`, scratch settings
and profiles, so the user's are never touched; video sources loop, the settings' default). Every
``--progress-every`` seconds one JSON line (:class:`app.pipeline.progress.ProgressLog`): frames shown by
the GUI, the tracker's dropped frames, frames the GUI never painted, FPS, RSS, and the camera-to-screen latency
(capture to the GUI showing the packet, as the status bar says) p50 / p95 over the interval; the final
line has them over the whole run after the first ``--warmup`` seconds. Ends by itself.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as launcher.py (the window it measures): before numpy loads

import numpy as np  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--progress", required=True)
    ap.add_argument("--progress-every", type=float, default=5.0)
    ap.add_argument("--window-size", default="1400x860")
    ap.add_argument("--warmup", type=float, default=10.0, help="seconds left out of the final latency figures")
    a, rest = ap.parse_known_args(argv)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.cli import build_parser
    from app.gui.main import create_window, scratch_state
    from app.pipeline.progress import ProgressLog

    app = QApplication.instance() or QApplication(sys.argv[:1])
    args = build_parser().parse_args(rest)
    scratch = tempfile.TemporaryDirectory(prefix="roomfit-soak-")
    settings, store = scratch_state(scratch.name)
    if args.size:
        settings.set("width", args.size[0])
        settings.set("height", args.size[1])
    w = create_window(args, cameras=[], settings=settings, store=store)
    wd, ht = (int(v) for v in a.window_size.split("x"))
    w.resize(wd, ht)
    w.show()
    for d in list(w.notifier.dialogs):
        d.close()
    state = {"frames": 0, "dropped": 0, "captured": 0}
    lat: list[float] = []  # this interval's camera-to-screen ms
    lat_all: list[float] = []  # after the warm-up
    t0 = time.perf_counter()

    def on_packet(p) -> None:
        state["frames"] += 1
        state["dropped"], state["captured"] = p.dropped, p.index + 1
        ms = w.controller.screen_ms  # the window's own slot ran first: this packet's latency
        lat.append(ms)
        if time.perf_counter() - t0 >= a.warmup:
            lat_all.append(ms)

    w.session.packet.connect(on_packet)
    log = ProgressLog(a.progress, a.progress_every)

    def tick(final: bool = False) -> None:
        v = lat_all if final else lat
        extra = ({"screen_ms_p50": float(np.percentile(v, 50)), "screen_ms_p95": float(np.percentile(v, 95))}
                 if v else {})
        if log.tick(state["frames"], state["captured"], state["dropped"], final=final, extra=extra) is not None:
            lat.clear()

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(250)
    QTimer.singleShot(int(1000 * a.seconds), app.quit)
    app.exec()
    tick(final=True)
    w.close()
    app.processEvents()
    p50, p95 = (np.percentile(lat_all, [50, 95]) if lat_all else (float("nan"),) * 2)
    print(f"soak_window: {state['frames']} frames shown, dropped {state['dropped']}, "
          f"GUI never painted {w.session.tracking.gui_dropped}; camera-to-screen after {a.warmup:.0f} s: "
          f"p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
