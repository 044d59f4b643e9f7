"""Runs the enrollment engine as a child process (QProcess: asynchronous, no thread of ours).

The engine (``python -m studio enroll ... --progress-json``, :mod:`app.pipeline.enroll_job`) shares
no GIL with the GUI or the tracker; it runs at a lower CPU priority (``nice``) so that the live
tracking keeps its frame rate on a small CPU. Its JSON lines arrive as ``progress`` signals, and
``finished`` carries one :class:`EnrollOutcome` however it ended (ok, bad input, cancelled,
crashed, or failed to start). ``cancel()`` sends SIGTERM (the engine keeps its finished stages for
``--resume``) and kills it if it has not exited after ``kill_after_s``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from ...pipeline import enroll_job as J

log = logging.getLogger(__name__)


class EnrollRunner(QObject):
    progress = Signal(object)  # EnrollProgress
    finished = Signal(object)  # EnrollOutcome

    def __init__(self, engine: Sequence[str] | None = None, parent: QObject | None = None,
                 kill_after_s: float = 15.0, nice: int = 10) -> None:
        super().__init__(parent)
        self.engine = tuple(engine) if engine else None  # None: app.pipeline.enroll_job.ENGINE when started
        self.kill_after_s, self.nice = kill_after_s, nice
        self.proc: QProcess | None = None
        self.last: J.EnrollProgress | None = None
        self._buf = b""
        self._err = ""
        self._result: dict | None = None
        self._asked_to_stop = False
        self._reported = False

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.state() != QProcess.ProcessState.NotRunning

    def start(self, job: J.EnrollJob) -> None:
        if self.running:
            raise RuntimeError("an enrollment is already running")
        argv = job.argv(self.engine or J.ENGINE)
        self._buf, self._err, self._result, self._asked_to_stop, self._reported = b"", "", None, False, False
        self.last = None
        p = QProcess(self)
        p.setProgram(argv[0])
        p.setArguments(argv[1:])
        p.setWorkingDirectory(str(J.REPO))
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONPATH", os.pathsep.join(x for x in (str(J.REPO), env.value("PYTHONPATH", "")) if x))
        env.insert("PYTHONUNBUFFERED", "1")
        p.setProcessEnvironment(env)
        p.readyReadStandardOutput.connect(self._read_out)
        p.readyReadStandardError.connect(self._read_err)
        p.finished.connect(self._finished)
        p.errorOccurred.connect(self._error)
        self.proc = p
        log.info("enrollment: %s", " ".join(argv))
        p.start()
        if p.waitForStarted(10000):
            self._lower_priority(int(p.processId()))

    def _lower_priority(self, pid: int) -> None:
        if self.nice and hasattr(os, "setpriority"):
            try:
                os.setpriority(os.PRIO_PROCESS, pid, min(19, os.getpriority(os.PRIO_PROCESS, pid) + self.nice))
            except OSError as e:
                log.info("enrollment keeps the normal CPU priority (%s)", e)

    # ------------------------------------------------------------------ output
    def _read_out(self) -> None:
        if self.proc is None:
            return
        self._buf += bytes(self.proc.readAllStandardOutput().data())
        *lines, self._buf = self._buf.split(b"\n")
        for raw in lines:
            self._line(raw.decode("utf-8", "replace"))

    def _line(self, text: str) -> None:
        got = J.parse_line(text)
        if isinstance(got, J.EnrollProgress):
            self.last = got
            self.progress.emit(got)
        elif isinstance(got, dict):
            self._result = got
        elif text.strip():
            log.info("enroll engine: %s", text.rstrip())

    def _read_err(self) -> None:
        if self.proc is None:
            return
        text = bytes(self.proc.readAllStandardError().data()).decode("utf-8", "replace")
        self._err = (self._err + text)[-4000:]
        for line in text.splitlines():
            log.debug("enroll engine stderr: %s", line)

    def stderr_tail(self, lines: int = 8) -> str:
        return "\n".join(self._err.strip().splitlines()[-lines:])

    # ------------------------------------------------------------------ ending
    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._read_out()
        self._read_err()
        if self._buf.strip():
            self._line(self._buf.decode("utf-8", "replace"))
            self._buf = b""
        normal = status == QProcess.ExitStatus.NormalExit
        self._report(J.outcome(self._result, int(code) if normal else None, self.stderr_tail(), self._asked_to_stop))

    def _error(self, err: QProcess.ProcessError) -> None:
        if err == QProcess.ProcessError.FailedToStart and self.proc is not None:
            self._report(J.outcome(None, None, crashed_to_start=self.proc.errorString() or "failed to start"))

    def _report(self, out: J.EnrollOutcome) -> None:
        if self._reported:
            return
        self._reported = True
        log.info("enrollment ended: %s %s", out.kind, out.message)
        self.finished.emit(out)

    def cancel(self) -> None:
        """Ask the engine to stop (SIGTERM); it is killed if it has not ended after ``kill_after_s``."""
        if not self.running:
            return
        self._asked_to_stop = True
        self.proc.terminate()  # type: ignore[union-attr]
        QTimer.singleShot(int(1000 * self.kill_after_s), self._kill_if_running)

    def _kill_if_running(self) -> None:
        if self.running and self._asked_to_stop:
            log.warning("the enrollment engine did not stop within %g s; killing it", self.kill_after_s)
            self.proc.kill()  # type: ignore[union-attr]

    def stop_now(self, wait_s: float = 10.0) -> None:
        """Stop and wait (window shutdown): SIGTERM, then kill. The work folder keeps finished stages."""
        if not self.running:
            return
        self._asked_to_stop = True
        p = self.proc
        p.terminate()  # type: ignore[union-attr]
        if not p.waitForFinished(int(1000 * wait_s)):  # type: ignore[union-attr]
            p.kill()  # type: ignore[union-attr]
            p.waitForFinished(3000)  # type: ignore[union-attr]
