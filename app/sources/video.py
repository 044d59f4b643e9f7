"""A video file as a :class:`~app.sources.base.FrameSource`, played at its own frame rate."""

from __future__ import annotations

import os
from pathlib import Path

import cv2

from models.data import clean_fps

from .base import Grab, SourceEnded, SourceLost, SourceUnavailable, as_bgr


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
        return Grab(as_bgr(frame), position=pos)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
