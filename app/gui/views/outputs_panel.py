"""The **Outputs** panel: VMC on/off, host, port, perfect sync, a "sending" indicator with the message
rate; the Record button; the virtual camera toggle. Widgets only: it emits intents and shows
what :class:`app.gui.outputs_controller.OutputsController` tells it."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
)

from ...outputs.vcam import MODES


class OutputsPanel(QGroupBox):
    vmc_changed = Signal()  # the on/off box, host, port or perfect sync changed
    record_clicked = Signal(bool)  # True: start a take, False: stop it
    vcam_changed = Signal(bool)

    def __init__(self) -> None:
        super().__init__("Outputs")
        self.vmc = QCheckBox("VMC")
        self.vmc.setObjectName("vmc")
        self.vmc.setToolTip("Send the face over the VMC protocol (OSC/UDP) to VSeeFace, VMagicMirror, Warudo, ...")
        self.host = QLineEdit("127.0.0.1")
        self.host.setObjectName("vmc_host")
        self.host.setToolTip("Receiver's address (127.0.0.1: this computer)")
        self.port = QLineEdit("39539")
        self.port.setObjectName("vmc_port")
        self.port.setMaximumWidth(70)
        self.port.setToolTip("Receiver's UDP port (VMC's default: 39539)")
        self.perfect_sync = QCheckBox("perfect sync (52 ARKit shapes)")
        self.perfect_sync.setObjectName("perfect_sync")
        self.indicator = QLabel("off")
        self.indicator.setObjectName("vmc_indicator")
        self.record = QPushButton("Record")
        self.record.setObjectName("record")
        self.record.setCheckable(True)
        self.record.setToolTip("Record a take: Live Link Face CSV + NPZ + avatar mp4 in the takes folder")
        self.take = QLabel("")
        self.take.setObjectName("take_label")
        self.take.setWordWrap(True)
        self.vcam = QCheckBox("virtual camera")
        self.vcam.setObjectName("vcam")
        self.vcam.setToolTip("The avatar as a webcam for Zoom / Teams / OBS (needs pyvirtualcam and a backend)")
        self.vcam_mode = QComboBox()
        self.vcam_mode.setObjectName("vcam_mode")
        self.vcam_mode.addItems(list(MODES))
        self.vcam_state = QLabel("")
        self.vcam_state.setWordWrap(True)
        self.error = QLabel("")
        self.error.setObjectName("outputs_error")
        self.error.setStyleSheet("color: #ff6b6b")
        self.error.setWordWrap(True)
        g = QGridLayout(self)
        g.addWidget(self.vmc, 0, 0)
        g.addWidget(self.host, 0, 1)
        g.addWidget(self.port, 0, 2)
        g.addWidget(self.perfect_sync, 1, 0, 1, 3)
        g.addWidget(self.indicator, 2, 0, 1, 3)
        g.addWidget(self.record, 3, 0)
        g.addWidget(self.take, 3, 1, 1, 2)
        g.addWidget(self.vcam, 4, 0)
        g.addWidget(self.vcam_mode, 4, 1, 1, 2)
        g.addWidget(self.vcam_state, 5, 0, 1, 3)
        g.addWidget(self.error, 6, 0, 1, 3)
        self.vmc.toggled.connect(lambda _: self.vmc_changed.emit())
        self.perfect_sync.toggled.connect(lambda _: self.vmc_changed.emit())
        self.host.editingFinished.connect(self.vmc_changed.emit)
        self.port.editingFinished.connect(self.vmc_changed.emit)
        self.record.clicked.connect(lambda *_: self.record_clicked.emit(self.record.isChecked()))
        self.vcam.toggled.connect(self.vcam_changed.emit)

    def set_checked(self, box, on: bool) -> None:
        """Change a toggle without emitting (the controller undoing a switch that failed)."""
        box.blockSignals(True)
        box.setChecked(on)
        box.blockSignals(False)

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setToolTip(text)

    def set_recording(self, on: bool, text: str) -> None:
        self.set_checked(self.record, on)
        self.record.setText("Stop" if on else "Record")
        self.take.setText(text)
