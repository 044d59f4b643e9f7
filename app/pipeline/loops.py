"""The capture and tracking loops, free of Qt (the GUI's QThread workers and headless share them).

:class:`CaptureLoop` reads a source at its pace and posts :class:`FramePacket` s into the
latest-frame-wins mailbox; failures become events (``unavailable``, ``lost``, ``recovered``,
``ended``, ``notice``) and a lost camera is retried every ``retry_s`` seconds.
:class:`TrackingLoop` takes the newest packet, runs the pipeline and hands the result on;
``call_soon`` runs a function in the tracking thread between two frames.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import cv2
import torch

from ..sources import FrameSource, SourceEnded, SourceLost, SourceUnavailable
from .frame import Pipeline
from .mailbox import Mailbox
from .packets import FramePacket, TrackPacket

log = logging.getLogger(__name__)
EventFn = Callable[[str, str], None]


class CaptureLoop:
    """Drives one source until ``stop`` is set, the source ends, or it cannot be opened.

    To end it from another thread: set ``stop``, then call :meth:`interrupt`, which makes a source
    blocked in ``open()``/``read()`` return (sources that can: :class:`app.sources.process.ProcessSource`).
    Failures that follow a stop are not reported (they are the stop, not a broken source).
    """

    def __init__(self, source: FrameSource, mailbox: Mailbox[FramePacket], on_event: EventFn | None = None,
                 lossless: bool = False, retry_s: float = 2.0, mirror: Callable[[], bool] = lambda: False,
                 max_frames: int | None = None) -> None:
        self.source, self.mailbox, self.lossless = source, mailbox, lossless
        self.on_event = on_event or (lambda kind, msg: None)
        self.retry_s, self.mirror, self.max_frames = retry_s, mirror, max_frames
        self.frames = 0
        self.state = "idle"

    def interrupt(self) -> None:
        """Thread-safe: wake a source blocked in ``open()``/``read()`` (after setting ``stop``)."""
        interrupt = getattr(self.source, "interrupt", None)
        if interrupt is not None:
            interrupt()

    def run(self, stop: threading.Event) -> None:
        if stop.is_set():
            return
        try:
            self.source.open()
        except SourceUnavailable as e:
            self.state = "unavailable"
            if not stop.is_set():
                self.on_event("unavailable", str(e))
            return
        notice = getattr(self.source, "notice", "")
        if notice:
            self.on_event("notice", notice)
        self.state = "running"
        try:
            self._loop(stop)
        finally:
            self.source.close()

    def _loop(self, stop: threading.Event) -> None:
        fps = float(getattr(self.source, "fps", 0.0) or 0.0)
        period = 1.0 / fps if self.source.paced and fps > 0 else 0.0
        next_t = time.perf_counter()
        while not stop.is_set() and (self.max_frames is None or self.frames < self.max_frames):
            t0 = time.perf_counter()
            try:
                grab = self.source.read()
            except SourceEnded as e:
                self.state = "ended"
                self.on_event("ended", str(e))
                return
            except SourceLost as e:
                if stop.is_set() or not self._recover(stop, str(e)):
                    return
                next_t = time.perf_counter()
                continue
            except Exception as e:  # a broken source must not die silently
                if stop.is_set():
                    return
                log.exception("capture failed")
                self.state = "failed"
                self.on_event("failed", f"{self.source.name} failed ({type(e).__name__}: {e})")
                return
            t1 = time.perf_counter()
            image = cv2.flip(grab.image, 1) if self.mirror() else grab.image
            truth = grab.truth
            if truth is not None and image is not grab.image and len(truth):
                truth = truth.copy()
                truth[..., 0] = image.shape[1] - 1 - truth[..., 0]
            t_media = grab.position / fps if grab.position >= 0 and fps > 0 else -1.0
            pkt = FramePacket(self.frames, t1, image, 1e3 * (t1 - t0), truth, grab.position, self.source.name, t_media)
            self.frames += 1
            if not self._post(pkt, stop):
                return  # closed or stopped
            if period:
                next_t += period
                delay = next_t - time.perf_counter()
                if delay > 0:
                    stop.wait(delay)
                elif delay < -period:  # fell behind (slow source): do not try to catch up
                    next_t = time.perf_counter()

    def _post(self, pkt: FramePacket, stop: threading.Event) -> bool:
        """Into the mailbox; lossless: wait (in slices, so that ``stop`` ends the wait) until it is free."""
        if not self.lossless:
            return self.mailbox.put(pkt)
        while not stop.is_set():
            if self.mailbox.put(pkt, wait=True, timeout=0.1):
                return True
            if self.mailbox.closed:
                return False
        return False

    def _recover(self, stop: threading.Event, why: str) -> bool:
        """Source lost: report, retry opening every ``retry_s`` until it works or ``stop``."""
        self.state = "lost"
        self.on_event("lost", f"{why}; retrying every {self.retry_s:g} s")
        self.source.close()
        while not stop.wait(self.retry_s):
            try:
                self.source.open()
            except SourceUnavailable:
                continue
            self.state = "running"
            self.on_event("recovered", f"{self.source.name} is back")
            return True
        return False


class TrackingLoop:
    """Takes the newest frame, runs the pipeline, hands the packet to ``on_packet``.

    ``two_stage``: stage 1 of a frame (:meth:`Pipeline.prepare`: detector, crop, rule, gaze) runs on a
    worker thread while this thread finishes the frame before it (networks, filters, drawing), as
    :mod:`models.two_stage` does: each step hands in the newest frame *if one is already waiting* and
    finishes the one in flight, so a camera slower than the tracker never waits for a next frame (its
    frames go through alone, one thread hand-over later), and one faster than it gets both cores.
    Commands (:meth:`call_soon`: a swap, a reset, a setting) run only with no frame in flight.
    """

    def __init__(self, pipeline: Pipeline, mailbox: Mailbox[FramePacket], on_packet: Callable[[TrackPacket], None],
                 on_error: Callable[[str], None] | None = None, threads: int = 1, two_stage: bool = False) -> None:
        self.pipeline, self.mailbox, self.on_packet = pipeline, mailbox, on_packet
        self.threads = threads
        self.two_stage = bool(two_stage)
        self._pool: ThreadPoolExecutor | None = None  # the stage-1 worker (two_stage)
        self._inflight: tuple[FramePacket, Future] | None = None  # a frame whose stage 1 was handed in
        self.overlapped = 0  # frames whose stage 1 ran beside the previous frame's stage 2
        self.on_error = on_error or (lambda msg: log.error(msg))
        self._calls: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self.processed = 0
        self._errors = 0
        # frames per second at most (None: every frame). Set while a calibration adapts: the
        # adaptation runs at idle priority, and a tracker that could take every core (a 60 FPS
        # camera on 2 cores) starved it: 263 s instead of 135 s (measured, docs/app.md). A frame
        # captured less than 0.6 / rate_cap s after the last tracked one is skipped (counted as
        # dropped), so a camera at or below the cap is never touched and nothing waits.
        self.rate_cap: float | None = None
        self.capped = 0  # frames skipped by the cap
        self._t_cap_last = -1e9

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` in the tracking thread before the next frame."""
        self._calls.put(fn)

    def _run_calls(self) -> None:
        calls = []
        while True:  # take the queued commands first: one queued after this look runs next step
            try:
                calls.append(self._calls.get_nowait())
            except queue.Empty:
                break
        if calls and self._inflight is not None:  # commands never run beside a frame's stage 1
            item, self._inflight = self._inflight, None
            self._complete(item)
        for fn in calls:
            try:
                fn()
            except Exception as e:  # a failed command must not kill tracking
                log.exception("tracking-thread command failed")
                self.on_error(f"{type(e).__name__}: {e}")

    def set_threads(self) -> None:
        """Intra-op threads of torch for the calling thread. 1 by default: on a 2-core machine the
        capture, GUI and calibration threads need the other core, and 2 OpenMP threads that
        wait for each other under load are slower than 1 (measured: docs/app.md)."""
        torch.set_num_threads(max(1, int(self.threads)))

    @property
    def in_flight(self) -> bool:
        """A frame's stage 1 was handed in and the frame is not finished yet (two_stage)."""
        return self._inflight is not None

    def _take(self, timeout: float) -> FramePacket | None:
        """The newest frame, or None (none within ``timeout``, or skipped by the rate cap)."""
        pkt = self.mailbox.take(timeout)
        if pkt is None:
            return None
        cap = self.rate_cap
        if cap and pkt.t_capture - self._t_cap_last < 0.6 / cap:  # 0.6: room for capture jitter
            self.capped += 1
            return None
        self._t_cap_last = pkt.t_capture
        return pkt

    def step(self, timeout: float = 0.1) -> TrackPacket | None:
        """Process at most one frame (after pending commands). With ``two_stage`` the frame finished is
        the one handed in at the step before (the newest frame is handed in first)."""
        self._run_calls()
        if not self.two_stage:
            pkt = self._take(timeout)
            return None if pkt is None else self._complete((pkt, None))
        old = self._inflight
        pkt = self._take(0.0 if old is not None else timeout)  # with a frame in flight: only one already here
        self._inflight = None
        if pkt is not None:
            if self._pool is None:  # the stage-1 worker counts torch threads like this one
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="track-stage1", initializer=self.set_threads)
            self._inflight = (pkt, self._pool.submit(self.pipeline.prepare, pkt))
            self.overlapped += old is not None
        return None if old is None else self._complete(old)

    def _complete(self, item: tuple[FramePacket, Future | None]) -> TrackPacket | None:
        pkt, fut = item
        try:
            dropped = self.mailbox.dropped + self.capped
            if fut is None:
                out = self.pipeline.process(pkt, dropped)
            else:
                out = self.pipeline.process(pkt, dropped, fut.result)
        except Exception as e:
            self._errors += 1
            log.exception("tracking failed on frame %d", pkt.index)
            if self._errors <= 3 or self._errors % 100 == 0:
                self.on_error(f"tracking failed on a frame ({type(e).__name__}: {e}); continuing")
            return None
        self.processed += 1
        self.on_packet(out)
        return out

    def run(self, stop: threading.Event) -> None:
        self.set_threads()
        try:
            while not stop.is_set():
                self.step()
        finally:
            self.close()
        self._run_calls()

    def close(self) -> None:
        """Drop a frame still in flight (its stage 1 is waited for) and end the stage-1 worker."""
        if self._inflight is not None:
            try:
                self._inflight[1].result()
            except Exception:  # noqa: BLE001  (its frame is dropped: so is its error)
                pass
            self._inflight = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
