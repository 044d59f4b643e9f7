"""Frozen packets that travel between threads (capture -> tracking -> GUI, calibration -> GUI).

Arrays inside a packet are never written after the packet is built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from models.tracker import FrameResult

STAGES = ("capture", "detect", "crop", "encoder", "decoder", "colour", "render")


@dataclass(frozen=True)
class FramePacket:
    """One captured frame. image (H, W, 3) BGR uint8; truth (K, 68, 2) or None."""

    index: int  # capture counter, consecutive for consecutive camera frames
    t_capture: float  # time.perf_counter() when the frame was ready
    image: np.ndarray
    capture_ms: float  # time spent reading/rendering the frame
    truth: np.ndarray | None = None
    position: int = -1  # frame number in a video file
    source: str = ""
    t_media: float = -1.0  # position / fps for sources that number their frames (files, the actor); -1: cameras

    @property
    def t_track(self) -> float:
        """The time the tracker's output filter sees: the source's own time where it has one (a
        file then tracks the same however fast it is read), else the capture time."""
        return self.t_media if self.t_media >= 0 else self.t_capture


@dataclass(frozen=True)
class ViewOptions:
    """What the tracking worker draws: camera overlays and the avatar view."""

    landmarks: bool = True  # 68 model landmarks, projected
    detected: bool = False  # detector points
    wireframe: bool = False  # mesh wireframe over the camera
    salient: bool = False  # salient points (moles)
    box: bool = True  # face box
    avatar: bool = True  # render the avatar at all
    avatar_mode: str = "posed"  # "posed" (head pose as in camera) | "frontal"
    avatar_wireframe: bool = False
    yaw: float = 0.0  # orbit (radians) on top of the mode's pose
    pitch: float = 0.0
    zoom: float = 1.0
    avatar_size: int = 360


@dataclass(frozen=True)
class RecordingState:
    """Calibration recording progress, carried by every TrackPacket while recording."""

    elapsed: float
    seconds: float
    frames: int


@dataclass(frozen=True)
class TrackPacket:
    """Everything the GUI shows for one frame. camera_rgb (H, W, 3), avatar_rgb (s, s, 3) RGB uint8."""

    index: int
    position: int
    t_capture: float
    t_done: float
    result: FrameResult
    camera_rgb: np.ndarray
    avatar_rgb: np.ndarray | None
    timings: dict = field(default_factory=dict)  # ms per stage (STAGES) + "total" + "latency"
    fps: float = 0.0
    dropped: int = 0
    stability: float = math.nan  # rolling temporal stability (Eq. 10) of G
    status: str = ""  # what the overlay says ("no face in view", "2 faces ...")
    notice: str = ""  # device/model notices (CUDA fallback ...)
    recording: RecordingState | None = None
    source: str = ""

    @property
    def latency_ms(self) -> float:
        return 1e3 * (self.t_done - self.t_capture)


@dataclass(frozen=True)
class CalibProgress:
    """Adaptation progress: step of steps, elapsed and remaining seconds, training losses."""

    step: int
    steps: int
    elapsed: float
    remaining: float
    losses: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CalibOutcome:
    """How a calibration ended. ``verdict``: accepted | kept the current model | cancelled | failed."""

    verdict: str
    reason: str
    accepted: bool = False
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)
    seconds: float = 0.0
    frames: int = 0
    valid_frames: int = 0
    profile: str | None = None  # name of the saved room profile
    save_error: str = ""

    def summary(self) -> dict:
        """JSON-friendly dict (NaN -> None)."""
        clean = lambda d: {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}
        return {"verdict": self.verdict, "reason": self.reason, "accepted": self.accepted,
                "before": clean(self.before), "after": clean(self.after), "seconds": self.seconds,
                "frames": self.frames, "valid_frames": self.valid_frames, "profile": self.profile,
                "save_error": self.save_error}
