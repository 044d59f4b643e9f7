"""What the window does with the Avatar menu (GUI thread): the picker, rename / delete, and the
Create my avatar dialog.

Switching avatars: the bundle is loaded and a warmed-up tracker built on a background thread
(:func:`app.pipeline.avatar_swap.prepare`), then swapped in by the tracking thread between two
frames (:func:`app.pipeline.avatar_swap.install`); tracking never stops and a bundle that does not
load leaves the current avatar in place with a dialog. The choice is remembered in the settings
(``avatar/current``, the avatar's folder name) and restored at start; a remembered avatar that is
gone falls back to the default with a status message. A room profile belongs to one avatar, so a
switch leaves the room profile ("base avatar").
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from ..pipeline import bundles
from ..pipeline.avatar_swap import Prepared, SwapError, install, prepare
from ..pipeline.avatars import DEFAULT_NAME, AvatarError, AvatarStore
from .views.avatar_menu import AvatarMenu
from .views.enroll_dialog import EnrollDialog

log = logging.getLogger(__name__)
CLEAN = {k: False for k in ("landmarks", "detected", "wireframe", "salient", "box")}  # no overlays in the frames


class AvatarController(QObject):
    _loaded = Signal(str, object, str)  # slug, Prepared | None, error ("" = ok); from the loader thread
    switched = Signal(str)  # slug now in use ("" = default), after the swap was handed to the tracker

    def __init__(self, window, store: AvatarStore, menu: AvatarMenu, engine=None) -> None:
        super().__init__(window)
        self.w, self.s, self.settings, self.n = window, window.session, window.settings, window.notifier
        self.store, self.menu = store, menu
        self.engine = engine  # the enrollment engine's command (None: app.pipeline.enroll_job.ENGINE); tests fake it
        setup = self.s.setup
        self.base = Prepared(setup.tracker, setup.choice, setup.fingerprint)  # what "Default avatar" is
        self.current = ""
        self.loading: str | None = None
        self.dialog: EnrollDialog | None = None
        self._restoring = False
        self._loaded.connect(self._on_loaded)
        menu.create_requested.connect(self.open_enroll)
        menu.resume_requested.connect(self.open_enroll)
        menu.select_requested.connect(self.select)
        menu.rename_requested.connect(self.rename)
        menu.delete_requested.connect(self.delete)
        self.restore()

    # ------------------------------------------------------------------ start-up
    def started_with_default(self) -> bool:
        """False when the app was started with another bundle (``--bundle``): that one then wins."""
        path = self.base.choice.path
        return path is None or Path(path).resolve() == Path(bundles.DEFAULT_BUNDLE).resolve()

    def restore(self) -> None:
        slug = self.settings.get("avatar/current")
        if not slug:
            return
        if not self.started_with_default():
            log.info("started with --bundle %s: the remembered avatar %r is not loaded", self.base.choice.path, slug)
            return
        try:
            self.store.find(slug)
        except AvatarError as e:
            self.settings.set("avatar/current", "")
            msg = f"your avatar {slug!r} is no longer available ({e}); using the default avatar"
            self.w.status.add_warning(msg)
            self.w.status.showMessage(msg, 10000)
            return
        self._restoring = True
        self.select(slug)

    # ------------------------------------------------------------------ picker
    def select(self, slug: str) -> None:
        """Load ``slug`` ("" = default avatar) into the live tracker."""
        self.menu.current = self.current  # the check mark follows the avatar in use, not the click
        if slug == self.current and self.loading is None:
            return
        if self.loading is not None:
            self.n.say("an avatar is still being loaded; try again in a moment", "info")
            return
        if self.s.calibration != "idle":
            self.n.say("wait for the calibration to finish before switching avatars", "info")
            return
        if not slug:
            self._on_loaded("", self.base, "")
            return
        try:
            info = self.store.find(slug)
        except AvatarError as e:
            self.n.dialog("Avatar not loaded", str(e), "error")
            return
        self.loading = slug
        self.menu.enabled_actions = False
        self.w.status.showMessage(f"loading the avatar \u201c{info.name}\u201d ...", 10000)
        like = self.s.pipeline.tracker

        def work() -> None:
            try:
                got, err = prepare(info.path, like, f"{info.name} (personal avatar)"), ""
            except (SwapError, RuntimeError, OSError, ValueError, KeyError) as e:
                got, err = None, str(e)
            try:
                self._loaded.emit(slug, got, err)  # queued to the GUI thread
            except RuntimeError:  # the window closed meanwhile
                log.info("avatar %r loaded after the window closed", slug)

        threading.Thread(target=work, name="avatar-load", daemon=True).start()

    def _on_loaded(self, slug: str, ready: Prepared | None, err: str) -> None:
        restoring, self._restoring = self._restoring, False
        self.loading = None
        self.menu.enabled_actions = True
        if ready is None:
            text = f"{err}\n\nTracking continues with the current avatar."
            if restoring:
                self.settings.set("avatar/current", "")
                self.w.status.add_warning(f"your avatar {slug!r} could not be loaded; using the default avatar")
            self.n.dialog("Avatar not loaded", text, "error")
            return
        s, base = self.s, ready is self.base

        def go() -> None:  # tracking thread, between two frames
            if base:
                ready.tracker.revert()  # a room profile it had is gone with the switch
            install(s.pipeline, ready.tracker)
            s.setup.tracker, s.setup.choice, s.setup.fingerprint, s.setup.profile = \
                ready.tracker, ready.choice, ready.fingerprint, None
            s.calib.fingerprint = ready.fingerprint

        s.tracking.call_soon(go)
        s.profile = ""
        self.w.profiles_menu.current = ""
        self.current = self.menu.current = slug
        self.settings.set("avatar/current", slug)
        self.w.status.set_profile("", ready.choice.description)
        self.w.status.showMessage(f"avatar: {ready.choice.description}", 5000)
        self.switched.emit(slug)

    def rename(self, slug: str) -> None:
        old = next((a.name for a in self.store.list() if a.slug == slug), slug)
        new = self.n.ask_text("Rename avatar", f"New name for \u201c{old}\u201d:", old)
        if not new or new == old:
            return
        try:
            info = self.store.rename(slug, new)
        except (AvatarError, OSError) as e:
            self.n.dialog("Rename failed", str(e), "error")
            return
        if slug == self.current:
            self.w.status.set_profile(self.s.profile, f"{info.name} (personal avatar)")
        self.menu.rebuild()

    def delete(self, slug: str) -> None:
        name = next((a.name for a in [*self.store.list(), *self.store.unfinished()] if a.slug == slug), slug)
        if not self.n.confirm("Delete avatar", f"Delete the avatar \u201c{name}\u201d and every file made for it "
                                               "(recording, enrollment work, bundle)?"):
            return
        if self.dialog is not None and self.dialog.slot is not None and self.dialog.slot.name == slug:
            self.n.dialog("Delete failed", "close the Create my avatar window first", "error")
            return
        was_current = slug == self.current
        if was_current:
            self.select("")  # the default avatar first
            if self.current == slug:
                return  # not switched (a calibration runs): said why
        try:
            self.store.delete(slug)
        except (AvatarError, OSError) as e:
            self.n.dialog("Delete failed", str(e), "error")
            return
        self.menu.rebuild()
        back = f"; back to the {DEFAULT_NAME.lower()}" if was_current else ""
        self.n.say(f"avatar \u201c{name}\u201d deleted{back}", "info")

    # ------------------------------------------------------------------ enrollment
    def open_enroll(self, resume: str = "") -> EnrollDialog:
        if self.dialog is None:
            d = EnrollDialog(self.store, self.w, self.engine, self.settings.get("device"), lambda: self.s.mirror)
            self.s.packet.connect(d.on_packet)
            d.recording_changed.connect(self._clean_frames)
            d.avatar_created.connect(self._created)
            d.use_requested.connect(self.select)
            d.finished.connect(self._dialog_closed)
            self.dialog = d
        d = self.dialog
        d.show()
        d.raise_()
        if resume and d.state == "intro":
            i = d.pending.findData(resume)
            if i >= 0:
                d.pending.setCurrentIndex(i)
                d.resume()
        return d

    def _clean_frames(self, on: bool) -> None:
        """While the dialog records, the camera frames carry no overlays (the clip is the raw camera).
        No redraw: it waits for the avatar render (seconds on a loaded CPU) and would stall the first prompt."""
        opts = self.w.controller.options
        self.s.set_options(replace(opts, **CLEAN) if on else opts, redraw=False)

    def _created(self, slug: str) -> None:
        self.menu.rebuild()
        name = next((a.name for a in self.store.list() if a.slug == slug), slug)
        self.w.status.showMessage(f"your avatar \u201c{name}\u201d is ready: pick it in the Avatar menu", 10000)

    def _dialog_closed(self, _result: int = 0) -> None:
        d, self.dialog = self.dialog, None
        if d is not None:
            self.s.packet.disconnect(d.on_packet)
            d.deleteLater()
        self.menu.rebuild()

    def shutdown(self) -> None:
        """Window closing: stop a recording and the enrollment engine (its finished stages are kept)."""
        if self.dialog is not None:
            self.dialog.shutdown()
