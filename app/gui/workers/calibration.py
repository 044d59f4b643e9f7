"""Calibration worker: the model jobs that must not run in the GUI thread.

Lives on its own QThread with an event loop; the session calls its slots through queued
signals: ``calibrate`` (adapt + save + hot-swap, :func:`app.pipeline.calibration.calibrate`),
``load_profile`` and ``revert``. ``cancel()`` is thread-safe and stops the adaptation at its
next step; the live model is untouched and no profile is written. The adaptation itself
runs in a kept child process (:class:`app.pipeline.adapt_process.AdaptProcess`, started by ``prepare``
when a recording begins, so that it is ready when the recording ends) so that it shares no GIL
with the GUI and the tracker; if that process cannot start, it runs in this thread instead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot

from models.adapt import Recording
from models.tracker import Tracker

from ...pipeline.adapt_process import AdaptProcess
from ...pipeline.calibration import CalibrationPlan, calibrate, freeze_heap, warm_up
from ...pipeline.packets import CalibOutcome, CalibProgress
from ...pipeline.profiles import ProfileError, ProfileStore

log = logging.getLogger(__name__)


class CalibrationWorker(QObject):
    """Runs adaptation and profile loads off the GUI thread."""

    progress = Signal(object)  # CalibProgress
    done = Signal(object)  # CalibOutcome
    profile_loaded = Signal(str, str)  # name ("" = base avatar), error ("" = ok)

    def __init__(self, tracker: Callable[[], Tracker], store: ProfileStore, fingerprint: str,
                 use_process: bool = True) -> None:
        super().__init__()
        self._tracker, self.store, self.fingerprint = tracker, store, fingerprint
        self.cancel_event = threading.Event()
        self.busy = False
        self.runner: AdaptProcess | None = AdaptProcess(nice=CalibrationPlan.nice) if use_process else None

    def cancel(self) -> None:
        """Thread-safe: stop the running adaptation at its next step."""
        self.cancel_event.set()

    @Slot()
    def warm_up(self) -> None:
        """torch's lazy imports now (at start-up), not during the first calibration."""
        log.info("calibration warm-up: %.2f s", warm_up(self._tracker()))
        freeze_heap()

    @Slot()
    def prepare(self) -> None:
        """Start the calibration process (torch import + warm-up) while the recording runs."""
        if self.runner is not None:
            self.runner.ready()

    def close(self) -> None:
        """Stop the calibration process (call after this worker's thread has finished)."""
        if self.runner is not None:
            self.runner.close()

    @Slot(object, object)
    def calibrate(self, recording: Recording, plan: CalibrationPlan) -> None:
        self.busy = True
        try:
            if self.cancel_event.is_set():
                out = CalibOutcome("cancelled", "cancelled before adaptation started; the live model is unchanged",
                                   frames=len(recording))
            else:
                runner = self.runner if self.runner is not None and self.runner.alive else None
                out = calibrate(self._tracker(), recording, plan, self.store, self._progress, self.cancel_event,
                                self.fingerprint, runner)
        except Exception as e:  # a crash mid-calibration: live model untouched, nothing saved
            log.exception("calibration crashed")
            out = CalibOutcome("failed", f"calibration failed ({type(e).__name__}: {e}); the live model is unchanged",
                               frames=len(recording))
        finally:
            self.busy = False
            self.cancel_event.clear()
        self.done.emit(out)

    def _progress(self, p: CalibProgress) -> None:
        self.progress.emit(p)

    @Slot(str)
    def load_profile(self, name: str) -> None:
        try:
            weights, info = self.store.load(name, self.fingerprint)
            self._tracker().load_adapted(weights)
        except (ProfileError, RuntimeError, KeyError, OSError) as e:
            self.profile_loaded.emit(name, str(e))
            return
        self.profile_loaded.emit(info.name, "")

    @Slot()
    def revert(self) -> None:
        try:
            self._tracker().revert()
        except Exception as e:
            self.profile_loaded.emit("", f"could not revert: {e}")
            return
        self.profile_loaded.emit("", "")
