"""Live plots (pyqtgraph): FPS, latency per stage, head pose, rolling temporal stability.

Packets are appended to ring buffers (cheap); the curves are redrawn by a timer at
``hz`` so plotting never runs per frame.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

from ...pipeline.packets import TrackPacket

STAGE_PENS = {"detect": "#8dd3c7", "crop": "#ffffb3", "encoder": "#fb8072", "decoder": "#80b1d3",
              "colour": "#fdb462", "render": "#b3de69", "latency": "#ffffff"}
POSE_PENS = {"pitch": "#fb8072", "yaw": "#80b1d3", "roll": "#b3de69"}


class PlotsView(pg.GraphicsLayoutWidget):
    """Four small plots over the last ``window`` frames."""

    def __init__(self, window: int = 300, hz: float = 5.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("#141418")
        self.setMinimumHeight(170)
        self.buf: dict[str, deque] = {k: deque(maxlen=window) for k in
                                      ("t", "fps", "stability", *STAGE_PENS, *POSE_PENS)}
        self.plots: dict[str, pg.PlotItem] = {}
        self.keys: dict[str, list[str]] = {}
        self.ranges: dict[str, tuple[float, float]] = {}
        self._x0 = 0.0
        self.curves: dict[str, pg.PlotDataItem] = {}
        for title, keys, pens in (("FPS", ["fps"], {"fps": "#ffffff"}), ("latency (ms)", list(STAGE_PENS), STAGE_PENS),
                                  ("head pose (deg)", list(POSE_PENS), POSE_PENS),
                                  ("temporal stability (Eq. 10)", ["stability"], {"stability": "#fdb462"})):
            p = self.addPlot(title=title)
            p.hideAxis("bottom")  # no grid and a y range that moves only when needed: grid lines and
            p.disableAutoRange()  # axis re-layout each refresh cost 14 of 18 ms per paint (measured)
            p.setMouseEnabled(x=False, y=False)
            if len(keys) > 1:
                p.addLegend(offset=(2, 2), labelTextSize="7pt", brush=pg.mkBrush(20, 20, 24, 210))
            self.plots[title] = p
            self.keys[title] = keys
            for k in keys:
                # 1-px pens take Qt's fast line path: a repaint of the four plots 6.5-7.0 -> 3.8-4.0 ms
                # with 1.5-px pens (measured offscreen), time the GUI thread cannot spend on events
                self.curves[k] = p.plot(pen=pg.mkPen(pens[k], width=1), name=k)
        self.updates = 0
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(int(1000 / hz))

    def add(self, pkt: TrackPacket) -> None:
        b = self.buf
        b["t"].append(pkt.t_done)
        b["fps"].append(pkt.fps)
        b["stability"].append(pkt.stability)
        for k in STAGE_PENS:
            b[k].append(pkt.timings.get(k, math.nan))
        H = pkt.result.H_frame if pkt.result.found else None
        for i, k in enumerate(POSE_PENS):
            b[k].append(math.degrees(float(H[1 + i])) if H is not None else math.nan)

    def refresh(self) -> None:
        if not self.isVisible() or not self.buf["t"]:
            return
        t = np.asarray(self.buf["t"]) - self.buf["t"][-1]
        for title, p in self.plots.items():
            ys = [np.asarray(self.buf[k], np.float64) for k in self.keys[title]]
            for k, y in zip(self.keys[title], ys):
                self.curves[k].setData(t, y, connect="finite")
            self._fit_y(title, p, ys)
        if len(t) > 1 and abs(float(t[0]) - self._x0) > 0.05 * max(abs(self._x0), 1.0):
            self._x0 = float(t[0])
            for p in self.plots.values():
                p.setXRange(self._x0, 0.0, padding=0.02)
        self.updates += 1

    def _fit_y(self, title: str, p: pg.PlotItem, ys: list[np.ndarray]) -> None:
        """Change the y range only when the data leaves it or fills less than a third of it."""
        finite = np.concatenate([y[np.isfinite(y)] for y in ys]) if ys else np.zeros(0)
        if not len(finite):
            return
        lo, hi = float(finite.min()), float(finite.max())
        span = max(hi - lo, 1e-3)
        cur = self.ranges.get(title)
        if cur is None or lo < cur[0] or hi > cur[1] or (cur[1] - cur[0]) > 3 * span + 1e-9:
            cur = (lo - 0.25 * span, hi + 0.25 * span)
            self.ranges[title] = cur
            p.setYRange(*cur, padding=0.0)
