"""Draw the avatar view (and the GL wireframe overlay) in a child process.

ModernGL keeps the GIL while it draws and reads back (on a software GL, ~6 ms for the
360x360 avatar view): drawn in the tracking thread it lengthened every frame and held off the
GUI thread. :class:`ProcessDrawer` has :class:`app.pipeline.drawing.FrameDrawer`'s interface; a real
FrameDrawer runs in ``python -m app.pipeline.render_process FD`` (a plain subprocess, as the synthetic
actor's), talking pickled numpy over a socket pair (:mod:`app.ipc`):

    parent -> child   ("avatar", G, H_frame, texture | None, opts, alpha)  texture only when it changed
                      ("camera", frame_rgb, G, H_frame, detected, box, opts, landmarks)  (GL wireframe only;
                       landmarks: the tracker's reported points or None)
                      ("close",)
    child -> parent   ("ready", gl, notice) | ("image", rgb) | ("error", message)

The avatar view is asynchronous, latest wins: each call collects the image the child finished
(normally the previous frame's) and hands it the current pose if it is idle, so the tracking
thread never waits for it; ``wait=True`` (a redraw of a paused frame) waits for the fresh one.
The child starts in the background too: until it is ready (~1-2 s) the view shows its backdrop
while tracking already runs.
Camera overlays without the wireframe stay in the calling thread (OpenCV, ~0.2 ms). If the
child cannot start or dies, drawing falls back to an in-thread FrameDrawer with a notice.
"""

from __future__ import annotations

import logging
import subprocess
import time
from multiprocessing.connection import Connection

import numpy as np

from models.topology import Topology

from ..ipc import child_connection, lower_helper_priority, spawn, stop
from ..ipc import recv as _recv
from ..ipc import send as _send
from .drawing import FrameDrawer
from .packets import ViewOptions

log = logging.getLogger(__name__)


def _serve(conn: Connection) -> None:
    topology, use_gl = _recv(conn)[1:]
    drawer = FrameDrawer(topology, use_gl)
    _send(conn, ("ready", drawer.gl, drawer.notice))
    texture = None
    try:
        while True:
            msg = _recv(conn)
            if msg[0] == "close":
                return
            try:
                if msg[0] == "avatar":
                    G, H, tex, opts, alpha = msg[1:]
                    texture = tex if tex is not None else texture  # the same object until a new one arrives
                    _send(conn, ("image", drawer.avatar(G, H, texture, opts, alpha)))
                elif msg[0] == "camera":
                    _send(conn, ("image", drawer.camera(*msg[1:])))
                else:
                    _send(conn, ("error", f"unknown request {msg[0]!r}"))
            except (BrokenPipeError, ConnectionResetError):
                raise  # the app closed the connection (it does not wait for an image in flight): exit
            except Exception as e:  # report; the parent falls back to drawing itself
                log.exception("render process: %s failed", msg[0])
                _send(conn, ("error", f"{type(e).__name__}: {e}"))
    finally:
        drawer.release()


def _main() -> None:
    lower_helper_priority()
    logging.basicConfig(level=logging.WARNING, format="render process: %(levelname)s %(message)s")
    conn = child_connection()
    try:
        _serve(conn)
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass
    finally:
        conn.close()


class ProcessDrawer:
    """:class:`FrameDrawer`'s interface with the GL drawing in a child process. Use from one thread."""

    def __init__(self, topology: Topology, use_gl: bool = True, start_timeout: float = 60.0) -> None:
        self.topology = topology
        self.local = FrameDrawer(topology, use_gl=False)  # OpenCV overlays; the fallback avatar
        self.notice = ""
        self.gl = False
        self._conn: Connection | None = None
        self._proc: subprocess.Popen | None = None
        self._busy = False  # an avatar request is in flight
        self._image: np.ndarray | None = None  # the newest avatar image the child finished
        self._tex_sent: object = None  # the texture object the child has
        self._fallback: FrameDrawer | None = None
        self._ready_by: float | None = None  # while starting: the deadline for the child's "ready"
        if not use_gl:
            return
        try:
            self._proc, self._conn = spawn("app.pipeline.render_process", gl=True)
            _send(self._conn, ("init", topology, True))
            self._ready_by = time.monotonic() + start_timeout
            self.gl = True  # until the child says otherwise
        except OSError as e:
            self._fail(f"the render process did not start ({e})")

    # ------------------------------------------------------------------ process
    def _starting(self, block: bool = False) -> bool:
        """True while the child has not said "ready" yet (then draw nothing with it)."""
        if self._ready_by is None or self._conn is None:
            return False
        try:
            wait = max(0.0, self._ready_by - time.monotonic()) if block else 0.0
            if not self._conn.poll(wait):
                if time.monotonic() > self._ready_by:
                    self._fail("the render process did not start in time")
                return self._ready_by is not None
            _, self.gl, notice = _recv(self._conn)
        except (EOFError, OSError) as e:
            self._fail(f"the render process did not start ({type(e).__name__})")
            return False
        self._ready_by = None
        if not self.gl:  # no GL in the child either: OpenCV drawing here
            self._close_child()
            self.notice = notice
        return False

    def _fail(self, why: str) -> None:
        """Draw in this thread from now on (a GL drawer of our own, as before the child existed)."""
        log.warning("%s; drawing in the tracking thread instead", why)
        self._ready_by = None
        self._close_child()
        self._fallback = FrameDrawer(self.topology, use_gl=True)
        self.gl = self._fallback.gl
        self.notice = why if not self._fallback.notice else f"{why}; {self._fallback.notice}"
        self._image, self._busy = None, False

    def _close_child(self) -> None:
        stop(self._proc, self._conn)
        self._proc, self._conn = None, None

    def _call(self, msg) -> np.ndarray | None:
        """Send one request and wait for its image (None after a failure: caller falls back)."""
        try:
            self._collect(block=True)  # the in-flight avatar first
            if self._conn is None:  # that failed: the caller falls back
                return None
            _send(self._conn, msg)
            return self._reply(_recv(self._conn))
        except (EOFError, OSError) as e:
            self._fail(f"the render process ended ({type(e).__name__})")
            return None

    def _reply(self, msg) -> np.ndarray | None:
        if msg[0] == "error":
            self._fail(f"the render process failed: {msg[1]}")
            return None
        return msg[1]

    def _collect(self, block: bool) -> None:
        """Take the in-flight avatar image if it is done (or wait for it with ``block``)."""
        if self._conn is not None and self._busy and (block or self._conn.poll(0)):
            img = self._reply(_recv(self._conn))
            self._busy = False
            if img is not None:
                self._image = img

    # ------------------------------------------------------------------ FrameDrawer interface
    def backdrop(self, size: int) -> np.ndarray:
        return self.local.backdrop(size)

    def camera(self, frame_rgb: np.ndarray, G, H_frame, detected, box, opts: ViewOptions,
               landmarks=None) -> np.ndarray:
        if self._fallback is not None:
            return self._fallback.camera(frame_rgb, G, H_frame, detected, box, opts, landmarks)
        if opts.wireframe and G is not None and H_frame is not None and self._conn is not None and \
                not self._starting():
            img = self._call(("camera", frame_rgb, G, H_frame, detected, box, opts, landmarks))
            if img is not None:
                return img
            return self.camera(frame_rgb, G, H_frame, detected, box, opts, landmarks)
        return self.local.camera(frame_rgb, G, H_frame, detected, box, opts, landmarks)

    def avatar(self, G, H_frame, texture, opts: ViewOptions, alpha: float = 1.0, wait: bool = False) -> np.ndarray:
        """The newest finished avatar image; the current pose is drawn next (now if ``wait``)."""
        size = int(opts.avatar_size)
        if self._fallback is None and self._conn is not None:
            if self._starting(block=wait):
                return self.backdrop(size)
            self._request(G, H_frame, texture, opts, alpha, wait)
        if self._fallback is not None:  # the helper failed, now or before
            return self._fallback.avatar(G, H_frame, texture, opts, alpha)
        if self._conn is None:  # no GL anywhere: OpenCV drawing here
            return self.local.avatar(G, H_frame, texture, opts, alpha)
        img = self._image
        return img if img is not None and img.shape[0] == size else self.backdrop(size)

    def _request(self, G, H_frame, texture, opts: ViewOptions, alpha: float, wait: bool) -> None:
        """Collect a finished image; hand the helper this pose if it is idle (and wait if asked)."""
        try:
            self._collect(block=wait)
            if self._conn is None or self._busy:
                return
            tex = None
            if texture is not None and texture is not self._tex_sent:
                tex, self._tex_sent = texture, texture
            _send(self._conn, ("avatar", G, H_frame, tex, opts, alpha))
            self._busy = True
            if wait:
                self._collect(block=True)
        except (EOFError, OSError) as e:
            self._fail(f"the render process ended ({type(e).__name__})")

    def release(self) -> None:
        """End the helper without waiting for an image in flight, and kill it unless it exits within
        a second (it holds nothing to save; on a loaded machine, at lower priority, a helper still
        starting or drawing took longer to exit than the window waited for the tracking thread)."""
        self._ready_by = None
        self._busy = False
        stop(self._proc, self._conn, timeout=1.0)
        self._proc, self._conn = None, None
        if self._fallback is not None:
            self._fallback.release()
            self._fallback = None
        self.gl = False


if __name__ == "__main__":
    _main()
