"""The real window for :mod:`bench.soak`: open it, track for ``--seconds``, write progress lines.

``python -m bench.soak_window --seconds S --progress OUT.jsonl [--progress-every S] [app flags]``

The window is built as ``launcher.py`` builds it (:func:`app.gui.main.create_window`, scratch settings
and profiles, so the user's are never touched; video sources loop, the settings' default). Every
``--progress-every`` seconds one JSON line (:class:`app.pipeline.progress.ProgressLog`): frames shown by
the GUI, the tracker's dropped frames, frames the GUI never painted, FPS, RSS. Ends by itself.
"""

from __future__ import annotations

import argparse
import sys
import tempfile


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--progress", required=True)
    ap.add_argument("--progress-every", type=float, default=5.0)
    ap.add_argument("--window-size", default="1400x860")
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

    def on_packet(p) -> None:
        state["frames"] += 1
        state["dropped"], state["captured"] = p.dropped, p.index + 1

    w.session.packet.connect(on_packet)
    log = ProgressLog(a.progress, a.progress_every)

    def tick(final: bool = False) -> None:
        log.tick(state["frames"], state["captured"], state["dropped"], final=final)

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(250)
    QTimer.singleShot(int(1000 * a.seconds), app.quit)
    app.exec()
    tick(final=True)
    w.close()
    app.processEvents()
    print(f"soak_window: {state['frames']} frames shown, dropped {state['dropped']}, "
          f"GUI never painted {w.session.tracking.gui_dropped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
