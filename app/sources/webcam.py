"""Cameras through OpenCV: which exist, and one as a :class:`~app.sources.base.FrameSource`."""

from __future__ import annotations

import glob
import os
import sys
import time
from collections.abc import Callable

import cv2

from .base import Grab, SourceLost, SourceUnavailable, as_bgr


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
                return Grab(as_bgr(frame))
            time.sleep(0.01)
        self.close()
        raise SourceLost(f"camera {self.index} stopped delivering frames (unplugged?)")

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()  # type: ignore[attr-defined]
            self._cap = None
