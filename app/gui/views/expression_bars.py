"""Live bars of the main named expressions (ARKit-style weights in [0, 1]).

The packet handler only keeps the newest weights; a timer repaints at ``hz``, so the bars
never cost the GUI a paint per frame. Names the current model does not estimate are shown
greyed out with no bar, so a user sees what is read and what is not.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from ...pipeline.packets import TrackPacket

MAIN = ("eyeBlinkLeft", "eyeBlinkRight", "eyeWideLeft", "eyeWideRight", "browInnerUp", "browOuterUp", "browDown",
        "jawOpen", "mouthSmileLeft", "mouthSmileRight", "mouthFrown", "mouthPucker", "mouthFunnel", "cheekPuff")
ROW = 15


def pick(names: tuple[str, ...], weights: np.ndarray | None) -> dict[str, float | None]:
    """The MAIN weights from a result's (names, weights); a split name (browDownLeft/Right) is
    averaged into its unsided form. None: not estimated by this model."""
    if weights is None or not len(names):
        return {n: None for n in MAIN}
    w = dict(zip(names, np.asarray(weights, np.float64)))
    out = {}
    for n in MAIN:
        sided = [w[k] for k in (n + "Left", n + "Right") if k in w]
        out[n] = float(w[n]) if n in w else (float(np.mean(sided)) if sided else None)
    return out


class ExpressionBars(QWidget):
    def __init__(self, hz: float = 15.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values: dict[str, float | None] = {n: None for n in MAIN}
        self.found = False
        self.setMinimumHeight(ROW * len(MAIN) + 22)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setToolTip("Named expression weights sent to the outputs (0 = neutral, 1 = full)")
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.update)
        self.timer.start(int(1000 / hz))

    def add(self, pkt: TrackPacket) -> None:
        r = pkt.result
        self.found = bool(r.found)
        if r.found:
            self.values = pick(tuple(r.expression_names), r.expressions)

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(20, 20, 24))
        p.setPen(QColor(220, 220, 220))
        p.drawText(6, 14, "Expressions" + ("" if self.found else " (no face)"))
        label_w, w = 104, max(20, self.width() - 112)
        for i, n in enumerate(MAIN):
            y = 20 + i * ROW
            v = self.values.get(n)
            p.setPen(QColor(200, 200, 200) if v is not None else QColor(100, 100, 100))
            p.drawText(QRectF(4, y, label_w, ROW), Qt.AlignmentFlag.AlignVCenter, n)
            p.fillRect(QRectF(label_w + 4, y + 3, w, ROW - 6), QColor(45, 45, 52))
            if v is not None and self.found:
                p.fillRect(QRectF(label_w + 4, y + 3, w * float(np.clip(v, 0, 1)), ROW - 6), QColor(120, 190, 250))
        p.end()
