"""The live session: owns the mailbox, the three worker threads and the calibration state.

GUI thread only; it never runs a model. Views talk to it through methods (user intents) and
listen to its signals. Everything GL is created in the thread that uses it (the drawer in
the tracking thread, the synthetic actor's renderer in the capture thread).
"""

from __future__ import annotations

import logging
import time

import torch
from PySide6.QtCore import QObject, QThread, Signal

from ..outputs.hub import Outputs
from ..pipeline.calibration import CalibrationPlan
from ..pipeline.defaults import CALIB_TRACK_FPS
from ..pipeline.drawing import FrameDrawer
from ..pipeline.frame import Pipeline
from ..pipeline.mailbox import Mailbox
from ..pipeline.packets import CalibOutcome, FramePacket, TrackPacket, ViewOptions
from ..pipeline.profiles import ProfileStore
from ..pipeline.render_process import ProcessDrawer
from ..pipeline.setup import TrackerSetup, landmarks_or_fallback, move_tracker
from ..sources import FrameSource
from . import qt_compat  # noqa: F401  (before any other Qt use: PySide6 6.12 refcount guard)
from .workers.calibration import CalibrationWorker
from .workers.capture import CaptureWorker, start_in_thread
from .workers.tracking import TrackingWorker

log = logging.getLogger(__name__)
JOIN_LIMIT_S = 60.0  # shutdown waits this long at most for a thread that does not end
_UNFINISHED: list[QThread] = []  # threads that outlived JOIN_LIMIT_S: referenced so that they are never destroyed


def join(thread: QThread, what: str, first_s: float = 5.0, limit_s: float = JOIN_LIMIT_S) -> bool:
    """Wait for ``thread`` to end. Destroying a QThread that still runs aborts the process ("QThread:
    Destroyed while thread ... is still running", exit code 134), so this does not give up after
    ``first_s``: it says so and keeps waiting, up to ``limit_s``; a thread still running then is
    kept referenced for the rest of the process and False is returned."""
    if thread.wait(int(1000 * first_s)):
        return True
    log.warning("the %s thread did not stop within %g s; waiting for it", what, first_s)
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s - first_s:
        if thread.wait(500):
            log.warning("the %s thread stopped after %.1f s", what, first_s + time.monotonic() - t0)
            return True
    log.error("the %s thread is still running after %g s; leaving it", what, limit_s)
    _UNFINISHED.append(thread)
    return False


class Session(QObject):
    """Capture -> mailbox -> tracking -> GUI, plus calibration and room profiles."""

    packet = Signal(object)  # TrackPacket
    source_event = Signal(str, str)  # kind, message (see CaptureLoop)
    calib_state = Signal(str)  # idle | recording | adapting
    calib_progress = Signal(object)  # CalibProgress
    calib_done = Signal(object)  # CalibOutcome
    profile_changed = Signal(str, str)  # profile name ("" = base), error ("" = ok)
    error = Signal(str)
    _req_calibrate = Signal(object, object)
    _req_load = Signal(str)
    _req_revert = Signal()
    _req_warm_up = Signal()
    _req_prepare = Signal()

    def __init__(self, setup: TrackerSetup, store: ProfileStore, options: ViewOptions | None = None,
                 use_gl: bool = True, threads: int = 1, calib_process: bool = True,
                 render_process: bool = True, two_stage: bool = False) -> None:
        super().__init__()
        self.setup, self.store = setup, store
        self.mailbox: Mailbox[FramePacket] = Mailbox()
        self.pipeline = Pipeline(setup.tracker, None, options)
        self.mirror = False
        self.retry_s = 2.0  # how often a lost camera is retried
        self.threads = threads  # torch threads of the tracking and calibration threads
        self.calibration = "idle"
        self.plan: CalibrationPlan | None = None
        self.profile = setup.profile or ""
        self.source: FrameSource | None = None
        self.tracking = TrackingWorker(self.pipeline, self.mailbox, threads, two_stage)
        self.tracking.packet_ready.connect(self._on_packet_ready)
        self.tracking.recording_done.connect(self._on_recorded)
        self.tracking.error.connect(self.error)
        self.outputs = Outputs()  # VMC, takes, virtual camera: fed from the tracking thread, each sends on its own
        deliver = self.tracking.loop.on_packet
        self.tracking.loop.on_packet = lambda p: (self.outputs.submit(p), deliver(p))
        topo = setup.tracker.bundle.topology
        def make_drawer() -> FrameDrawer | ProcessDrawer:  # avatar view in its own process by default
            return ProcessDrawer(topo) if use_gl and render_process else FrameDrawer(topo, use_gl)

        self.tracking.call_soon(lambda: self.pipeline.set_drawer(make_drawer()))
        self.tracking_thread = start_in_thread(self.tracking, "tracking")
        self.calib = CalibrationWorker(lambda: self.pipeline.tracker, store, setup.fingerprint, calib_process)
        self.calib_thread = QThread()
        self.calib_thread.setObjectName("calibration")
        self.calib.moveToThread(self.calib_thread)
        self._req_calibrate.connect(self.calib.calibrate)
        self._req_load.connect(self.calib.load_profile)
        self._req_revert.connect(self.calib.revert)
        self._req_warm_up.connect(self.calib.warm_up)
        self._req_prepare.connect(self.calib.prepare)
        self.calib.progress.connect(self.calib_progress)
        self.calib.done.connect(self._on_calib_done)
        self.calib.profile_loaded.connect(self._on_profile_loaded)
        self.calib_thread.start()
        self._req_warm_up.emit()
        self.capture: CaptureWorker | None = None
        self.capture_thread: QThread | None = None
        self._shut_down = False
        self.stop_wait_s = 5.0  # how long stop_source waits for the capture thread
        self._stopping: list[tuple[CaptureWorker, QThread]] = []  # capture threads still ending

    # ------------------------------------------------------------------ source
    def start_source(self, source: FrameSource, lossless: bool = False) -> None:
        """Switch to ``source`` (opened in the capture thread; failures arrive as source_event)."""
        self.stop_source()
        self.source = source
        self.tracking.call_soon(self.pipeline.reset)
        self.capture = CaptureWorker(source, self.mailbox, lambda: self.mirror, lossless, self.retry_s)
        self.capture.event.connect(self.source_event)
        self.capture_thread = start_in_thread(self.capture, "capture")

    def stop_source(self) -> None:
        """Stop the capture thread. One that does not end within ``stop_wait_s`` (a source blocked in a
        read it cannot be woken from) is kept, never destroyed while it runs (Qt aborts the process:
        "QThread: Destroyed while thread 'capture' is still running"); :meth:`shutdown` waits for it."""
        if self.capture is not None and self.capture_thread is not None:
            self.capture.stop()
            if not self.capture_thread.wait(int(1000 * self.stop_wait_s)):
                log.warning("capture thread did not stop within %g s (a blocked source read?); "
                            "it is left to finish on its own", self.stop_wait_s)
                self._stopping.append((self.capture, self.capture_thread))
        self._stopping = [(w, t) for w, t in self._stopping if not t.isFinished()]
        self.capture, self.capture_thread = None, None
        self.mailbox.clear()

    def set_landmarks(self, name: str, source_kind: str) -> None:
        """Give the tracker the landmark detector that fits the source (built in the tracking thread)."""
        def swap() -> None:
            notices: list[str] = []
            detector, note = landmarks_or_fallback(name, source_kind, notices)
            self.pipeline.tracker.detector = detector
            self.pipeline.reset()
            for n in notices:
                self.error.emit(n)
            log.info(note)
        self.tracking.call_soon(swap)

    # ------------------------------------------------------------------ options
    def set_options(self, options: ViewOptions, redraw: bool = True) -> None:
        """``redraw``: draw the last frame again with them now (a paused view). The redraw waits for the
        avatar render; a switch while frames flow (the enrollment recording) passes False."""
        self.pipeline.options = options  # one reference swap: the tracking thread reads it per frame
        if redraw:
            self.tracking.redraw()

    def set_smoothing(self, strength: float) -> None:
        self.tracking.call_soon(lambda: self.pipeline.tracker.set_smoothing(strength))

    def set_guide(self, spec: str) -> None:
        """Which expressions follow the detector (:mod:`models.code_guide` spec; "none": the encoder alone)."""
        self.tracking.call_soon(lambda: self.pipeline.tracker.set_guide(spec))

    def set_expression_source(self, source: str) -> None:
        """Where the named weights come from (``landmarks`` | ``fit``), from the next tracked frame."""
        self.tracking.call_soon(lambda: self.pipeline.tracker.set_expression_source(source))

    def set_expression_layer(self, on: bool) -> None:
        """Winks and wide eyes on the avatar's mesh (:mod:`models.expression_layer`), or not."""
        self.tracking.call_soon(lambda: self.pipeline.tracker.set_expression_layer(on))

    def set_device(self, device: torch.device) -> None:
        self.tracking.call_soon(lambda: move_tracker(self.pipeline.tracker, device))

    # ------------------------------------------------------------------ calibration
    def start_calibration(self, plan: CalibrationPlan) -> bool:
        if self.calibration != "idle":
            return False
        self.plan = plan
        self.calib.cancel_event.clear()
        self.tracking.call_soon(lambda: self.pipeline.start_recording(plan.seconds))
        self._req_prepare.emit()  # the calibration process starts while the frames are recorded
        self._set_calib("recording")
        return True

    def cancel_calibration(self) -> None:
        if self.calibration == "recording":
            self.tracking.call_soon(self.pipeline.cancel_recording)
            self._set_calib("idle")
            self.calib_done.emit(CalibOutcome("cancelled", "recording cancelled; the live model is unchanged"))
        elif self.calibration == "adapting":
            self.calib.cancel()

    def _on_recorded(self, recording, info: dict) -> None:
        if self.calibration != "recording" or self.plan is None:
            return
        self._set_calib("adapting")
        self._req_calibrate.emit(recording, self.plan)

    def _on_calib_done(self, out: CalibOutcome) -> None:
        self._set_calib("idle")
        if out.accepted:
            self.profile = out.profile or "(unsaved adapted model)"
            self.profile_changed.emit(self.profile, "")
        self.calib_done.emit(out)

    def _set_calib(self, state: str) -> None:
        self.calibration = state
        self.tracking.loop.rate_cap = CALIB_TRACK_FPS if state == "adapting" else None  # read per frame
        self.pipeline.set_adapting(state == "adapting")
        self.calib_state.emit(state)

    # ------------------------------------------------------------------ profiles
    def load_profile(self, name: str) -> None:
        self._req_load.emit(name)

    def revert(self) -> None:
        self._req_revert.emit()

    def _on_profile_loaded(self, name: str, err: str) -> None:
        if not err:
            self.profile = name
        self.profile_changed.emit(name, err)

    # ------------------------------------------------------------------ packets
    def _on_packet_ready(self) -> None:
        pkt: TrackPacket | None = self.tracking.take_packet()
        if pkt is not None:
            self.packet.emit(pkt)

    def shutdown(self) -> None:
        """Stop every thread (cancels a calibration; nothing half-written is left). Waits until each
        has ended (see :func:`join`): the capture and tracking threads are asked to stop together,
        and each closes its helper process (killed if it does not exit at once). Runs once."""
        if self._shut_down:
            return
        self._shut_down = True
        self.calib.cancel()
        if self.capture is not None and self.capture_thread is not None:
            self.capture.stop()
            self._stopping.append((self.capture, self.capture_thread))
            self.capture, self.capture_thread = None, None
        self.tracking.stop()
        self.mailbox.close()
        for _worker, thread in self._stopping:
            join(thread, "capture")
        self._stopping.clear()
        join(self.tracking_thread, "tracking")
        self.outputs.close()  # after tracking stopped: a running take is finished and kept
        self.calib_thread.quit()
        join(self.calib_thread, "calibration", first_s=30.0, limit_s=90.0)
        self.calib.close()
