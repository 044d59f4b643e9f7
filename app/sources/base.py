"""What every frame source shares: the :class:`FrameSource` protocol, :class:`Grab`, the typed
failures, :class:`SourceSpec` (``--source``) and :class:`ArraySource` (in-memory frames).

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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

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


def as_bgr(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(frame)
