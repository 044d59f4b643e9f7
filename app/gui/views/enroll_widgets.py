"""Pieces of the enrollment dialog: the prompt checklist, the progress box and the panel holding them."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...pipeline.enroll_job import EnrollProgress, eta_text
from ...pipeline.enrollment_prompts import PROMPTS
from .image_view import ImageView

MARKS = {"pending": "\u25cb", "recording": "\u25cf", "ok": "\u2713", "redo": "\u2717"}
GREEN, RED_BG, AMBER_BG = QColor(80, 200, 120), QColor(110, 30, 30), QColor(120, 90, 20)


class PromptList(QListWidget):
    """One row per prompt: pending, recording, covered (tick) or redo (with the reason)."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("prompts")
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setWordWrap(True)  # a long "redo: ..." reason wraps instead of scrolling sideways
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.states: dict[str, tuple[str, str]] = {}
        self.rows: dict[str, QListWidgetItem] = {}
        for p in PROMPTS:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, p.name)
            self.addItem(item)
            self.rows[p.name] = item
            self.set_state(p.name, "pending")

    def set_state(self, name: str, state: str, reason: str = "", engine: bool = False) -> None:
        """``engine``: the enrollment engine asked for this prompt again (highlighted)."""
        self.states[name] = (state, reason)
        item = self.rows[name]
        text = next(p.text for p in PROMPTS if p.name == name)
        redo = f"  - redo: {reason}" if reason else "  - redo"
        tail = {"recording": "  (recording ...)", "redo": redo}.get(state, "")
        item.setText(f"{MARKS[state]}  {text}{tail}")
        item.setForeground(QBrush(GREEN) if state == "ok" else QBrush())
        item.setBackground(QBrush(AMBER_BG if engine else RED_BG) if state == "redo" else QBrush())

    def state(self, name: str) -> str:
        return self.states[name][0]

    def marked(self) -> list[str]:
        return [n for n, (s, _) in self.states.items() if s == "redo"]

    def selected_names(self) -> list[str]:
        return [i.data(Qt.ItemDataRole.UserRole) for i in self.selectedItems()]


class ProgressBox(QWidget):
    """Stage, overall progress bar and time left of a running enrollment."""

    def __init__(self) -> None:
        super().__init__()
        self.stage = QLabel("starting the enrollment ...")
        self.stage.setObjectName("stage")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setFormat("%p %")
        self.eta = QLabel(eta_text(None))
        self.eta.setObjectName("eta")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        for w in (self.stage, self.bar, self.eta):
            lay.addWidget(w)

    def reset(self) -> None:
        self.stage.setText("starting the enrollment ...")
        self.bar.setValue(0)
        self.eta.setText(eta_text(None))

    def show_progress(self, p: EnrollProgress) -> None:
        self.stage.setText(p.text[:1].upper() + p.text[1:])
        self.bar.setValue(int(round(1000 * p.done)))
        self.eta.setText(eta_text(p.eta_s))


BUTTONS = (("start", "Start recording"), ("file", "Enroll a video file ..."), ("redo", "Redo prompts"),
           ("create", "Create my avatar"), ("cancel", "Cancel"), ("resume", "Resume"), ("use", "Use it now"),
           ("close", "Close"))


class EnrollPanel(QWidget):
    """The dialog's widgets: privacy line, live preview, prompt text, checklist, name, unfinished
    enrollments, progress, messages and the buttons (``buttons[key]``, keys as in :data:`BUTTONS`)."""

    def __init__(self, privacy_text: str, name: str, pending: list[tuple[str, str]]) -> None:
        super().__init__()
        privacy = QLabel(privacy_text)
        privacy.setObjectName("privacy")
        privacy.setWordWrap(True)
        self.privacy = privacy
        self.preview = ImageView("waiting for the camera ...")
        self.preview.setMinimumSize(320, 240)
        self.prompt = QLabel("Sit in good light, alone in view. About 30 s of prompts follow.")
        font = QFont(self.prompt.font())
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.prompt.setFont(font)
        self.prompt.setWordWrap(True)
        self.prompts = PromptList()
        self.name = QLineEdit(name)
        self.name.setObjectName("avatar_name")
        self.info, self.error = QLabel(""), QLabel("")
        self.error.setObjectName("error")
        self.error.setStyleSheet("color: #ff6b6b")
        for lab in (self.info, self.error):
            lab.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = ProgressBox()
        self.pending = QComboBox()
        for text, slug in pending:
            self.pending.addItem(text, slug)
        self.buttons: dict[str, QPushButton] = {}
        for key, text in BUTTONS:
            self.buttons[key] = QPushButton(text)
            self.buttons[key].setObjectName(f"enroll_{key}")
        left = QVBoxLayout()
        left.addWidget(self.preview, 1)
        left.addWidget(self.prompt)
        right = QVBoxLayout()
        right.addWidget(self.prompts, 1)
        name_row = QHBoxLayout()
        name_row.addWidget(QLabel("name"))
        name_row.addWidget(self.name, 1)
        right.addLayout(name_row)
        for w in (self.pending, self.progress, self.info, self.error):
            right.addWidget(w)
        top = QHBoxLayout()
        top.addLayout(left, 3)
        top.addLayout(right, 2)
        row = QHBoxLayout()
        row.addStretch(1)
        for btn in self.buttons.values():
            row.addWidget(btn)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(privacy)
        lay.addLayout(top, 1)
        lay.addLayout(row)
