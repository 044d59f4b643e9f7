"""Starts the window: QApplication, settings, tracker, session, main window, first source."""

from __future__ import annotations

import argparse
import logging
import signal
import sys

import torch
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from models.code_guide import parse_guide

from ..pipeline.profiles import ProfileStore
from ..pipeline.setup import build_tracker, resolve_source
from ..sources import FrameSource, SourceSpec
from . import qt_compat  # noqa: F401  (before any other Qt use: PySide6 6.12 refcount guard)
from .session import Session
from .settings import SAVED_EXPRESSION_SOURCES, Settings
from .window import MainWindow

log = logging.getLogger(__name__)


GIL_SWITCH_S = 0.001


def create_window(args: argparse.Namespace, settings: Settings | None = None, store: ProfileStore | None = None,
                  cameras: list[int] | None = None, source: FrameSource | None = None,
                  source_spec: SourceSpec | None = None, source_factory=None) -> MainWindow:
    """Build everything and start the first source (``source`` overrides ``--source``, for tests;
    ``source_factory`` replaces :func:`app.sources.make_source`)."""
    # the GUI thread shares the GIL with the tracking and calibration threads: hand it over
    # every 1 ms instead of 5 ms so that the event loop waits less behind them
    sys.setswitchinterval(GIL_SWITCH_S)
    settings = settings or Settings()
    if getattr(args, "smoothing", None) is not None:
        settings.set("smoothing", min(max(args.smoothing, 0.0), 0.95))
    if getattr(args, "guide", None) is not None:
        try:
            settings.set("guide", ",".join(parse_guide(args.guide)) or "none")
        except ValueError as e:
            raise SystemExit(f"--guide: {e}") from None
    if getattr(args, "no_expression_layer", False):
        settings.set("expression_layer", False)
    if getattr(args, "two_stage", None) is not None:
        settings.set("two_stage", bool(args.two_stage))
    if getattr(args, "expressions", None) in SAVED_EXPRESSION_SOURCES:
        settings.set("expression_source", args.expressions)
    store = store or ProfileStore()
    note = ""
    if source_spec is None:
        try:
            source_spec, note = resolve_source(args.source or settings.get("source") or None)
        except ValueError as e:
            source_spec, note = SourceSpec("synthetic"), f"{e}; showing the synthetic actor instead"
    device = args.device if args.device != "auto" else settings.get("device")
    setup = build_tracker(args.bundle, device, args.landmarks, source_spec.kind, args.model_profile,
                          texture_every=args.texture_every, gaze=not getattr(args, "no_gaze", False),
                          texture_async=not getattr(args, "sync_texture", False),
                          expression_source=getattr(args, "expressions", None) or settings.expression_source(),
                          landmark_identity=not getattr(args, "raw_landmarks", False),
                          expression_layer=bool(settings.get("expression_layer")))
    session = Session(setup, store, threads=args.threads, calib_process=not args.calib_in_thread,
                      render_process=not args.render_in_thread, two_stage=bool(settings.get("two_stage")))
    window = MainWindow(session, settings, store, torch.cuda.is_available(), cameras)
    c, n = window.controller, window.notifier
    c.landmarks = args.landmarks
    c.detector_kind = source_spec.kind  # build_tracker made the detector for it
    if source_factory is not None:
        c.source_factory = source_factory
    window.status.set_device(str(setup.tracker.device))
    window.status.set_profile("", setup.choice.description)
    for w in setup.notices:
        window.status.add_warning(w)
    if setup.choice.warnings:
        n.dialog("Avatar bundle", "\n\n".join(setup.choice.warnings), "error" if setup.choice.untrained else "warning")
    if note:
        n.say(note, "info", c._offers())
    if args.profile:
        session.load_profile(args.profile)
    window.outputs_control.apply_cli(args)
    if source is not None:
        c.start(source, source_spec)
    else:
        c.request_source(str(source_spec))
    return window


def scratch_state(root: str) -> tuple[Settings, ProfileStore]:
    """Settings and a profile store inside ``root`` (a temporary folder): tools that open the
    window to measure or photograph it must not change the user's settings or add profiles."""
    from pathlib import Path

    return Settings(str(Path(root) / "settings.ini")), ProfileStore(Path(root) / "profiles")


def quit_on_signals(app: QApplication, window: MainWindow) -> QTimer:
    """Ctrl+C (SIGINT) and SIGTERM close the window like its close button (every thread stopped,
    settings saved) instead of raising KeyboardInterrupt inside a Qt slot and leaving the
    threads running while Python exits (Qt then aborts: "QThread: Destroyed while thread ... is
    still running"). Python runs signal handlers only between bytecodes, so a timer hands it
    the GIL every 200 ms while the event loop waits."""
    def on_signal(signum, _frame) -> None:
        log.warning("signal %d: closing the window", signum)
        window.close()
        app.quit()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(200)
    return timer


def run_gui(args: argparse.Namespace) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("roomfit-avatar")
    app.setOrganizationName("roomfit")
    window = create_window(args)
    quit_on_signals(app, window)
    window.show()
    code = int(app.exec())
    window.session.shutdown()  # the event loop can end without a close event (app.quit()); no-op after one
    return code
