"""Running figures: FPS, per-stage latency percentiles (bounded memory), rolling temporal stability (Eq. 10)."""

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


class StreamingQuantiles:
    """p50/p95/mean of a stream of non-negative values (milliseconds) in bounded memory.

    The first ``exact`` values are kept as they are, and then ``percentile`` is numpy's (linear
    interpolation). Beyond that they move into a histogram of ``bins`` log-spaced bins from ``lo``
    to ``hi`` (ratio ``r`` between edges, 1.01 by default): memory stops growing (~17 KB), and a
    percentile is interpolated inside its bin, so it is off by at most ``r - 1`` (1 %) relative
    (values below ``lo`` count as ``lo``, above ``hi`` as ``hi``; the result is clamped to the
    exact min and max). ``n``, ``mean``, ``min`` and ``max`` stay exact.
    """

    def __init__(self, exact: int = 2048, lo: float = 1e-3, hi: float = 1e6, r: float = 1.01) -> None:
        self.exact, self.lo, self.hi = int(exact), float(lo), float(hi)
        self._log_r = math.log(r)
        self.bins = int(math.ceil(math.log(self.hi / self.lo) / self._log_r)) + 1
        self._values: list[float] | None = []
        self._hist: np.ndarray | None = None
        self.n, self.total = 0, 0.0
        self.min, self.max = math.inf, -math.inf

    def add(self, v: float) -> None:
        v = float(v)
        self.n += 1
        self.total += v
        self.min, self.max = min(self.min, v), max(self.max, v)
        if self._values is not None:
            self._values.append(v)
            if len(self._values) > self.exact:
                self._hist = np.zeros(self.bins, np.int64)
                np.add.at(self._hist, self._bin(np.asarray(self._values)), 1)
                self._values = None
        else:  # scalar path: math, not numpy (~10x cheaper per value)
            x = math.log(min(max(v, self.lo), self.hi) / self.lo) / self._log_r
            self._hist[min(int(x), self.bins - 1)] += 1  # type: ignore[index]

    def _bin(self, v: np.ndarray) -> np.ndarray:
        x = np.log(np.clip(v, self.lo, self.hi) / self.lo) / self._log_r
        return np.minimum(x.astype(np.int64), self.bins - 1)

    def _kth(self, cum: np.ndarray, k: int) -> float:
        """Estimate of the k-th smallest value (0-based) from the cumulative bin counts."""
        b = int(np.searchsorted(cum, k, side="right"))
        start = int(cum[b - 1]) if b else 0
        frac = (k - start + 0.5) / (int(cum[b]) - start)
        return self.lo * math.exp((b + frac) * self._log_r)

    def percentile(self, q: float) -> float | None:
        if not self.n:
            return None
        if self._values is not None:
            return float(np.percentile(np.asarray(self._values, np.float64), q))
        if q <= 0 or q >= 100:
            return self.min if q <= 0 else self.max
        cum = np.cumsum(self._hist)
        rank = q / 100.0 * (self.n - 1)
        k = int(math.floor(rank))
        a = self._kth(cum, k)
        v = a if k + 1 >= self.n else a + (rank - k) * (self._kth(cum, k + 1) - a)
        return float(min(max(v, self.min), self.max))

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    def nbytes(self) -> int:
        """Memory held by the values (list of floats, or the histogram)."""
        return self._hist.nbytes if self._hist is not None else 32 * len(self._values or [])


class StageStats:
    """Collects per-stage milliseconds; ``summary()`` gives p50/p95/mean/n per stage over every
    value added, in bounded memory (:class:`StreamingQuantiles`; exact up to ``exact`` values)."""

    def __init__(self, exact: int = 2048) -> None:
        self.exact = exact
        self.streams: dict[str, StreamingQuantiles] = {}

    def add(self, timings: dict[str, float]) -> None:
        for k, v in timings.items():
            if v is not None and math.isfinite(v):
                s = self.streams.get(k)
                if s is None:
                    s = self.streams[k] = StreamingQuantiles(self.exact)
                s.add(v)

    def summary(self, keys: tuple[str, ...] | None = None) -> dict[str, dict[str, float | None]]:
        out: dict[str, dict[str, float | None]] = {}
        for k in keys if keys is not None else tuple(self.streams):
            s = self.streams.get(k) or StreamingQuantiles(1)
            out[k] = {"p50": s.percentile(50), "p95": s.percentile(95), "mean": s.mean, "n": s.n}
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
