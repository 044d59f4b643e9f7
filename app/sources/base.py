"""Frame sources behind one protocol: webcam, video file, synthetic actor, in-memory frames.

A source is opened, read frame by frame and closed by the capture worker (never by the
GUI thread). ``read()`` returns one :class:`Grab`: a BGR uint8 image and, for synthetic
sources, the ground-truth 68 landmarks of every face in it (tests and the oracle detector
use them; the tracker never sees them otherwise).

Failures are typed so that the GUI can offer the right action:

* :class:`SourceUnavailable` - cannot be opened at all (no camera, unreadable or corrupt
  video, unknown room); the message says what to try instead;
* :class:`SourceLost` - it was working and stopped delivering (camera unplugged);
  the capture worker retries opening it;
* :class:`SourceEnded` - end of a video file when looping is off.
"""

from __future__ import annotations

import glob
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from models.data import clean_fps

SOURCE_KINDS = ("webcam", "video", "synthetic")


class SourceError(RuntimeError):
    """Base class of source failures; the message is written for the user."""


class SourceUnavailable(SourceError):
    """The source cannot be opened (no camera, bad file, unknown room)."""


class SourceLost(SourceError):
    """The source stopped delivering frames (e.g. the camera was unplugged)."""


class SourceEnded(SourceError):
    """A video file reached its end and looping is off."""


@dataclass(frozen=True)
class SourceSpec:
    """What ``--source`` names: ``webcam[:INDEX]``, ``video:PATH`` or ``synthetic[:ROOM]``."""

    kind: str
    index: int = 0
    path: str = ""
    room: str = "lab"

    @classmethod
    def parse(cls, text: str) -> SourceSpec:
        kind, _, arg = text.partition(":")
        kind = kind.strip().lower()
        if kind == "webcam":
            try:
                return cls("webcam", index=int(arg) if arg else 0)
            except ValueError:
                raise ValueError(f"webcam index must be a number, got {arg!r} (e.g. webcam:1)") from None
        if kind == "video":
            if not arg:
                raise ValueError("video needs a path: video:PATH")
            return cls("video", path=arg)
        if kind == "synthetic":
            return cls("synthetic", room=arg or "lab")
        raise ValueError(f"unknown source {text!r}; use webcam[:INDEX], video:PATH or synthetic[:ROOM]")

    def __str__(self) -> str:
        return {"webcam": f"webcam:{self.index}", "video": f"video:{self.path}",
                "synthetic": f"synthetic:{self.room}"}[self.kind]


@dataclass(frozen=True)
class Grab:
    """One frame as read from a source. image (H, W, 3) BGR uint8; truth (K, 68, 2) frame
    pixels or None (ground truth, synthetic sources only; K = 0 means no face)."""

    image: np.ndarray
    truth: np.ndarray | None = None
    position: int = -1  # frame number inside a video file, else -1


class FrameSource(Protocol):
    """What the capture worker drives. ``fps`` is the native rate (0 = unknown)."""

    name: str
    fps: float
    paced: bool  # True: the worker must sleep to keep ``fps`` (files, synthetic); False: read() blocks

    def open(self) -> None: ...

    def read(self) -> Grab: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------------------- webcam
def list_cameras(max_index: int = 8) -> list[int]:
    """Camera indices that exist on this machine (cheap: looks at /dev/video* on Linux and
    only probes with OpenCV elsewhere)."""
    if sys.platform.startswith("linux"):
        found = sorted(int(p[len("/dev/video"):]) for p in glob.glob("/dev/video*") if p[10:].isdigit())
        return [i for i in found if i < max_index * 4]
    out = []
    for i in range(max_index):
        cap = cv2.VideoCapture(i)
        if cap.isOpened():
            out.append(i)
        cap.release()
    return out


class WebcamSource:
    """A camera through OpenCV. ``capture_factory(index)`` is injectable for tests."""

    paced = False

    def __init__(self, index: int = 0, width: int = 640, height: int = 480, fps: float = 30.0,
                 capture_factory: Callable[[int], object] | None = None, max_failures: int = 10) -> None:
        self.index, self.width, self.height, self.fps = index, width, height, fps
        self.name = f"webcam:{index}"
        self._factory = capture_factory or cv2.VideoCapture
        self._cap: object | None = None
        self.max_failures = max_failures

    def open(self) -> None:
        if self._factory is cv2.VideoCapture and sys.platform.startswith("linux") \
                and not os.path.exists(f"/dev/video{self.index}"):
            raise SourceUnavailable(f"no camera found at index {self.index} (/dev/video{self.index} does not "
                                    "exist); open a video file or use the synthetic actor instead")
        cap = self._factory(self.index)
        if not cap.isOpened():  # type: ignore[attr-defined]
            raise SourceUnavailable(f"camera {self.index} could not be opened (missing, busy or no permission); "
                                    "open a video file or use the synthetic actor instead")
        for prop, v in ((cv2.CAP_PROP_FRAME_WIDTH, self.width), (cv2.CAP_PROP_FRAME_HEIGHT, self.height),
                        (cv2.CAP_PROP_FPS, self.fps)):
            cap.set(prop, v)  # type: ignore[attr-defined]
        self._cap = cap

    def read(self) -> Grab:
        if self._cap is None:
            raise SourceLost(f"camera {self.index} is not open")
        for _ in range(self.max_failures):
            ok, frame = self._cap.read()  # type: ignore[attr-defined]
            if ok and frame is not None:
                return Grab(_as_bgr(frame))
            time.sleep(0.01)
        self.close()
        raise SourceLost(f"camera {self.index} stopped delivering frames (unplugged?)")

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()  # type: ignore[attr-defined]
            self._cap = None


# ---------------------------------------------------------------------------- video
class VideoSource:
    """A video file played at its own frame rate; ``loop`` restarts at the end."""

    paced = True

    def __init__(self, path: str | os.PathLike, loop: bool = True) -> None:
        self.path, self.loop = Path(path), loop
        self.name = f"video:{self.path.name}"
        self.fps = 30.0
        self.frame_count = 0
        self._cap: cv2.VideoCapture | None = None
        self._pos = 0

    def open(self) -> None:
        if not self.path.is_file():
            raise SourceUnavailable(f"video file {self.path} does not exist")
        cap = cv2.VideoCapture(str(self.path))
        ok, first = cap.read() if cap.isOpened() else (False, None)
        if not ok or first is None:
            cap.release()
            raise SourceUnavailable(f"cannot read video {self.path}: not a video OpenCV can decode, or corrupt; "
                                    "choose another file or use the synthetic actor")
        self.fps = clean_fps(cap.get(cv2.CAP_PROP_FPS))
        self.frame_count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self._cap, self._pending, self._pos = cap, first, 0

    def read(self) -> Grab:
        if self._cap is None:
            raise SourceLost(f"video {self.path} is not open")
        if self._pending is not None:
            frame, self._pending = self._pending, None
        else:
            ok, frame = self._cap.read()
            if not ok or frame is None:
                if self._pos == 0:
                    raise SourceUnavailable(f"video {self.path} has no readable frames")
                if not self.loop:
                    raise SourceEnded(f"end of video {self.path.name} ({self._pos} frames)")
                self._cap.release()
                self.open()
                return self.read()
        pos = self._pos
        self._pos += 1
        return Grab(_as_bgr(frame), position=pos)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


# ---------------------------------------------------------------------------- memory
class ArraySource:
    """Frames (and optional truths) from memory; for tests and replays. ``fail_after``
    raises :class:`SourceLost` once after that many frames (a fake unplugged camera)."""

    def __init__(self, frames: Sequence[np.ndarray], truths: Sequence[np.ndarray | None] | None = None,
                 fps: float = 30.0, loop: bool = True, name: str = "frames", paced: bool = True,
                 fail_after: int | None = None) -> None:
        self.frames, self.truths = list(frames), list(truths) if truths is not None else None
        self.fps, self.loop, self.name, self.paced = fps, loop, name, paced
        self.fail_after = fail_after
        self.opened = 0
        self.reads = 0
        self._i = 0

    def open(self) -> None:
        if not self.frames:
            raise SourceUnavailable(f"{self.name}: no frames")
        self.opened += 1

    def read(self) -> Grab:
        self.reads += 1
        if self.fail_after is not None and self.reads > self.fail_after:
            self.fail_after = None
            raise SourceLost(f"{self.name} stopped delivering frames (unplugged?)")
        if self._i >= len(self.frames):
            if not self.loop:
                raise SourceEnded(f"end of {self.name}")
            self._i = 0
        i = self._i
        self._i += 1
        truth = self.truths[i % len(self.truths)] if self.truths else None
        return Grab(self.frames[i], truth, position=i)

    def close(self) -> None:
        pass


def _as_bgr(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(frame)


def make_source(spec: SourceSpec, loop_video: bool = True, width: int = 640, height: int = 480,
                fps: float = 30.0, isolate: bool = True) -> FrameSource:
    """Build (not open) the source a spec names. ``isolate``: render the synthetic actor in a child
    process (:mod:`app.process_source`) so that its OpenGL calls never hold this process's GIL."""
    if spec.kind == "webcam":
        return WebcamSource(spec.index, width, height, fps)
    if spec.kind == "video":
        return VideoSource(spec.path, loop=loop_video)
    from functools import partial

    from .synthetic import ALIASES, ROOM_NAMES, SyntheticSource

    if not isolate or ALIASES.get(spec.room, spec.room) not in ROOM_NAMES:  # unknown rooms fail fast in open()
        return SyntheticSource(spec.room, width=width, height=height, fps=fps)
    from .process_source import ProcessSource

    factory = partial(SyntheticSource, spec.room, width=width, height=height, fps=fps)
    return ProcessSource(factory, width, height, name=str(spec))
