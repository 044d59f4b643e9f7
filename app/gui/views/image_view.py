"""A widget that paints the newest RGB image (aspect kept) plus caption lines; the base of
the camera and avatar views."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget


def to_qimage(rgb: np.ndarray) -> QImage:
    """(H, W, 3) uint8 RGB -> QImage that owns a copy of the pixels."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class ImageView(QWidget):
    """Paints ``image`` scaled to fit, centred, with optional caption lines on top."""

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: QImage | None = None
        self.placeholder = placeholder
        self.captions: list[tuple[str, QColor]] = []
        self.paints = 0
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def set_image(self, rgb: np.ndarray | None) -> None:
        self.image = to_qimage(rgb) if rgb is not None else None
        self.update()

    def image_rect(self) -> QRectF:
        """Where the image lands in widget coordinates."""
        if self.image is None:
            return QRectF(self.rect())
        iw, ih = self.image.width(), self.image.height()
        s = min(self.width() / iw, self.height() / ih)
        return QRectF((self.width() - iw * s) / 2, (self.height() - ih * s) / 2, iw * s, ih * s)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt)
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(20, 20, 24))
        if self.image is not None:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            p.drawImage(self.image_rect(), self.image)
        elif self.placeholder:
            p.setPen(QColor(170, 170, 170))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
        self.paint_captions(p)
        p.end()
        self.paints += 1

    def paint_captions(self, p: QPainter) -> None:
        font = QFont(self.font())
        font.setPointSizeF(max(9.0, font.pointSizeF() * 1.1))
        font.setBold(True)
        p.setFont(font)
        y = 8
        for text, colour in self.captions:
            r = p.fontMetrics().boundingRect(text)
            box = QRectF(8, y, r.width() + 16, r.height() + 8)
            p.fillRect(box, QColor(0, 0, 0, 150))
            p.setPen(colour)
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
            y += int(box.height()) + 4
