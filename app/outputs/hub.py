"""One object the pipeline hands every TrackPacket to: VMC sender, take recorder, virtual camera.

``Outputs.submit(pkt)`` runs on the tracking thread and only puts the packet into each output's
latest-wins slot or bounded queue (microseconds); building bundles, writing files and feeding the
camera happen on each output's own thread. Switching an output on or off may happen from any
thread (the GUI's); a failure to start comes back as a message, never an exception that stops
the app. ``status()`` is what the Outputs panel and headless JSON report.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .takes import TakeError, TakeInfo, TakeRecorder
from .vcam import VcamUnavailable, VirtualCamera
from .vmc import VmcSender, VmcStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutputsStatus:
    vmc: VmcStatus | None = None
    recording: bool = False
    take: str = ""
    take_frames: int = 0
    take_dropped: int = 0
    last_take: TakeInfo | None = None
    vcam: str = "off"  # off | on: DEVICE | error text
    vcam_frames: int = 0
    messages: tuple[str, ...] = field(default_factory=tuple)


class Outputs:
    """VMC, takes and the virtual camera behind one ``submit`` (all off until switched on)."""

    def __init__(self, fps: float = 30.0) -> None:
        self.fps = float(fps or 30.0)
        self.vmc: VmcSender | None = None
        self.take: TakeRecorder | None = None
        self.vcam: VirtualCamera | None = None
        self.last_take: TakeInfo | None = None
        self.messages: list[str] = []  # what went wrong, newest last (shown once by the GUI / headless)
        self.vcam_error = ""
        self._last_vmc: VmcSender | None = None  # the stopped sender, for its final figures
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ tracking thread
    def submit(self, pkt) -> None:
        vmc, take, vcam = self.vmc, self.take, self.vcam  # reference reads: switching never races a frame
        if vmc is not None:
            vmc.submit(pkt.result, pkt.index)
        if take is not None:
            take.submit(pkt)
        if vcam is not None:
            vcam.submit(pkt)

    @property
    def active(self) -> bool:
        return self.vmc is not None or self.take is not None or self.vcam is not None

    # ------------------------------------------------------------------ switches (any thread)
    def _say(self, msg: str) -> str:
        log.warning(msg)
        self.messages.append(msg)
        del self.messages[:-20]
        return msg

    def start_vmc(self, host: str, port: int | str, perfect_sync: bool = False) -> str:
        """Start (or restart with new settings) the VMC sender. -> "" or why it did not start."""
        with self._lock:
            self._stop_vmc()
            try:
                self.vmc = VmcSender(host, port, perfect_sync)
            except ValueError as e:
                return self._say(str(e))
        return ""

    def stop_vmc(self) -> None:
        with self._lock:
            self._stop_vmc()

    def _stop_vmc(self) -> None:
        vmc, self.vmc = self.vmc, None
        if vmc is not None:
            vmc.close()
            self._last_vmc = vmc

    def start_take(self, root: str | Path | None = None, name: str | None = None) -> str:
        """Start a take in ``root`` (default: the user data folder). -> "" or why it did not start."""
        with self._lock:
            if self.take is not None:
                return ""
            try:
                self.take = TakeRecorder(root, self.fps, name)
            except TakeError as e:
                return self._say(str(e))
        return ""

    def stop_take(self) -> TakeInfo | None:
        with self._lock:
            take, self.take = self.take, None
        if take is None:
            return None
        info = take.stop()
        self.last_take = info
        if info.error:
            self._say(info.error)
        return info

    def start_vcam(self, width: int = 640, height: int = 480, mode: str = "avatar", backend: str | None = None) -> str:
        """Open the virtual camera. -> "" or the install instructions (the app keeps running)."""
        with self._lock:
            self._stop_vcam()
            cam = VirtualCamera(width, height, self.fps, mode, backend)
            try:
                cam.start()
            except Exception as e:  # VcamUnavailable says what to install; anything else must not crash a toggle
                text = str(e) if isinstance(e, VcamUnavailable) else f"virtual camera failed: {type(e).__name__}: {e}"
                self.vcam_error = text
                return self._say(text)
            self.vcam, self.vcam_error = cam, ""
        return ""

    def stop_vcam(self) -> None:
        with self._lock:
            self._stop_vcam()

    def _stop_vcam(self) -> None:
        cam, self.vcam = self.vcam, None
        if cam is not None:
            cam.close()

    # ------------------------------------------------------------------ reporting
    def status(self) -> OutputsStatus:
        vmc, take, cam = self.vmc, self.take, self.vcam
        if cam is not None:
            vcam = f"error: {cam.error}" if cam.error else f"on: {cam.device}"
        else:
            vcam = f"error: {self.vcam_error}" if self.vcam_error else "off"
        return OutputsStatus(vmc.status() if vmc is not None else None, take is not None,
                             take.name if take else "", take.frames if take else 0, take.dropped if take else 0,
                             self.last_take, vcam, cam.frames if cam else 0, tuple(self.messages))

    def summary(self) -> dict:
        """JSON-friendly figures (headless report)."""
        out: dict = {"messages": list(self.messages)}
        vmc = self.vmc or self._last_vmc
        if vmc is not None:
            v = vmc.status()
            out["vmc"] = {"host": vmc.host, "port": vmc.port, "perfect_sync": vmc.perfect_sync, "sent": v.sent,
                          "lost": v.lost, "replaced": v.replaced, "sender_cpu_s": vmc.thread_cpu_s,
                          "error": vmc.error}
        if self.last_take is not None:
            t = self.last_take
            out["take"] = {"path": str(t.path), "frames": t.frames, "seconds": t.seconds, "dropped": t.dropped,
                           "video": t.video, "error": t.error}
        return out

    def close(self) -> None:
        """Stop everything (a running take is finished and kept)."""
        self.stop_vmc()
        self.stop_take()
        self.stop_vcam()


def outputs_from_args(args, fps: float = 30.0) -> tuple[Outputs, list[str]]:
    """``--vmc HOST:PORT [--vmc-perfect-sync]`` and ``--record DIR`` -> running Outputs and the errors."""
    out, errors = Outputs(fps), []
    if getattr(args, "vmc", None):
        host, port = args.vmc
        errors += [m for m in [out.start_vmc(host, port, bool(getattr(args, "vmc_perfect_sync", False)))] if m]
    if getattr(args, "record", None):
        errors += [m for m in [out.start_take(args.record)] if m]
    return out, errors
