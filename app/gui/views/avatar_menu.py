"""The Avatar menu: Create my avatar, resume an unfinished enrollment, and the avatar picker
(the default avatar, then the personal ones; the one in use checked) with Rename / Delete.

Rebuilt from the avatar folder each time it opens; it only emits what the user picked.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QWidget

from ...pipeline.avatars import AvatarStore


class AvatarMenu(QMenu):
    create_requested = Signal()
    resume_requested = Signal(str)  # slug of an unfinished enrollment
    select_requested = Signal(str)  # slug ("" = the default avatar)
    rename_requested = Signal(str)  # slug
    delete_requested = Signal(str)  # slug

    def __init__(self, store: AvatarStore, parent: QWidget | None = None) -> None:
        super().__init__("&Avatar", parent)
        self.store = store
        self.current = ""  # slug of the avatar in use ("" = default)
        self.enabled_actions = True  # False while a calibration or a switch runs
        self.picks: dict[str, QAction] = {}
        self.aboutToShow.connect(self.rebuild)
        self.rebuild()

    def rebuild(self) -> None:
        self.clear()
        self.picks = {}
        create = self.addAction("Create my avatar ...")
        create.setObjectName("create_avatar")
        create.triggered.connect(self.create_requested)
        pending = self.store.unfinished()
        for p in pending:
            a = self.addAction(f"Resume enrollment: {p.name} ...")
            a.triggered.connect(lambda _=False, s=p.slug: self.resume_requested.emit(s))
        self.addSeparator()
        group = QActionGroup(self)
        group.setExclusive(True)
        avatars = self.store.entries()
        for a in avatars:
            label = a.name + (f"  (unusable: {a.error})" if a.error else "")
            act = QAction(label if len(label) < 90 else label[:87] + "...", self)
            act.setCheckable(True)
            act.setChecked(a.slug == self.current)
            act.setEnabled(not a.error and self.enabled_actions)
            if a.summary:
                act.setToolTip(", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                                         for k, v in a.summary.items()))
            act.triggered.connect(lambda _=False, s=a.slug: self.select_requested.emit(s))
            group.addAction(act)
            self.addAction(act)
            self.picks[a.slug] = act
        personal = [a for a in avatars if not a.default]
        if not personal:
            hint = self.addAction("(no personal avatars yet: use Create my avatar)")
            hint.setEnabled(False)
        self.addSeparator()
        if personal:
            ren = self.addMenu("Rename ...")
            ren.setObjectName("rename_avatar")
            for a in personal:
                r = ren.addAction(a.name)
                r.setEnabled(not a.error)
                r.triggered.connect(lambda _=False, s=a.slug: self.rename_requested.emit(s))
        if personal or pending:
            dele = self.addMenu("Delete ...")
            dele.setObjectName("delete_avatar")
            for name, slug in [(a.name, a.slug) for a in personal] + [(f"{p.name} (unfinished)", p.slug)
                                                                      for p in pending]:
                d = dele.addAction(name)
                d.triggered.connect(lambda _=False, s=slug: self.delete_requested.emit(s))
        info = self.addAction(f"folder: {self.store.shown_root}")
        info.setEnabled(False)
