"""Running figures: FPS, per-stage latency percentiles, rolling temporal stability (Eq. 10)."""

from __future__ import annotations

import math
from collections import deque

import numpy as np


class FpsMeter:
    """Frames per second over the last ``window`` seconds."""

    def __init__(self, window: float = 1.0) -> None:
        self.window = window
        self._t: deque[float] = deque()

    def tick(self, t: float) -> float:
        self._t.append(t)
        while self._t and t - self._t[0] > self.window:
            self._t.popleft()
        if len(self._t) < 2:
            return 0.0
        return (len(self._t) - 1) / max(self._t[-1] - self._t[0], 1e-9)


class StageStats:
    """Collects per-stage milliseconds; ``summary()`` gives p50/p95/mean per stage."""

    def __init__(self) -> None:
        self.values: dict[str, list[float]] = {}

    def add(self, timings: dict[str, float]) -> None:
        for k, v in timings.items():
            if v is not None and math.isfinite(v):
                self.values.setdefault(k, []).append(float(v))

    def summary(self, keys: tuple[str, ...] | None = None) -> dict[str, dict[str, float | None]]:
        out: dict[str, dict[str, float | None]] = {}
        for k in keys if keys is not None else tuple(self.values):
            v = np.asarray(self.values.get(k, []), np.float64)
            out[k] = {"p50": float(np.percentile(v, 50)) if len(v) else None,
                      "p95": float(np.percentile(v, 95)) if len(v) else None,
                      "mean": float(v.mean()) if len(v) else None, "n": int(len(v))}
        return out


class StabilityWindow:
    """Rolling temporal stability of G (paper Eq. 10) over the last ``n`` frames.

    Per frame t-1 it needs G_{t-2}, G_{t-1}, G_t; a lost face restarts the window.
    """

    def __init__(self, n: int = 30, eps: float = 1e-8) -> None:
        self.n, self.eps = n, eps
        self._G: deque[np.ndarray] = deque(maxlen=3)
        self._s: deque[float] = deque(maxlen=n)

    def reset(self) -> None:
        self._G.clear()
        self._s.clear()

    def add(self, G: np.ndarray | None) -> float:
        if G is None:
            self.reset()
            return math.nan
        self._G.append(np.asarray(G, np.float32))
        if len(self._G) == 3:
            a, b, c = self._G
            fwd = np.linalg.norm(c - b, axis=-1)
            bwd = np.linalg.norm(b - a, axis=-1)
            span = np.linalg.norm(c - a, axis=-1)
            self._s.append(float(((fwd + bwd) / (span + self.eps)).mean()))
        return float(np.mean(self._s)) if self._s else math.nan
