"""Two-stage tracking: frame t+1's detector runs while frame t's networks run (issue 16, item 3).

:meth:`models.tracker.Tracker.track` is :meth:`~Tracker.prepare` (detector, box, crop, landmark
rule, gaze: dlib and numpy) followed by :meth:`~Tracker.finish` (E_I, D, C through ONNX Runtime or
torch, the output filter, the projection). The two halves touch disjoint tracker state, and the
networks release the GIL while they run, so on two cores they can overlap:

    caller:  finish(t-1)  | finish(t)    | finish(t+1) ...
    worker:  prepare(t)   | prepare(t+1) | prepare(t+2) ...

Throughput rises towards 1 / max(stage 1, stage 2) instead of 1 / (stage 1 + stage 2). Each
result comes one step later than its frame was handed in: the latency of a frame is one
stage-1 time longer in the worst case, and the newest frame is still the one handed in (there
is no queue, a step waits for its own stage 1).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from .frame_result import FrameResult


class TwoStage:
    """Runs a tracker's two stages on overlapping frames (module docstring). Frames are finished in
    the order they were handed in; at most the handed-in frames are in flight (no queue of its own:
    the caller decides how many, :meth:`step` keeps two)."""

    def __init__(self, tracker) -> None:
        self.tracker = tracker
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="track-prepare")
        self._pending: deque[tuple[Future, Any]] = deque()

    @property
    def in_flight(self) -> int:
        """Frames handed in and not finished yet."""
        return len(self._pending)

    def _prepare(self, frame: np.ndarray, timestamp: float | None, before: Callable[[], None] | None):
        if before is not None:
            before()  # e.g. give a ground-truth detector this frame's truth, in stage 1's thread
        return self.tracker.prepare(frame, timestamp)

    def submit(self, frame: np.ndarray, timestamp: float | None = None, tag: Any = None,
               before: Callable[[], None] | None = None) -> None:
        """Hand in a frame: its stage 1 starts on the worker (after the frames handed in before it)."""
        self._pending.append((self._pool.submit(self._prepare, frame, timestamp, before), tag))

    def finish_oldest(self) -> tuple[Any, FrameResult] | None:
        """Finish the oldest frame in flight in the calling thread. -> (its tag, its FrameResult), None
        when nothing is in flight. Its stage-1 error is raised here."""
        if not self._pending:
            return None
        fut, tag = self._pending.popleft()
        return tag, self.tracker.finish(fut.result())

    def step(self, frame: np.ndarray, timestamp: float | None = None, tag: Any = None,
             before: Callable[[], None] | None = None) -> tuple[Any, FrameResult] | None:
        """Hand in a frame and finish the one handed in before it (their stages overlap). -> that
        frame's (tag, FrameResult), or None on the first step."""
        self.submit(frame, timestamp, tag, before)
        return self.finish_oldest() if len(self._pending) > 1 else None

    def flush(self) -> tuple[Any, FrameResult] | None:
        """Finish the oldest frame still in flight (None when there is none)."""
        return self.finish_oldest()

    def drop(self) -> None:
        """Wait for the frames in flight and forget them (before a reset or a tracker swap)."""
        while self._pending:
            try:
                self._pending.popleft()[0].result()
            except Exception:  # noqa: BLE001  (its frame is dropped: so is its error)
                pass

    def close(self) -> None:
        self.drop()
        self._pool.shutdown(wait=True)
