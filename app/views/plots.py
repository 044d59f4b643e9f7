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

from ..packets import TrackPacket

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
        self.curves: dict[str, pg.PlotDataItem] = {}
        for title, keys, pens in (("FPS", ["fps"], {"fps": "#ffffff"}), ("latency (ms)", list(STAGE_PENS), STAGE_PENS),
                                  ("head pose (deg)", list(POSE_PENS), POSE_PENS),
                                  ("temporal stability (Eq. 10)", ["stability"], {"stability": "#fdb462"})):
            p = self.addPlot(title=title)
            p.showGrid(x=False, y=True, alpha=0.25)
            p.hideAxis("bottom")
            if len(keys) > 1:
                p.addLegend(offset=(2, 2), labelTextSize="7pt", brush=pg.mkBrush(20, 20, 24, 210))
            self.plots[title] = p
            for k in keys:
                self.curves[k] = p.plot(pen=pg.mkPen(pens[k], width=1.5), name=k)
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
        for k, c in self.curves.items():
            y = np.asarray(self.buf[k], np.float64)
            c.setData(t, y, connect="finite")
        self.updates += 1
