"""Entry point: ``python launcher.py [--help]``."""

from __future__ import annotations

import os
import sys

# One OpenBLAS thread, set before numpy loads it: the app runs its own threads (capture, tracking, the
# texture worker, the GUI) on few cores, and OpenBLAS's pool spinning beside them halved the window's
# frame rate with the landmark fit on (liveportrait_d9 under Xvfb, 2-core VM: 6.9 -> 13.2 FPS;
# docs/speed.md). torch keeps its own thread settings (--threads).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

NO_DISPLAY = (
    "launcher.py: no display found (DISPLAY / WAYLAND_DISPLAY are not set), so the window cannot open.\n"
    "  - on a desktop, start it from the desktop session;\n"
    "  - on a server, run it under a virtual screen:  xvfb-run -a python launcher.py\n"
    "  - or track without a window:  python launcher.py --headless --source synthetic --frames 300 --json out.json"
)


def _needs_display(argv: list[str]) -> bool:
    gui = not any(a in ("--headless", "-h", "--help") for a in argv)
    return (gui and sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM")
            and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if _needs_display(args):
        print(NO_DISPLAY, file=sys.stderr)
        return 2
    from app.cli import main as app_main

    return app_main(argv)


if __name__ == "__main__":
    sys.exit(main())
