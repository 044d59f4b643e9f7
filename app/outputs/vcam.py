"""Virtual camera (optional ``pyvirtualcam``): the avatar view, or camera | avatar side by side, as a
webcam that Zoom, Teams, OBS or a browser can pick.

pyvirtualcam needs a backend: on Linux the v4l2loopback kernel module, on Windows and macOS OBS
Studio's virtual camera. When the package or the backend is missing :meth:`VirtualCamera.start`
raises :class:`VcamUnavailable` with the exact install steps; the app shows them and keeps running.

Frames go out on a sender thread at the camera's rate: the newest avatar image is letterboxed
into ``width x height`` (the last one is repeated while tracking is slower than the camera).
"""

from __future__ import annotations

import logging
import sys
import threading
import time

import cv2
import numpy as np

log = logging.getLogger(__name__)
MODES = ("avatar", "side by side")
INSTALL = {
    "package": "the virtual camera needs the optional package pyvirtualcam: pip install \"roomfit-avatar[vcam]\" "
               "(or pip install pyvirtualcam), then restart the app",
    "linux": "no virtual camera device: install v4l2loopback (Debian/Ubuntu: sudo apt install v4l2loopback-dkms) "
             "and load it with: sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=\"roomfit\"",
    "win32": "no virtual camera backend: install OBS Studio (26 or newer), start its virtual camera once "
             "(Controls > Start Virtual Camera), stop it, then retry",
    "darwin": "no virtual camera backend: install OBS Studio (30 or newer), start its virtual camera once "
              "(Controls > Start Virtual Camera, allow the system extension), stop it, then retry",
}


class VcamUnavailable(RuntimeError):
    """No virtual camera: the message says exactly what to install."""


def compose(avatar: np.ndarray | None, camera: np.ndarray | None, size: tuple[int, int], mode: str) -> np.ndarray:
    """RGB uint8 images -> one (h, w, 3) RGB frame: the avatar letterboxed, or camera | avatar."""
    w, h = size
    out = np.zeros((h, w, 3), np.uint8)
    panes = [avatar] if mode == "avatar" else [camera, avatar]
    pw = w // len(panes)
    for i, img in enumerate(panes):
        if img is None:
            continue
        s = min(pw / img.shape[1], h / img.shape[0])
        iw, ih = max(1, int(img.shape[1] * s)), max(1, int(img.shape[0] * s))
        x0, y0 = i * pw + (pw - iw) // 2, (h - ih) // 2
        out[y0:y0 + ih, x0:x0 + iw] = cv2.resize(img, (iw, ih), interpolation=cv2.INTER_AREA)
    return out


class VirtualCamera:
    """``start()`` opens the device (raises VcamUnavailable), ``submit(TrackPacket)`` per frame, ``close()``."""

    def __init__(self, width: int = 640, height: int = 480, fps: float = 30.0, mode: str = "avatar",
                 backend: str | None = None, device: str | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"virtual camera mode must be one of {MODES}, got {mode!r}")
        self.size, self.fps, self.mode = (int(width), int(height)), float(fps), mode
        self.backend, self.device_name = backend, device
        self.frames = 0
        self.device = ""
        self.error = ""
        self.thread_cpu_s = 0.0
        self._latest: tuple | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cam = None

    def start(self) -> None:
        try:
            import pyvirtualcam
        except ImportError:
            raise VcamUnavailable(INSTALL["package"]) from None
        key = sys.platform if sys.platform in INSTALL else "linux"
        known = getattr(getattr(pyvirtualcam, "camera", None), "BACKENDS", {})
        if self.backend and self.backend not in known:
            raise VcamUnavailable(f"{INSTALL[key]} (pyvirtualcam has no backend {self.backend!r}; "
                                  f"it has: {', '.join(known) or 'none'})")
        try:
            self._cam = pyvirtualcam.Camera(self.size[0], self.size[1], self.fps, fmt=pyvirtualcam.PixelFormat.RGB,
                                            backend=self.backend, device=self.device_name)
        except Exception as e:  # pyvirtualcam raises RuntimeError (or others) when no backend works
            detail = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
            raise VcamUnavailable(f"{INSTALL[key]} (pyvirtualcam: {detail})") from None
        self.device = str(self._cam.device)
        self._thread = threading.Thread(target=self._run, name="vcam", daemon=True)
        self._thread.start()

    def submit(self, pkt) -> None:
        """Tracking thread: remember the newest images (a reference swap)."""
        with self._lock:
            self._latest = (pkt.avatar_rgb, pkt.camera_rgb)

    def _run(self) -> None:
        period, next_t = 1.0 / self.fps, time.perf_counter()
        frame = np.zeros((self.size[1], self.size[0], 3), np.uint8)
        while not self._stop.is_set():
            with self._lock:
                latest, self._latest = self._latest, None
            c0 = time.thread_time()
            try:
                if latest is not None:
                    frame = compose(latest[0], latest[1], self.size, self.mode)
                self._cam.send(frame)
                self.frames += 1
            except Exception as e:  # a device that goes away must not kill anything
                self.error = f"virtual camera stopped: {type(e).__name__}: {e}"
                log.warning(self.error)
                return
            finally:
                self.thread_cpu_s += time.thread_time() - c0
            next_t += period
            delay = next_t - time.perf_counter()
            if delay < -period:
                next_t = time.perf_counter()
            self._stop.wait(max(0.0, delay))

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._cam is not None:
            try:
                self._cam.close()
            except Exception:  # closing a vanished device
                log.exception("virtual camera close failed")
            self._cam = None
