"""How the app talks to the user about problems: a banner with action buttons, non-blocking
dialogs, and prompts (replaceable in tests). Every message is also logged and kept in
``history`` so tests can check what the user was told."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QInputDialog, QLabel, QMessageBox, QPushButton, QWidget

log = logging.getLogger("app")
STYLES = {"error": "background:#5a1d1d; color:#ffd6d6", "warning": "background:#5a4a12; color:#fff0c0",
          "info": "background:#1d3a5a; color:#d6ecff"}


class Banner(QWidget):
    """A coloured message line with optional action buttons and a close button."""

    def __init__(self) -> None:
        super().__init__()
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(8, 4, 8, 4)
        self._row.addWidget(self.label, 1)
        self._buttons: list[QPushButton] = []
        close = QPushButton("\u2715")
        close.setFlat(True)
        close.setFixedWidth(28)
        close.clicked.connect(self.hide)
        self._row.addWidget(close)
        self.setAutoFillBackground(True)
        self.hide()

    def show_message(self, text: str, level: str = "warning",
                     actions: list[tuple[str, Callable[[], None]]] | None = None) -> None:
        for b in self._buttons:
            b.deleteLater()
        self._buttons = []
        for title, fn in actions or []:
            b = QPushButton(title)
            b.clicked.connect(fn)
            b.clicked.connect(self.hide)
            self._row.insertWidget(self._row.count() - 1, b)
            self._buttons.append(b)
        self.label.setText(text)
        self.setStyleSheet(STYLES.get(level, STYLES["info"]))
        self.show()

    @property
    def action_titles(self) -> list[str]:
        return [b.text() for b in self._buttons]


class Notifier:
    """Banner + dialogs + prompts for one window."""

    def __init__(self, parent: QWidget, banner: Banner) -> None:
        self.parent, self.banner = parent, banner
        self.history: list[tuple[str, str]] = []
        self.dialogs: list[QMessageBox] = []

    def say(self, text: str, level: str = "warning",
            actions: list[tuple[str, Callable[[], None]]] | None = None) -> None:
        """Banner message (and log)."""
        self.history.append((level, text))
        getattr(log, "error" if level == "error" else "warning" if level == "warning" else "info")(text)
        self.banner.show_message(text, level, actions)

    def dialog(self, title: str, text: str, level: str = "warning") -> QMessageBox:
        """A window-modal dialog that does not block the event loop."""
        self.history.append((level, f"{title}: {text}"))
        log.warning("%s: %s", title, text)
        icon = QMessageBox.Icon.Critical if level == "error" else QMessageBox.Icon.Warning
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self.parent)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _: self.dialogs.remove(box) if box in self.dialogs else None)
        self.dialogs.append(box)
        box.open()
        return box

    def ask_text(self, title: str, label: str, text: str = "") -> str | None:
        value, ok = QInputDialog.getText(self.parent, title, label, text=text)
        return value.strip() if ok and value.strip() else None

    def confirm(self, title: str, text: str) -> bool:
        return QMessageBox.question(self.parent, title, text) == QMessageBox.StandardButton.Yes

    def open_file(self, title: str, filters: str) -> str | None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self.parent, title, "", filters)
        return path or None

    def messages(self) -> str:
        return "\n".join(t for _, t in self.history)
