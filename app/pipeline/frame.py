"""One frame through the tracker and the drawing, as the tracking worker (or headless) runs it.

frame packet -> (oracle truth) -> Tracker.track -> calibration recorder -> camera overlay +
avatar image -> :class:`TrackPacket` with per-stage timings. No Qt here: the same code runs
in the GUI's tracking thread and in ``--headless``.

When the face is lost the avatar holds its last pose for ``hold_s`` seconds, then fades out
over ``fade_s``. A CUDA error during tracking moves the tracker to the CPU with a notice.
While a calibration adapts (:meth:`Pipeline.set_adapting`) the avatar view and the texture are
refreshed less often, so that the idle-priority adaptation gets more of a small CPU.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable

import cv2

from models.adapt import Recording
from models.frame_result import Prepared
from models.tracker import FrameResult, Tracker

from .calibration_recorder import CalibrationRecorder
from .defaults import CALIB_AVATAR_EVERY, CALIB_TEXTURE_EVERY
from .detectors import GroundTruthDetector
from .drawing import FrameDrawer
from .packets import FramePacket, TrackPacket, ViewOptions
from .stats import FpsMeter, StabilityWindow

log = logging.getLogger(__name__)
RecordingDone = Callable[[Recording, CalibrationRecorder], None]


class Pipeline:
    """Tracks and draws frames; owns the per-frame state (smoothing lives in the tracker)."""

    def __init__(self, tracker: Tracker, drawer: FrameDrawer | None = None, options: ViewOptions | None = None,
                 hold_s: float = 0.5, fade_s: float = 1.0) -> None:
        self.tracker = tracker
        self.drawer = drawer
        self.options = options or ViewOptions()
        self.hold_s, self.fade_s = hold_s, fade_s
        self.recorder: CalibrationRecorder | None = None
        self.on_recording_done: RecordingDone | None = None
        self.notice = drawer.notice if drawer is not None else ""
        self.fps = FpsMeter()
        self.stability = StabilityWindow()
        self._avatar: tuple | None = None  # (G, H_frame, texture, t_last_seen)
        self._last: tuple[FramePacket, FrameResult, TrackPacket] | None = None
        self.avatar_every = 1  # request a new avatar image on every n-th tracked frame
        self._frames = 0
        self._avatar_img = None  # the last avatar image, shown on the frames in between
        self._texture_every_base: int | None = None

    def set_adapting(self, on: bool) -> None:
        """While a calibration adapts: a new avatar image on every ``CALIB_AVATAR_EVERY``-th frame and
        the texture decoded on every ``CALIB_TEXTURE_EVERY``-th (z, H, G, the landmarks and the
        camera view stay per frame); ``on=False`` restores both. Plain attributes, read per frame:
        safe to call from another thread."""
        if on and self._texture_every_base is None:
            self._texture_every_base = self.tracker.texture_every
            self.tracker.texture_every = max(self._texture_every_base, CALIB_TEXTURE_EVERY)
            self.avatar_every = CALIB_AVATAR_EVERY
        elif not on and self._texture_every_base is not None:
            self.tracker.texture_every = self._texture_every_base
            self._texture_every_base = None
            self.avatar_every = 1

    def set_drawer(self, drawer: FrameDrawer | None) -> None:
        """Install the drawer (create it in the thread that runs :meth:`process`: it owns a GL context)."""
        self.drawer = drawer
        if drawer is not None and drawer.notice:
            self.notice = (self.notice + "; " if self.notice else "") + drawer.notice

    def close(self) -> None:
        """Release GL resources (call from the processing thread)."""
        if self.drawer is not None:
            self.drawer.release()
            self.drawer = None

    # ------------------------------------------------------------------ calibration recording
    def start_recording(self, seconds: float) -> None:
        self.recorder = CalibrationRecorder(seconds, self.tracker.cfg.crop_size)

    def cancel_recording(self) -> None:
        self.recorder = None

    def reset(self) -> None:
        """Forget the face track and the avatar (e.g. after a source switch)."""
        self.tracker.reset()
        self.stability.reset()
        self._avatar = None
        self._avatar_img = None

    # ------------------------------------------------------------------ frames
    def prepare(self, pkt: FramePacket) -> Prepared:
        """Stage 1 of a frame (:meth:`models.tracker.Tracker.prepare`: detector, crop, rule, gaze). It
        touches only stage-1 state, so it may run on another thread while :meth:`process` finishes the
        frame before (:class:`app.pipeline.loops.TrackingLoop` with ``two_stage``)."""
        if isinstance(self.tracker.detector, GroundTruthDetector):
            self.tracker.detector.set_truth(pkt.truth)
        return self.tracker.prepare(pkt.image, pkt.t_track)

    def process(self, pkt: FramePacket, dropped: int = 0, prepared: Callable[[], Prepared] | None = None
                ) -> TrackPacket:
        """Track (the rest of) the frame and draw it. ``prepared``: gives the frame's stage 1 when it ran
        elsewhere (its error, e.g. a CUDA one, is raised by it here); None: stage 1 runs now."""
        t_start = time.perf_counter()
        result = self._track(pkt, prepared)
        rec_state = None
        if self.recorder is not None:
            rec = self.recorder
            done = rec.add(pkt, result)
            rec_state = rec.state()
            if done:
                self.recorder = None
                if self.on_recording_done is not None:
                    self.on_recording_done(rec.recording(), rec)
        if result.found:
            self._avatar = (result.G, result.H_frame, result.texture, pkt.t_capture)
        out = self._draw(pkt, result, t_start, dropped, rec_state, fresh=True)
        self._last = (pkt, result, out)
        return out

    def redraw(self) -> TrackPacket | None:
        """Draw the last frame again with the current options (orbit or toggles while paused)."""
        if self._last is None:
            return None
        pkt, result, old = self._last
        out = self._draw(pkt, result, time.perf_counter(), old.dropped, old.recording, fresh=False)
        return dataclasses.replace(out, t_capture=old.t_capture, t_done=old.t_done, timings=old.timings,
                                   fps=old.fps, stability=old.stability)

    def _track(self, pkt: FramePacket, prepared: Callable[[], Prepared] | None = None) -> FrameResult:
        p = None
        try:
            p = prepared() if prepared is not None else self.prepare(pkt)
            result = self.tracker.finish(p)
        except RuntimeError as e:
            if "cuda" not in str(e).lower():
                raise
            first = str(e).strip().splitlines()[0][:160]
            self.tracker.fall_back_to_cpu(f"CUDA error ({first})")
            if prepared is None:  # nothing else in flight: the whole frame again on the CPU
                result = self.tracker.track(pkt.image, pkt.t_track)
            elif p is not None:  # two stages: the next frame's stage 1 may be running, so only stage 2 again
                result = self.tracker.finish(p)  # (finish moves the crop to the new device)
            else:  # its stage 1 failed on the worker: this frame is dropped, the next ones run on the CPU
                raise
        if self.tracker.notice and self.tracker.notice not in self.notice:
            self.notice = (self.notice + "; " if self.notice else "") + self.tracker.notice
        return result

    def _avatar_alpha(self, now: float) -> float:
        if self._avatar is None:
            return 0.0
        lost_for = now - self._avatar[3]
        if lost_for <= self.hold_s:
            return 1.0
        return max(0.0, 1.0 - (lost_for - self.hold_s) / self.fade_s)

    def _draw(self, pkt: FramePacket, result: FrameResult, t_start: float, dropped: int, rec_state,
              fresh: bool) -> TrackPacket:
        opts = self.options
        t0 = time.perf_counter()
        frame_rgb = cv2.cvtColor(pkt.image, cv2.COLOR_BGR2RGB)
        camera, avatar = frame_rgb, None
        if self.drawer is not None:
            if result.found:
                camera = self.drawer.camera(frame_rgb, result.G, result.H_frame, result.detected, result.box, opts,
                                            result.landmarks)
            if opts.avatar:
                self._frames += fresh
                if fresh and self._frames % self.avatar_every and self._avatar_img is not None:
                    avatar = self._avatar_img  # shedding work while a calibration adapts
                else:
                    alpha = self._avatar_alpha(pkt.t_capture)
                    G, H, T = self._avatar[:3] if self._avatar is not None else (None, None, None)
                    avatar = self.drawer.avatar(G, H, T, opts, alpha, wait=not fresh)  # a redraw waits for it
                    self._avatar_img = avatar
        t_done = time.perf_counter()
        if self.drawer is not None and self.drawer.notice and self.drawer.notice not in self.notice:
            self.notice = (self.notice + "; " if self.notice else "") + self.drawer.notice  # e.g. a helper failed
        timings = {"capture": pkt.capture_ms, **result.timings, "render": 1e3 * (t_done - t0),
                   "total": 1e3 * (t_done - t_start), "latency": 1e3 * (t_done - pkt.t_capture)}
        fps = self.fps.tick(t_done) if fresh else 0.0
        stability = self.stability.add(result.G if result.found else None) if fresh else float("nan")
        return TrackPacket(pkt.index, pkt.position, pkt.t_capture, t_done, result, camera, avatar, timings, fps,
                           dropped, stability, result.message, self.notice, rec_state, pkt.source)
