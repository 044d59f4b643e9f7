"""Avatar view: the decoded mesh + view-dependent texture, rendered by the tracking worker.

Drag with the left mouse button to orbit, wheel to zoom, double-click to reset. The view
only emits the new camera (``orbit_changed``); the next frame (or a redraw) shows it.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor

from ...pipeline.packets import TrackPacket
from .image_view import ImageView


class AvatarView(ImageView):
    orbit_changed = Signal(float, float, float)  # yaw, pitch (radians), zoom

    def __init__(self) -> None:
        super().__init__("avatar appears when a face is tracked")
        self.yaw = self.pitch = 0.0
        self.zoom = 1.0
        self._drag: QPointF | None = None
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self.setToolTip("drag: orbit - wheel: zoom - double-click: reset")

    def show_packet(self, pkt: TrackPacket) -> None:
        caps = []
        if not pkt.result.found:
            caps.append(("holding last pose" if pkt.avatar_rgb is not None else "no face", QColor(200, 200, 200)))
        self.captions = caps
        self.set_image(pkt.avatar_rgb)

    def mousePressEvent(self, e) -> None:  # noqa: N802
        if e.button() == Qt.MouseButton.LeftButton:
            self._drag = e.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, e) -> None:  # noqa: N802
        if self._drag is None:
            return
        d = e.position() - self._drag
        self._drag = e.position()
        self.set_orbit(self.yaw + 0.01 * d.x(), self.pitch - 0.01 * d.y(), self.zoom)

    def mouseReleaseEvent(self, e) -> None:  # noqa: N802
        self._drag = None
        self.setCursor(Qt.CursorShape.OpenHandCursor)

    def wheelEvent(self, e) -> None:  # noqa: N802
        self.set_orbit(self.yaw, self.pitch, self.zoom * (1.1 ** (e.angleDelta().y() / 120.0)))

    def mouseDoubleClickEvent(self, e) -> None:  # noqa: N802
        self.set_orbit(0.0, 0.0, 1.0)

    def set_orbit(self, yaw: float, pitch: float, zoom: float) -> None:
        self.yaw = max(-math.pi, min(math.pi, yaw))
        self.pitch = max(-1.2, min(1.2, pitch))
        self.zoom = max(0.3, min(4.0, zoom))
        self.orbit_changed.emit(self.yaw, self.pitch, self.zoom)
