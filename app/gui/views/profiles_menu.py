"""The Profiles menu: room profiles to load, rename or delete, and "revert to base avatar".

Rebuilt from the profile folder each time it opens; it only emits what the user picked.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QWidget

from ...pipeline.profiles import ProfileStore


class ProfilesMenu(QMenu):
    load_requested = Signal(str)
    rename_requested = Signal(str)
    delete_requested = Signal(str)
    revert_requested = Signal()

    def __init__(self, store: ProfileStore, parent: QWidget | None = None) -> None:
        super().__init__("&Profiles", parent)
        self.store = store
        self.current = ""
        self.enabled_actions = True
        self.aboutToShow.connect(self.rebuild)
        self.rebuild()

    def rebuild(self) -> None:
        self.clear()
        profiles = self.store.list()
        if not profiles:
            a = self.addAction("(no room profiles yet: use Calibrate to this room)")
            a.setEnabled(False)
        for p in profiles:
            label = p.name + ("  \u2713" if p.name == self.current else "") + ("  (unreadable)" if p.error else "")
            sub = self.addMenu(label)
            sub.setObjectName(f"profile:{p.name}")
            load = sub.addAction("Load")
            load.setEnabled(not p.error and self.enabled_actions)
            load.triggered.connect(lambda _=False, n=p.name: self.load_requested.emit(n))
            ren = sub.addAction("Rename ...")
            ren.setEnabled(not p.error)
            ren.triggered.connect(lambda _=False, n=p.name: self.rename_requested.emit(n))
            dele = sub.addAction("Delete ...")
            dele.triggered.connect(lambda _=False, n=p.slug if p.error else p.name: self.delete_requested.emit(n))
            if p.summary.get("calibration"):
                c = p.summary["calibration"]
                sub.setToolTip(f"{p.created}: {c.get('reason', '')}")
        self.addSeparator()
        self.revert_action = QAction("Revert to base avatar", self)
        self.revert_action.setEnabled(self.enabled_actions)
        self.revert_action.triggered.connect(self.revert_requested)
        self.addAction(self.revert_action)
        info = self.addAction(f"folder: {self.store.root}")
        info.setEnabled(False)
