"""Capture worker: runs :class:`app.pipeline.loops.CaptureLoop` on its own QThread."""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from ...pipeline.loops import CaptureLoop
from ...pipeline.mailbox import Mailbox
from ...pipeline.packets import FramePacket
from ...sources import FrameSource


class CaptureWorker(QObject):
    """Reads a source into the mailbox; reports source events (``unavailable``, ``lost``,
    ``recovered``, ``ended``, ``failed``, ``notice``) by signal."""

    event = Signal(str, str)  # kind, message
    finished = Signal()

    def __init__(self, source: FrameSource, mailbox: Mailbox[FramePacket], mirror: Callable[[], bool],
                 lossless: bool = False, retry_s: float = 2.0) -> None:
        super().__init__()
        self.source = source
        self._stop = threading.Event()
        self.loop = CaptureLoop(source, mailbox, self.event.emit, lossless, retry_s, mirror)

    @Slot()
    def run(self) -> None:
        try:
            self.loop.run(self._stop)
        finally:
            self.finished.emit()

    def stop(self) -> None:
        """Thread-safe: ask the loop to end (it closes the source) and wake a source blocked in a read."""
        self._stop.set()
        self.loop.interrupt()


def start_in_thread(worker: QObject, name: str) -> QThread:
    """Move ``worker`` to a new QThread whose ``started`` runs ``worker.run``; quits when it finishes."""
    thread = QThread()
    thread.setObjectName(name)
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)  # the GUI thread may be waiting
    thread.start()
    return thread
