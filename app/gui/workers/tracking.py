"""Tracking worker: runs :class:`app.pipeline.loops.TrackingLoop` on its own QThread.

Packets go to the GUI through a second latest-wins mailbox plus a ``packet_ready`` signal
that is emitted only when the GUI has taken the previous one, so a busy GUI never builds
up a backlog of queued frames (``gui_dropped`` counts frames it never had to paint).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot

from models.adapt import Recording

from ...pipeline.calibration_recorder import CalibrationRecorder
from ...pipeline.frame import Pipeline
from ...pipeline.loops import TrackingLoop
from ...pipeline.mailbox import Mailbox
from ...pipeline.packets import FramePacket, TrackPacket


class TrackingWorker(QObject):
    """Tracks the newest frame; the GUI pulls packets with :meth:`take_packet`."""

    packet_ready = Signal()
    recording_done = Signal(object, dict)  # Recording, {"seconds", "frames", "skipped"}
    error = Signal(str)
    finished = Signal()

    def __init__(self, pipeline: Pipeline, mailbox: Mailbox[FramePacket], threads: int = 1,
                 two_stage: bool = False) -> None:
        super().__init__()
        self.pipeline = pipeline
        self.out: Mailbox[TrackPacket] = Mailbox()
        self._notified = threading.Event()
        self._stop = threading.Event()
        self.loop = TrackingLoop(pipeline, mailbox, self._deliver, self.error.emit, threads, two_stage)
        pipeline.on_recording_done = self._recorded

    # ------------------------------------------------------------------ worker thread
    @Slot()
    def run(self) -> None:
        try:
            self.loop.run(self._stop)
        finally:
            self.pipeline.close()
            self.finished.emit()

    def _deliver(self, pkt: TrackPacket) -> None:
        self.out.put(pkt)
        if not self._notified.is_set():
            self._notified.set()
            self.packet_ready.emit()

    def _recorded(self, rec: Recording, recorder: CalibrationRecorder) -> None:
        self.recording_done.emit(rec, {"seconds": recorder.elapsed, "frames": len(rec), "skipped": recorder.skipped})

    # ------------------------------------------------------------------ any thread
    def take_packet(self) -> TrackPacket | None:
        """The newest packet (GUI thread, on ``packet_ready``)."""
        self._notified.clear()
        return self.out.take(0)

    @property
    def gui_dropped(self) -> int:
        return self.out.dropped

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` in the tracking thread between two frames."""
        self.loop.call_soon(fn)

    def redraw(self) -> None:
        """Redraw the last frame with the current view options (e.g. orbit while paused)."""
        def go() -> None:
            pkt = self.pipeline.redraw()
            if pkt is not None:
                self._deliver(pkt)
        self.call_soon(go)

    def stop(self) -> None:
        self._stop.set()
