"""Frame sources that block like a stuck camera driver (importable by a helper process:
:class:`app.sources.process.ProcessSource` pickles them by module path)."""

from __future__ import annotations

import threading
import time

import numpy as np

from app.sources import Grab


class HangingSource:
    """``start_s`` seconds to open, then ``frames`` frames, then every read blocks for ``hang_s``
    seconds (or until ``release`` is set, in-process)."""

    paced = False

    def __init__(self, width: int = 64, height: int = 48, frames: int = 1, hang_s: float = 120.0,
                 start_s: float = 0.0) -> None:
        self.name, self.fps = "hanging", 30.0
        self.shape, self.frames, self.hang_s, self.start_s = (height, width, 3), frames, hang_s, start_s
        self.release = threading.Event()
        self.reads = 0
        self.blocked = threading.Event()  # set while a read hangs

    def open(self) -> None:
        time.sleep(self.start_s)

    def read(self) -> Grab:
        self.reads += 1
        if self.reads > self.frames:
            self.blocked.set()
            self.release.wait(self.hang_s)
            self.blocked.clear()
        return Grab(np.full(self.shape, 80, np.uint8))

    def close(self) -> None:
        pass
