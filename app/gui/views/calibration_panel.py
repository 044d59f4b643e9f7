"""The "Calibrate to this room" panel: duration, recording indicator, progress, cancel, verdict."""

from __future__ import annotations

import math

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from ...pipeline.packets import CalibOutcome, CalibProgress, RecordingState


def _fmt(v) -> str:
    return "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.4g}"


def outcome_text(out: CalibOutcome) -> str:
    """One message for the user: the verdict, why, and the held-back figures before -> after."""
    head = {"accepted": "Calibrated: the adapted model is now live.",
            "kept the current model": "Kept the current model.",
            "cancelled": "Calibration cancelled.", "failed": "Calibration failed."}.get(out.verdict, out.verdict)
    lines = [head, out.reason]
    if out.before and out.after:
        figures = (("da", "DA loss"), ("temporal", "temporal stability"), ("landmark_error", "landmark error px"),
                   ("r_eyes", "eyes agree with detector (r)"), ("r_mouth", "mouth agrees (r)"),
                   ("r_brows", "brows agree (r)"))
        for k, label in figures:
            b = out.before.get(k)
            if k in out.before and (k in ("da", "temporal", "landmark_error") or (b is not None and b == b)):
                lines.append(f"{label}: {_fmt(out.before.get(k))} \u2192 {_fmt(out.after.get(k))}")
    if out.profile:
        lines.append(f"saved as room profile \u201c{out.profile}\u201d")
    if out.save_error:
        lines.append(out.save_error)
    return "\n".join(x for x in lines if x)


class CalibrationPanel(QGroupBox):
    calibrate_clicked = Signal(float)  # seconds
    cancel_clicked = Signal()

    def __init__(self) -> None:
        super().__init__("Calibrate to this room")
        self.button = QPushButton("Calibrate to this room")
        self.button.setObjectName("calibrate")
        self.button.setToolTip("Record a few seconds, adapt the tracker to this camera and light (C)")
        self.seconds = QDoubleSpinBox()
        self.seconds.setRange(2.0, 60.0)
        self.seconds.setSingleStep(1.0)
        self.seconds.setSuffix(" s")
        self.seconds.setValue(10.0)
        self.cancel = QPushButton("Cancel")
        self.cancel.setObjectName("cancel_calibration")
        self.cancel.setEnabled(False)
        self.rec = QLabel("")
        self.rec.setStyleSheet("color: #ff5050; font-weight: bold")
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.times = QLabel("")
        self.result = QLabel("Look at the camera and move your head a little while it records.")
        self.result.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.button, 1)
        row.addWidget(self.seconds)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.rec)
        lay.addWidget(self.progress)
        lay.addWidget(self.times)
        lay.addWidget(self.cancel)
        lay.addWidget(self.result)
        self.button.clicked.connect(lambda: self.calibrate_clicked.emit(self.seconds.value()))
        self.cancel.clicked.connect(self.cancel_clicked)

    def set_state(self, state: str) -> None:
        busy = state != "idle"
        self.button.setEnabled(not busy)
        self.seconds.setEnabled(not busy)
        self.cancel.setEnabled(busy)
        if state == "recording":
            self.result.setText("Recording: keep your face in view and move a little ...")
            self.progress.setValue(0)
            self.times.setText("")
        elif state == "adapting":
            self.rec.setText("")
            self.result.setText("Adapting to this room (tracking continues with the current model) ...")
        else:
            self.rec.setText("")

    def set_recording(self, r: RecordingState | None) -> None:
        if r is not None:
            self.rec.setText(f"\u25cf REC {r.elapsed:4.1f} / {r.seconds:.0f} s ({r.frames} frames)")

    def set_progress(self, p: CalibProgress) -> None:
        self.progress.setValue(int(100 * p.step / max(p.steps, 1)))
        self.times.setText(f"step {p.step}/{p.steps} - elapsed {p.elapsed:.0f} s - remaining ~{p.remaining:.0f} s")

    def show_outcome(self, out: CalibOutcome) -> None:
        self.set_state("idle")
        if out.verdict == "accepted":
            self.progress.setValue(100)
        self.result.setText(outcome_text(out))
