"""Run a frame source in a child process, so its work never holds this process's GIL.

ModernGL keeps the GIL during draw calls and read-backs, so the synthetic actor rendered in
a thread starved the GUI thread (5 ms timer ticks stretched to 15-25 ms, measured). In a
child process it costs the GUI nothing. Frames come back through shared memory (two slots:
the child renders frame k+1 while the parent copies frame k); metadata and errors through a
socket pair. The child is ``python -m app.sources.process`` (a plain subprocess: it never
re-imports the caller's ``__main__``, unlike multiprocessing's spawn). ``SourceUnavailable``,
``SourceLost`` and ``SourceEnded`` raised in the child are raised again here with the same message.
"""

from __future__ import annotations

import os
import pickle
import socket
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.shared_memory import SharedMemory

import numpy as np

from ..ipc import child_connection, lower_helper_priority, spawn, stop
from .base import FrameSource, Grab, SourceEnded, SourceError, SourceLost, SourceUnavailable

_ERRORS = {"unavailable": SourceUnavailable, "lost": SourceLost, "ended": SourceEnded}
_KINDS = {v: k for k, v in _ERRORS.items()}


def _child(factory: Callable[[], FrameSource], conn, shm_name: str, shape: tuple[int, int, int]) -> None:
    shm = SharedMemory(shm_name)
    from multiprocessing import resource_tracker

    resource_tracker.unregister(shm._name, "shared_memory")  # type: ignore[attr-defined]  # the parent owns it
    slots = np.ndarray((2, *shape), np.uint8, shm.buf)
    src = factory()
    try:
        try:
            src.open()
        except SourceError as e:
            conn.send(("error", _KINDS.get(type(e), "unavailable"), str(e)))
            return
        conn.send(("ok", src.name, float(getattr(src, "fps", 30.0)), getattr(src, "notice", "")))

        def render(k: int):
            t0 = time.perf_counter()
            try:
                g = src.read()
            except SourceError as e:
                return ("error", _KINDS.get(type(e), "lost"), str(e))
            except Exception as e:  # report, the parent decides
                return ("error", "lost", f"{type(e).__name__}: {e}")
            if g.image.shape != shape:
                return ("error", "lost", f"frame size {g.image.shape} != {shape}")
            slots[k] = g.image
            return ("frame", k, g.truth, g.position, 1e3 * (time.perf_counter() - t0))

        k, ready = 0, render(0)
        while True:
            cmd = conn.recv()
            if cmd != "next":
                break
            conn.send(ready)
            if ready[0] == "frame":
                k ^= 1
            ready = render(k)  # after an error: try again (a looping video restarts, a lost one stays lost)
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass
    finally:
        src.close()
        slots = None  # drop the view on the buffer before closing the shared memory
        shm.close()


class ProcessSource:
    """A :class:`FrameSource` whose frames are produced by ``factory()`` in a spawned process.

    ``factory`` must be picklable (a module-level function or a ``functools.partial``) and
    produce frames of ``(height, width, 3)``. ``paced`` and ``fps`` follow the inner source.
    """

    def __init__(self, factory: Callable[[], FrameSource], width: int, height: int, name: str = "",
                 paced: bool = True, start_timeout: float = 60.0) -> None:
        self.factory, self.shape = factory, (int(height), int(width), 3)
        self.name, self.paced, self.fps, self.notice = name or "process source", paced, 30.0, ""
        self.start_timeout = start_timeout
        self._proc = None
        self._conn = None
        self._shm: SharedMemory | None = None
        self.last_ms = 0.0  # time the child spent on the frame just read
        self._lock = threading.Lock()  # guards _proc/_conn against interrupt() from another thread
        self._interrupted = False

    def interrupt(self) -> None:
        """Thread-safe, for whoever stops the capture thread: a blocked ``open()``/``read()`` returns
        at once (``SourceUnavailable``/``SourceLost``), and ``close()`` kills the helper instead of
        waiting for it to exit (on a loaded machine its exit took longer than the window waited).
        The source stays stopped: a later ``open()`` raises ``SourceUnavailable``."""
        with self._lock:
            self._interrupted = True
            if self._conn is not None:  # shut the socket down: wakes a recv()/poll() blocked on it
                try:
                    with socket.socket(fileno=os.dup(self._conn.fileno())) as s:
                        s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            elif self._proc is not None:  # close() is waiting for the helper to exit
                try:
                    self._proc.kill()
                except OSError:
                    pass

    def open(self) -> None:
        if self._proc is not None:
            return
        if self._interrupted:
            raise SourceUnavailable(f"{self.name}: stopped")
        self._shm = SharedMemory(create=True, size=2 * int(np.prod(self.shape)))
        spec = pickle.dumps((self.factory, self._shm.name, self.shape))
        # gl: the synthetic actor draws with OpenGL
        proc, conn = spawn("app.sources.process", gl=True, stdin=spec)
        with self._lock:
            self._proc, self._conn = proc, conn
            stopped = self._interrupted  # interrupt() came while spawning: its shutdown missed the socket
        if stopped:
            self.close()
            raise SourceUnavailable(f"{self.name}: stopped")
        if not self._conn.poll(self.start_timeout):
            self.close()
            raise SourceUnavailable(f"{self.name}: the source process did not start within {self.start_timeout:g} s")
        try:
            msg = self._conn.recv()
        except (EOFError, OSError):
            self.close()
            raise SourceUnavailable(f"{self.name}: the source process died while starting") from None
        if msg[0] == "error":
            self.close()
            raise _ERRORS.get(msg[1], SourceUnavailable)(msg[2])
        _, self.name, self.fps, self.notice = msg

    def read(self) -> Grab:
        if self._conn is None or self._shm is None:
            raise SourceLost(f"{self.name} is not open")
        try:
            self._conn.send("next")
            msg = self._conn.recv()
        except (EOFError, BrokenPipeError, OSError):
            self.close()
            raise SourceLost(f"{self.name}: the source process ended unexpectedly") from None
        if msg[0] == "error":
            raise _ERRORS.get(msg[1], SourceLost)(msg[2])
        _, k, truth, position, self.last_ms = msg
        slots = np.ndarray((2, *self.shape), np.uint8, self._shm.buf)
        image = slots[k].copy()
        del slots
        return Grab(image, truth, position)

    def close(self) -> None:
        with self._lock:
            proc, conn, self._conn = self._proc, self._conn, None
        stop(proc, conn, goodbye=lambda c: c.send("close"), kill=self._interrupted)
        with self._lock:
            self._proc = None
        if self._shm is not None:
            self._shm.close()
            self._shm.unlink()
            self._shm = None


def _main() -> None:
    """Child entry point: ``python -m app.sources.process FD`` with the pickled spec on stdin."""
    lower_helper_priority()
    factory, shm_name, shape = pickle.loads(sys.stdin.buffer.read())
    conn = child_connection()
    try:
        _child(factory, conn, shm_name, tuple(shape))
    finally:
        conn.close()


if __name__ == "__main__":
    _main()
