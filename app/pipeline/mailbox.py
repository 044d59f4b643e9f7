"""Latest-frame-wins slot between the capture worker and the tracking worker.

One slot, never a queue: ``put`` replaces a frame the consumer has not taken yet and counts
it as dropped, so the tracker always works on the newest frame and latency cannot grow.
``put(..., wait=True)`` instead waits until the slot is free (lossless replay of a video
file, e.g. for ``--tracks``). Thread-safe; ``close`` wakes every waiter.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class Mailbox(Generic[T]):
    """A single-slot, latest-wins mailbox with a dropped-frame counter."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._closed = False
        self.dropped = 0  # items replaced before anyone took them
        self.put_count = 0
        self.taken = 0

    def put(self, item: T, wait: bool = False, timeout: float | None = None) -> bool:
        """Offer the newest item. Returns False when closed (or when ``wait`` timed out)."""
        with self._cond:
            if wait and not self._cond.wait_for(lambda: self._item is None or self._closed, timeout):
                return False
            if self._closed:
                return False
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self.put_count += 1
            self._cond.notify_all()
            return True

    def take(self, timeout: float | None = None) -> T | None:
        """The newest item (emptying the slot), or None on timeout / when closed and empty."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._item is not None or self._closed, timeout):
                return None
            item, self._item = self._item, None
            if item is not None:
                self.taken += 1
            self._cond.notify_all()
            return item

    def peek_pending(self) -> bool:
        """True when an item waits in the slot."""
        with self._cond:
            return self._item is not None

    def clear(self) -> None:
        """Drop a pending item without counting it (e.g. on a source switch)."""
        with self._cond:
            self._item = None
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def reopen(self) -> None:
        with self._cond:
            self._closed = False
            self._item = None

    @property
    def closed(self) -> bool:
        return self._closed
