"""Open the real window, let it track for a while, and save a screenshot of the screen.

``python -m app.tools.snapshot OUT.png [--bundle PATH] [--source SPEC] [--seconds S] [--calibrate]
[--app-arg=--vmc --app-arg=127.0.0.1:39539 ...] [--widget outputs_panel]``

Used by the Xvfb test (``tests/app/test_xvfb_window.py``) and for the README screenshot. On an
X server (``QT_QPA_PLATFORM=xcb``) it grabs the screen itself (what a user would see); on
the offscreen platform it renders the window.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as launcher.py: before numpy loads OpenBLAS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--bundle", default=None)
    ap.add_argument("--source", default="synthetic:lab")
    ap.add_argument("--seconds", type=float, default=6.0, help="track this long before the shot")
    ap.add_argument("--calibrate", action="store_true", help="start a calibration first (shows the panel busy)")
    ap.add_argument("--size", default="1400x860")
    ap.add_argument("--app-arg", action="append", default=[], help="one more launcher argument (repeat)")
    ap.add_argument("--widget", default=None, help="also save this window attribute alone as OUT-WIDGET.png")
    a = ap.parse_args(argv)
    from PySide6.QtWidgets import QApplication

    from ..cli import build_parser
    from ..gui.main import create_window, scratch_state

    app = QApplication.instance() or QApplication(sys.argv[:1])
    args = build_parser().parse_args(["--source", a.source] + (["--bundle", a.bundle] if a.bundle else []) + a.app_arg)
    scratch = tempfile.TemporaryDirectory(prefix="roomfit-tool-")  # never the user's settings/profiles
    settings, store = scratch_state(scratch.name)
    w = create_window(args, cameras=[], settings=settings, store=store)
    wd, ht = (int(v) for v in a.size.split("x"))
    w.resize(wd, ht)
    w.move(0, 0)
    w.show()
    found = []
    w.session.packet.connect(lambda p: found.append(p.result.found))
    for d in list(w.notifier.dialogs):
        d.close()  # the bundle dialog would cover the window in the picture
    if a.calibrate:
        w.controller.start_calibration(3.0)
    end = time.time() + a.seconds + 30
    while time.time() < end and (sum(found) < 10 or time.time() < end - 30):
        app.processEvents()
        time.sleep(0.01)
    w.plots.refresh()
    app.processEvents()
    shot = app.primaryScreen().grabWindow(0) if app.platformName() == "xcb" else w.grab()
    ok = shot.save(a.out)
    if a.widget:
        part = getattr(w, a.widget).grab()
        ok = part.save(a.out.rsplit(".", 1)[0] + f"-{a.widget}.png") and ok
    frames = sum(found)
    w.close()
    print(f"snapshot: {a.out} ({shot.width()}x{shot.height()}, platform {app.platformName()}, "
          f"{frames} tracked frames, saved={ok})")
    return 0 if ok and frames > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
