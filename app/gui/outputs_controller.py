"""What the window does with the Outputs panel (GUI thread): validates host/port, switches the
session's :class:`app.outputs.hub.Outputs`, persists the settings, refreshes the indicators.

A switch that fails (bad host, no virtual camera backend, an unwritable takes folder) turns the
toggle back off and says why in the panel; nothing here raises into the event loop.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from ..outputs.hub import Outputs
from ..outputs.takes import takes_dir
from ..outputs.vmc import check_host, check_port
from .settings import Settings
from .views.outputs_panel import OutputsPanel


def vmc_text(st) -> str:
    """The indicator's words for a VmcStatus (or None = off)."""
    if st is None:
        return "VMC off"
    if st.state == "sending":
        return (f"sending \u2022 {st.frames_per_s:.0f} frames/s \u2022 {st.messages_per_s:.0f} msg/s"
                f" \u2022 lost {st.lost}")
    if st.state == "no face":
        return f"no face: OK only \u2022 {st.frames_per_s:.0f}/s"
    return f"{st.state}" + (f": {st.message}" if st.message else "")


class OutputsController(QObject):
    def __init__(self, panel: OutputsPanel, outputs: Outputs, settings: Settings, session=None) -> None:
        super().__init__(panel)
        self.p, self.o, self.st, self.session = panel, outputs, settings, session
        self.takes_root = settings.get("outputs/takes_dir") or None  # None: the user data folder
        self._restore()
        panel.vmc_changed.connect(self.apply_vmc)
        panel.record_clicked.connect(self.record)
        panel.vcam_changed.connect(self.apply_vcam)
        panel.vcam_mode.currentTextChanged.connect(self._vcam_mode)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(500)

    def _restore(self) -> None:
        p, st = self.p, self.st
        for w in (p.vmc, p.perfect_sync, p.vcam):
            w.blockSignals(True)
        p.host.setText(st.get("outputs/vmc_host"))
        p.port.setText(str(st.get("outputs/vmc_port")))
        p.perfect_sync.setChecked(st.get("outputs/perfect_sync"))
        p.vcam_mode.setCurrentText(st.get("outputs/vcam_mode"))
        p.vmc.setChecked(st.get("outputs/vmc"))
        p.vcam.setChecked(st.get("outputs/vcam"))
        for w in (p.vmc, p.perfect_sync, p.vcam):
            w.blockSignals(False)
        if p.vmc.isChecked():
            self.apply_vmc()
        if p.vcam.isChecked():
            self.apply_vcam(True)

    def apply_cli(self, args) -> None:
        """``--vmc HOST:PORT``, ``--vmc-perfect-sync`` and ``--record DIR`` in the window (saved like the panel's)."""
        p = self.p
        if getattr(args, "vmc", None):
            host, port = args.vmc
            p.host.setText(host)
            p.port.setText(str(port))
            p.set_checked(p.perfect_sync, bool(getattr(args, "vmc_perfect_sync", False)))
            p.set_checked(p.vmc, True)
            self.apply_vmc()
        if getattr(args, "record", None):
            self.takes_root = args.record
            self.record(True)

    # ------------------------------------------------------------------ VMC
    def apply_vmc(self) -> None:
        p, st = self.p, self.st
        st.set("outputs/perfect_sync", p.perfect_sync.isChecked())
        try:
            host, port = check_host(p.host.text()), check_port(p.port.text())
        except ValueError as e:
            p.show_error(str(e))
            self.o.stop_vmc()
            p.set_checked(p.vmc, False)
            st.set("outputs/vmc", False)
            return
        p.show_error("")
        st.set("outputs/vmc_host", host)
        st.set("outputs/vmc_port", port)
        st.set("outputs/vmc", p.vmc.isChecked())
        if not p.vmc.isChecked():
            self.o.stop_vmc()
        else:
            cur = self.o.vmc
            if cur is None or (cur.host, cur.port, cur.perfect_sync) != (host, port, p.perfect_sync.isChecked()):
                err = self.o.start_vmc(host, port, p.perfect_sync.isChecked())
                if err:
                    p.show_error(err)
                    p.set_checked(p.vmc, False)
        self.refresh()

    # ------------------------------------------------------------------ takes
    def record(self, on: bool) -> None:
        p = self.p
        if on:
            src = getattr(self.session, "source", None)
            self.o.fps = float(getattr(src, "fps", 0.0) or 30.0)
            err = self.o.start_take(self.takes_root)
            if err:
                p.show_error(err)
                p.set_recording(False, "")
                return
            p.show_error("")
            p.set_recording(True, f"\u25cf recording {self.o.take.name}")
        else:
            info = self.o.stop_take()
            text = "" if info is None else f"{info.name}: {info.frames} frames in {info.path.parent}"
            p.set_recording(False, text)
            if info is not None and info.error:
                p.show_error(info.error)

    # ------------------------------------------------------------------ virtual camera
    def apply_vcam(self, on: bool) -> None:
        p = self.p
        if on:
            err = self.o.start_vcam(mode=p.vcam_mode.currentText())
            if err:
                p.vcam_state.setText(err)
                p.set_checked(p.vcam, False)
                self.st.set("outputs/vcam", False)
                return
        else:
            self.o.stop_vcam()
            p.vcam_state.setText("")
        self.st.set("outputs/vcam", on)

    def _vcam_mode(self, mode: str) -> None:
        self.st.set("outputs/vcam_mode", mode)
        if self.o.vcam is not None:
            self.apply_vcam(True)

    # ------------------------------------------------------------------ indicators
    def refresh(self) -> None:
        if self.o.take is not None and self.o.take.error:  # e.g. the disk filled up: finish what was written
            self.record(False)
        s = self.o.status()
        self.p.indicator.setText(vmc_text(s.vmc))
        if s.recording:
            self.p.take.setText(f"\u25cf recording {s.take}: {s.take_frames} frames"
                                + (f" ({s.take_dropped} dropped)" if s.take_dropped else ""))
        if self.o.vcam is not None:
            self.p.vcam_state.setText(f"{s.vcam} \u2022 {s.vcam_frames} frames")

    def takes_folder(self) -> str:
        return str(self.takes_root or takes_dir())
