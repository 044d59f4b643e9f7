"""Status bar: device, avatar/profile, FPS + latency, and the current warning (in red)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar

from ...pipeline.packets import TrackPacket


class StatusBar(QStatusBar):
    def __init__(self) -> None:
        super().__init__()
        self.device = QLabel("device: -")
        self.profile = QLabel("profile: base avatar")
        self.fps = QLabel("FPS -")
        self.warning = QLabel("")
        self.warning.setObjectName("warning")
        self.warning.setStyleSheet("color: #ff6b6b; font-weight: bold")
        self.warning.setWordWrap(False)
        self.addWidget(self.warning, 1)
        for w in (self.fps, self.profile, self.device):
            self.addPermanentWidget(w)
        self.warnings: list[str] = []

    def set_device(self, text: str) -> None:
        self.device.setText(f"device: {text}")

    def set_profile(self, name: str, avatar: str = "") -> None:
        self.profile.setText(f"{avatar} \u2022 profile: {name or 'base avatar'}" if avatar else
                             f"profile: {name or 'base avatar'}")

    def show_packet(self, pkt: TrackPacket, screen_ms: float) -> None:
        """``screen_ms``: camera-to-screen latency of this packet (capture -> GUI)."""
        self.fps.setText(f"{pkt.fps:4.1f} FPS \u2022 {screen_ms:3.0f} ms camera-to-screen \u2022 "
                         f"dropped {pkt.dropped}")
        if pkt.notice and pkt.notice not in self.warnings:
            self.add_warning(pkt.notice)

    def add_warning(self, text: str) -> None:
        """Keep every warning (tooltip) and show the newest."""
        if text in self.warnings:
            return
        self.warnings.append(text)
        self.warning.setText(text if len(text) < 160 else text[:157] + "...")
        self.warning.setToolTip("\n".join(self.warnings))

    def clear_warning(self, text: str) -> None:
        if text in self.warnings:
            self.warnings.remove(text)
        self.warning.setText(self.warnings[-1] if self.warnings else "")
        self.warning.setToolTip("\n".join(self.warnings))
