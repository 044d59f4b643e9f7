"""``--progress PATH``: one JSON line every few seconds while a headless run goes on (for soaks).

Each line: ``t`` seconds since the start, ``frames`` tracked so far, ``captured``, ``dropped``
(mailbox + rate cap), ``fps`` over the interval, ``rss_mb`` of this process (Linux ``/proc``;
None elsewhere), ``final`` (the line written once the run's loop has ended). The file is opened,
appended and closed per line, so a reader (``bench.soak``) sees whole lines and a killed run
leaves what it wrote.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path


def rss_mb(pid: int | str = "self") -> float | None:
    """Resident set size of a process in MB (``/proc/PID/status`` VmRSS), None where unknown."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


class ProgressLog:
    """Appends a line to ``path`` at most every ``every`` seconds (``path`` None: does nothing)."""

    def __init__(self, path: str | os.PathLike | None, every: float = 5.0) -> None:
        self.path = Path(path) if path else None
        self.every = float(every)
        self.t0 = time.perf_counter()
        self._last_t, self._last_frames = self.t0, 0
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text("")

    def tick(self, frames: int, captured: int, dropped: int, final: bool = False,
             extra: dict | None = None) -> dict | None:
        """Write a line if ``every`` seconds have passed (or ``final``: the last line, after the run's
        loop ended, marked ``"final": true``), with the ``extra`` keys; -> the line's dict or None."""
        now = time.perf_counter()
        if self.path is None or (not final and now - self._last_t < self.every):
            return None
        dt = max(now - self._last_t, 1e-9)
        row = {"t": now - self.t0, "frames": frames, "captured": captured, "dropped": dropped,
               "fps": (frames - self._last_frames) / dt, "rss_mb": rss_mb(), "final": final, **(extra or {})}
        self._last_t, self._last_frames = now, frames
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")
        return row
