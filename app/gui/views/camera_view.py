"""Camera view: the frame with the overlays the tracking worker drew, plus what the tracker
says (no face, several faces, recording)."""

from __future__ import annotations

from PySide6.QtGui import QColor

from ...pipeline.packets import TrackPacket
from .image_view import ImageView

RED, AMBER, WHITE = QColor(255, 80, 80), QColor(255, 200, 60), QColor(235, 235, 235)


class CameraView(ImageView):
    """Shows :attr:`TrackPacket.camera_rgb`; captions: face status and the recording indicator."""

    def __init__(self) -> None:
        super().__init__("waiting for the camera ...")
        self.status = ""
        self.recording = ""
        self.source_message = ""

    def show_packet(self, pkt: TrackPacket) -> None:
        self.status = pkt.status
        r = pkt.recording
        self.recording = f"\u25cf REC {r.elapsed:4.1f} / {r.seconds:.0f} s" if r is not None else ""
        self._captions()
        self.set_image(pkt.camera_rgb)

    def set_source_message(self, text: str) -> None:
        """A source problem shown over the (last) image, e.g. 'camera disconnected'."""
        self.source_message = text
        self._captions()
        self.update()

    def _captions(self) -> None:
        caps = []
        if self.recording:
            caps.append((self.recording, RED))
        if self.source_message:
            caps.append((self.source_message, AMBER))
        if self.status:
            caps.append((self.status[:1].upper() + self.status[1:], AMBER if "faces" in self.status else WHITE))
        self.captions = caps
