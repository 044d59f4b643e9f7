"""What the window does with user intents and session events (GUI thread, no model code).

Every error the user can act on ends here: a banner with the actions that help (open a
video, use the synthetic actor, retry), a dialog for missing/corrupt bundles and profiles,
and a status-bar warning for fallbacks (CPU instead of CUDA, untrained avatar).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject

from models.code_guide import DEFAULT_GUIDE, parse_guide

from ..pipeline.bundles import choose_device
from ..pipeline.calibration import CalibrationPlan
from ..pipeline.packets import CalibOutcome, TrackPacket, ViewOptions
from ..pipeline.profiles import ProfileError
from ..sources import FrameSource, SourceSpec, make_source
from .views.calibration_panel import outcome_text
from .views.help import shortcuts_text

if TYPE_CHECKING:
    from PySide6.QtCore import QByteArray

    from ..pipeline.profiles import ProfileStore
    from .session import Session
    from .settings import Settings
    from .views.calibration_panel import CalibrationPanel
    from .views.camera_view import CameraView
    from .views.controls import Controls
    from .views.messages import Banner, Notifier
    from .views.profiles_menu import ProfilesMenu
    from .views.status import StatusBar


class WindowParts(Protocol):
    """What the controller uses of the window (a QObject, its parent): :class:`app.gui.window.MainWindow`
    builds these; the controller never imports the window (no import cycle)."""

    session: Session
    settings: Settings
    store: ProfileStore
    notifier: Notifier
    banner: Banner
    camera: CameraView
    controls: Controls
    calib_panel: CalibrationPanel
    profiles_menu: ProfilesMenu
    status: StatusBar

    def restoreGeometry(self, geometry: QByteArray) -> bool: ...

    def saveGeometry(self) -> QByteArray: ...

    def setWindowTitle(self, title: str) -> None: ...


class Controller(QObject):
    """Acts on intents from the views and on session signals."""

    def __init__(self, window: WindowParts) -> None:
        super().__init__(window)  # type: ignore[arg-type]  (the window is a QObject)
        self.w, self.s, self.settings, self.n = window, window.session, window.settings, window.notifier
        self.source_factory = make_source  # tests replace it
        self.spec: SourceSpec | None = None
        self.detector_kind: str | None = None  # the source kind the tracker's detector was made for
        self.landmarks = "auto"
        self.adapt_overrides: tuple = ()  # extra AdaptConfig fields (tests, advanced users)
        self.options = ViewOptions()
        self.screen_ms = 0.0  # camera-to-screen latency of the last packet shown
        self._restore()

    # ------------------------------------------------------------------ settings
    def _restore(self) -> None:
        st, ctl = self.settings, self.w.controls
        widgets = [ctl.resolution, ctl.fps, ctl.device, ctl.smoothing, ctl.guide, ctl.layer, ctl.expressions,
                   ctl.mirror, ctl.loop,
                   ctl.avatar_mode, ctl.avatar_wire, *ctl.overlay.values()]
        for wdg in widgets:
            wdg.blockSignals(True)
        ctl.select(ctl.resolution, f"{st.get('width')}x{st.get('height')}")
        ctl.select(ctl.fps, st.get("fps"))
        ctl.select(ctl.device, st.get("device"))
        ctl.smoothing.setValue(int(100 * st.get("smoothing")))
        self.guide_spec = self._valid_guide(st.get("guide"))
        ctl.guide.setChecked(self.guide_spec != "none")
        ctl.layer.setChecked(bool(st.get("expression_layer")))
        source = st.expression_source()
        ctl.select(ctl.expressions, source)
        head = self.s.pipeline.tracker.expression_source == "head"  # --expressions head: not a saved choice
        ctl.expressions.setEnabled(not head)
        if head:
            ctl.expressions.setToolTip("--expressions head: the avatar's encoder names the expressions")
        ctl.mirror.setChecked(st.get("mirror"))
        ctl.loop.setChecked(st.get("loop_video"))
        for k, cb in ctl.overlay.items():
            cb.setChecked(st.get(f"overlay/{k}"))
        ctl.select(ctl.avatar_mode, st.get("avatar/mode"))
        ctl.avatar_wire.setChecked(st.get("avatar/wireframe"))
        for wdg in widgets:
            wdg.blockSignals(False)
        self.w.calib_panel.seconds.setValue(st.get("calib/seconds"))
        self.s.mirror = st.get("mirror")
        self.s.set_smoothing(st.get("smoothing"))
        self.s.set_guide(self.guide_spec)
        self.s.set_expression_layer(bool(st.get("expression_layer")))
        if not head:
            self.s.set_expression_source(source)
        self.on_options()
        geo = st.raw("window/geometry")
        if geo is not None:
            self.w.restoreGeometry(geo)

    def save_settings(self) -> None:
        st = self.settings
        st.set("calib/seconds", self.w.calib_panel.seconds.value())
        st.set_raw("window/geometry", self.w.saveGeometry())
        st.sync()

    # ------------------------------------------------------------------ sources
    def request_source(self, spec: str) -> None:
        if spec == "video:":
            path = self.n.open_file("Open a video", "Videos (*.mp4 *.avi *.mov *.mkv *.webm);;All files (*)")
            if not path:
                return
            spec = f"video:{path}"
        try:
            parsed = SourceSpec.parse(spec)
        except ValueError as e:
            self.n.say(str(e), "error")
            return
        st = self.settings
        source = self.source_factory(parsed, loop_video=st.get("loop_video"), width=st.get("width"),
                                     height=st.get("height"), fps=st.get("fps"))
        self.start(source, parsed)
        st.set("source", str(parsed))

    def start(self, source: FrameSource, spec: SourceSpec) -> None:
        """Switch the session to ``source`` (and the landmark detector that fits its kind)."""
        if self.detector_kind != spec.kind:
            self.s.set_landmarks(self.landmarks, spec.kind)
            self.detector_kind = spec.kind
        self.spec = spec
        self.w.banner.hide()
        self.w.camera.set_source_message("")
        self.s.start_source(source)
        self.w.controls.select(self.w.controls.source, str(spec) if spec.kind != "video" else "video:")
        self.w.setWindowTitle(f"roomfit-avatar - {source.name}")

    def _offers(self) -> list:
        offers = [("Open video ...", lambda: self.request_source("video:")),
                  ("Use synthetic actor", lambda: self.request_source("synthetic:lab"))]
        if self.spec is not None and self.spec.kind == "webcam":
            offers.append(("Retry camera", lambda: self.request_source(str(self.spec))))
        return offers

    def on_source_event(self, kind: str, msg: str) -> None:
        cam = self.w.camera
        if kind in ("unavailable", "failed"):
            cam.set_source_message("no input")
            self.n.say(msg, "error", self._offers())
        elif kind == "lost":
            cam.set_source_message("camera disconnected - retrying ...")
            self.n.say(msg, "warning", self._offers())
        elif kind == "recovered":
            cam.set_source_message("")
            self.n.say(msg, "info")
        elif kind == "ended":
            cam.set_source_message("end of video")
            spec = str(self.spec) if self.spec else ""
            self.n.say(f"{msg}; stopped (tick 'loop videos' to repeat)", "info",
                       [("Play again", lambda: self.request_source(spec))])
        elif kind == "notice":
            self.w.status.add_warning(msg)

    # ------------------------------------------------------------------ frames and options
    def on_packet(self, pkt: TrackPacket) -> None:
        w = self.w
        self.screen_ms = 1e3 * (time.perf_counter() - pkt.t_capture)
        w.camera.show_packet(pkt)
        w.avatar.show_packet(pkt)
        w.plots.add(pkt)
        w.status.show_packet(pkt, self.screen_ms)
        w.calib_panel.set_recording(pkt.recording)
        if pkt.result.n_faces > 1:
            w.status.showMessage(pkt.status, 2000)

    def on_options(self) -> None:
        self.options = self.w.controls.view_options(self.options)
        st = self.settings
        for k in ("landmarks", "detected", "wireframe", "salient", "box"):
            st.set(f"overlay/{k}", getattr(self.options, k))
        st.set("avatar/mode", self.options.avatar_mode)
        st.set("avatar/wireframe", self.options.avatar_wireframe)
        self.s.set_options(self.options)

    def on_orbit(self, yaw: float, pitch: float, zoom: float) -> None:
        self.options = replace(self.options, yaw=yaw, pitch=pitch, zoom=zoom)
        self.s.set_options(self.options)

    def toggle_avatar_mode(self) -> None:
        c = self.w.controls.avatar_mode
        c.setCurrentIndex(1 - c.currentIndex())
        self.on_options()

    def on_format(self, width: int, height: int, fps: float) -> None:
        self.settings.set("width", width)
        self.settings.set("height", height)
        self.settings.set("fps", fps)
        if self.spec is not None and self.spec.kind != "video":
            self.request_source(str(self.spec))

    def on_device(self, name: str) -> None:
        dev, note = choose_device(name)
        self.settings.set("device", name)
        self.s.set_device(dev)
        self.w.status.set_device(str(dev))
        if note:
            self.w.status.add_warning(note)

    @staticmethod
    def _valid_guide(spec) -> str:
        """A saved guide spec, or the default one when it is not valid (e.g. an older settings file)."""
        try:
            return ",".join(parse_guide(spec if isinstance(spec, tuple) else str(spec))) or "none"
        except ValueError:
            return ",".join(parse_guide(DEFAULT_GUIDE))

    def on_expressions(self, source: str) -> None:
        """The expressions combobox (saved; :mod:`models.landmark_fit` for ``fit``)."""
        self.settings.set("expression_source", source)
        self.s.set_expression_source(source)

    def on_layer(self, on: bool) -> None:
        """The expression-layer checkbox (saved; :mod:`models.expression_layer`)."""
        self.settings.set("expression_layer", bool(on))
        self.s.set_expression_layer(bool(on))

    def on_guide(self, on: bool) -> None:
        """The checkbox: on restores the last guide in use this session (the default unless ``--guide``
        chose another), off is "none"; the choice is saved."""
        if self.guide_spec != "none":
            self._guide_last = self.guide_spec
        self.guide_spec = getattr(self, "_guide_last", self._valid_guide(DEFAULT_GUIDE)) if on else "none"
        self.settings.set("guide", self.guide_spec)
        self.s.set_guide(self.guide_spec)

    def on_smoothing(self, v: float) -> None:
        self.settings.set("smoothing", v)
        self.s.set_smoothing(v)

    def on_mirror(self, on: bool) -> None:
        self.settings.set("mirror", on)
        self.s.mirror = on

    def on_error(self, msg: str) -> None:
        self.w.status.add_warning(msg)
        self.n.say(msg, "error")

    # ------------------------------------------------------------------ calibration
    def start_calibration(self, seconds: float) -> None:
        self.settings.set("calib/seconds", seconds)
        room = self.spec.room if self.spec is not None and self.spec.kind == "synthetic" else \
            (self.s.source.name if self.s.source is not None else "")
        plan = CalibrationPlan(seconds, self.settings.get("calib/steps"), room=room, threads=self.s.threads,
                               overrides=self.adapt_overrides)
        self.s.start_calibration(plan)

    def cancel_calibration(self) -> None:
        self.s.cancel_calibration()

    def on_calib_state(self, state: str) -> None:
        self.w.calib_panel.set_state(state)
        self.w.profiles_menu.enabled_actions = state == "idle"
        self.w.controls.device.setEnabled(state == "idle")

    def on_calib_done(self, out: CalibOutcome) -> None:
        self.w.calib_panel.show_outcome(out)
        text = outcome_text(out).replace("\n", " - ")
        if out.verdict == "failed" or out.save_error:
            self.n.say(text, "error")  # needs attention: banner
        else:  # the panel shows the details; a banner would re-layout (and repaint) every view
            self.n.history.append(("info", text))
            self.w.status.showMessage(text.split(" - ")[0], 8000)

    # ------------------------------------------------------------------ profiles
    def load_profile(self, name: str) -> None:
        self.s.load_profile(name)

    def revert_profile(self) -> None:
        self.s.revert()

    def on_profile_changed(self, name: str, err: str) -> None:
        if err:
            self.n.dialog("Room profile not loaded", f"{err}\n\nTracking continues with the current model.", "error")
            self.w.status.add_warning(f"room profile {name!r} not loaded")
            return
        self.w.profiles_menu.current = name
        self.w.status.set_profile(name, self.s.setup.choice.description)
        self.settings.set("profile/last", name)

    def rename_profile(self, name: str) -> None:
        new = self.n.ask_text("Rename room profile", f"New name for \u201c{name}\u201d:", name)
        if not new or new == name:
            return
        try:
            self.w.store.rename(name, new)
        except (ProfileError, OSError) as e:
            self.n.dialog("Rename failed", str(e), "error")
            return
        if self.s.profile == name:
            self.s.profile = new
            self.on_profile_changed(new, "")

    def delete_profile(self, name: str) -> None:
        if not self.n.confirm("Delete room profile", f"Delete the room profile \u201c{name}\u201d from disk?"):
            return
        try:
            self.w.store.delete(name)
        except (ProfileError, OSError) as e:
            self.n.dialog("Delete failed", str(e), "error")
            return
        self.n.say(f"room profile \u201c{name}\u201d deleted" + (" (the model in use stays until you revert)"
                                                                 if self.s.profile == name else ""), "info")

    def show_shortcuts(self) -> None:
        self.n.dialog("Shortcuts", shortcuts_text(), "info")
