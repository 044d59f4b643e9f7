"""The main window: builds the views, menus and shortcuts and wires them to the controller.

No model code and no decisions here: views emit intents, :class:`app.gui.controller.Controller`
acts on them through the :class:`app.gui.session.Session`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QScrollArea, QSplitter, QVBoxLayout, QWidget

from ..pipeline.avatars import AvatarStore
from ..pipeline.profiles import ProfileStore
from ..sources import list_cameras
from ..sources.synthetic import ROOM_NAMES
from . import qt_compat  # noqa: F401  (before any other Qt use: PySide6 6.12 refcount guard)
from .avatar_controller import AvatarController
from .controller import Controller
from .outputs_controller import OutputsController
from .session import Session
from .settings import Settings
from .views.avatar_menu import AvatarMenu
from .views.avatar_view import AvatarView
from .views.calibration_panel import CalibrationPanel
from .views.camera_view import CameraView
from .views.controls import Controls
from .views.expression_bars import ExpressionBars
from .views.messages import Banner, Notifier
from .views.outputs_panel import OutputsPanel
from .views.plots import PlotsView
from .views.profiles_menu import ProfilesMenu
from .views.status import StatusBar


class MainWindow(QMainWindow):
    def __init__(self, session: Session, settings: Settings, store: ProfileStore, cuda: bool = False,
                 cameras: list[int] | None = None, avatars: AvatarStore | None = None) -> None:
        super().__init__()
        self.setWindowTitle("roomfit-avatar - live face avatar tracker")
        self.session, self.settings, self.store = session, settings, store
        self.camera, self.avatar, self.plots = CameraView(), AvatarView(), PlotsView()
        self.controls = Controls(list_cameras() if cameras is None else cameras, ROOM_NAMES, cuda)
        self.calib_panel = CalibrationPanel()
        self.outputs_panel = OutputsPanel()
        self.expressions = ExpressionBars()
        self.banner = Banner()
        self.status = StatusBar()
        self.setStatusBar(self.status)
        self.notifier = Notifier(self, self.banner)
        self._layout()
        self.profiles_menu = ProfilesMenu(store, self)
        self.controller = Controller(self)
        self.avatar_store = avatars or AvatarStore()
        self.avatar_menu = AvatarMenu(self.avatar_store, self)
        self.avatars_control = AvatarController(self, self.avatar_store, self.avatar_menu)
        self.outputs_control = OutputsController(self.outputs_panel, session.outputs, settings, session)
        self._menus()
        self._wire()
        self.resize(1280, 800)

    # ------------------------------------------------------------------ layout
    def _layout(self) -> None:
        views = QSplitter(Qt.Orientation.Horizontal)
        views.addWidget(self.camera)
        views.addWidget(self.avatar)
        views.setSizes([760, 420])
        main = QSplitter(Qt.Orientation.Vertical)
        main.addWidget(views)
        main.addWidget(self.plots)
        main.setSizes([560, 200])
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.banner)
        lay.addWidget(main, 1)
        self.setCentralWidget(central)
        side = QWidget()
        sl = QVBoxLayout(side)
        sl.addWidget(self.calib_panel)
        sl.addWidget(self.expressions)
        sl.addWidget(self.outputs_panel)
        sl.addWidget(self.controls)
        scroll = QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        dock = QDockWidget("Controls", self)
        dock.setObjectName("controls_dock")
        dock.setWidget(scroll)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)

    def _action(self, menu, text: str, slot, shortcut: str | None = None, checkable: bool = False) -> QAction:
        a = QAction(text, self)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        a.setCheckable(checkable)
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    def _menus(self) -> None:
        c, mb = self.controller, self.menuBar()
        f = mb.addMenu("&File")
        self._action(f, "Open video ...", lambda: c.request_source("video:"), "Ctrl+O")
        self._action(f, "Quit", self.close, "Ctrl+Q")
        s = mb.addMenu("&Source")
        for i in range(self.controls.source.count()):
            data = self.controls.source.itemData(i)
            if data:
                self._action(s, self.controls.source.itemText(i), lambda _=False, d=data: c.request_source(d))
        mb.addMenu(self.avatar_menu)
        mb.addMenu(self.profiles_menu)
        v = mb.addMenu("&View")
        for key, shortcut in (("landmarks", "L"), ("wireframe", "W"), ("box", "B")):
            self._action(v, f"toggle {key}", lambda _=False, k=key: self.controls.overlay[k].toggle(), shortcut)
        self._action(v, "avatar: posed / frontal", c.toggle_avatar_mode, "F")
        self._action(v, "mirror", lambda: self.controls.mirror.toggle(), "M")
        cal = mb.addMenu("&Calibrate")
        self._action(cal, "Calibrate to this room", lambda: self.calib_panel.button.click(), "C")
        self._action(cal, "Cancel calibration", c.cancel_calibration, "Esc")
        h = mb.addMenu("&Help")
        self._action(h, "Shortcuts", c.show_shortcuts, "F1")

    def _wire(self) -> None:
        s, c, ctl, p = self.session, self.controller, self.controls, self.profiles_menu
        s.packet.connect(c.on_packet)
        s.packet.connect(self.expressions.add)
        s.source_event.connect(c.on_source_event)
        s.calib_state.connect(c.on_calib_state)
        s.calib_progress.connect(self.calib_panel.set_progress)
        s.calib_done.connect(c.on_calib_done)
        s.profile_changed.connect(c.on_profile_changed)
        s.error.connect(c.on_error)
        ctl.source_requested.connect(c.request_source)
        ctl.format_changed.connect(c.on_format)
        ctl.device_changed.connect(c.on_device)
        ctl.smoothing_changed.connect(c.on_smoothing)
        ctl.guide_changed.connect(c.on_guide)
        ctl.layer_changed.connect(c.on_layer)
        ctl.expressions_changed.connect(c.on_expressions)
        ctl.mirror_changed.connect(c.on_mirror)
        ctl.loop_changed.connect(lambda v: self.settings.set("loop_video", v))
        ctl.options_changed.connect(c.on_options)
        self.avatar.orbit_changed.connect(c.on_orbit)
        self.calib_panel.calibrate_clicked.connect(c.start_calibration)
        self.calib_panel.cancel_clicked.connect(c.cancel_calibration)
        p.load_requested.connect(c.load_profile)
        p.rename_requested.connect(c.rename_profile)
        p.delete_requested.connect(c.delete_profile)
        p.revert_requested.connect(c.revert_profile)

    def closeEvent(self, event) -> None:  # noqa: N802
        self.controller.save_settings()
        self.avatars_control.shutdown()
        self.session.shutdown()
        super().closeEvent(event)
