"""The Outputs panel (offscreen window): VMC toggle with host/port validation and a sending indicator,
perfect sync, Record, the virtual camera toggle, settings persisted and restored."""

from __future__ import annotations

import pytest

from app.gui.outputs_controller import OutputsController
from app.gui.settings import Settings
from app.gui.views.outputs_panel import OutputsPanel
from app.outputs.hub import Outputs
from app.outputs.takes import list_takes

from .conftest import PacketLog, wait_for
from .osc_receiver import OscReceiver


def test_vmc_toggle_validation_indicator_and_settings(make_window, qtbot):
    w = make_window("synthetic:lab")
    p, out = w.outputs_panel, w.session.outputs
    with OscReceiver() as rx:
        for host, port, why in (("not a host!", str(rx.port), "not an IP address"), ("127.0.0.1", "70000", "1-65535"),
                                ("127.0.0.1", "port", "must be a number")):
            p.host.setText(host)
            p.port.setText(port)
            p.vmc.setChecked(True)
            assert why in p.error.text() and not p.vmc.isChecked() and out.vmc is None
        assert w.settings.get("outputs/vmc") is False
        p.port.setText(str(rx.port))
        p.vmc.setChecked(True)
        assert p.error.text() == "" and out.vmc is not None and (out.vmc.host, out.vmc.port) == ("127.0.0.1", rx.port)
        wait_for(qtbot, lambda: any(len(d) > 1 for d in rx.datagrams), what="tracked frames over VMC")
        wait_for(qtbot, lambda: p.indicator.text().startswith("sending"), what="the sending indicator")
        assert "msg/s" in p.indicator.text()
        p.perfect_sync.setChecked(True)
        assert out.vmc.perfect_sync
        n0 = len(rx.datagrams)
        wait_for(qtbot, lambda: any(a[2][0] == "JawOpen" for d in rx.datagrams[n0:] for a in d
                                    if a[0] == "/VMC/Ext/Blend/Val"), what="perfect-sync names")
    st = Settings()  # what a restart reads
    assert st.get("outputs/vmc") is True and st.get("outputs/vmc_port") == rx.port
    assert st.get("outputs/vmc_host") == "127.0.0.1" and st.get("outputs/perfect_sync") is True
    p.vmc.setChecked(False)
    assert out.vmc is None and w.settings.get("outputs/vmc") is False
    w.outputs_control.refresh()
    assert p.indicator.text() == "VMC off"


def test_settings_are_restored_into_a_new_panel(app_env, qtbot):
    st = Settings()
    st.set("outputs/vmc", True)
    st.set("outputs/vmc_host", "localhost")
    st.set("outputs/vmc_port", 40000)
    st.set("outputs/perfect_sync", True)
    st.set("outputs/vcam_mode", "side by side")
    st.sync()
    panel, outputs = OutputsPanel(), Outputs()
    qtbot.addWidget(panel)
    OutputsController(panel, outputs, Settings())
    try:
        assert (panel.host.text(), panel.port.text()) == ("localhost", "40000")
        assert panel.perfect_sync.isChecked() and panel.vmc.isChecked()
        assert panel.vcam_mode.currentText() == "side by side"
        assert outputs.vmc is not None and (outputs.vmc.port, outputs.vmc.perfect_sync) == (40000, True)
    finally:
        outputs.close()


def test_record_button_writes_a_take_into_the_user_data_folder(make_window, qtbot, app_env):
    w = make_window("synthetic:lab")
    p, out = w.outputs_panel, w.session.outputs
    wait_for(qtbot, lambda: w.avatar.paints > 0, what="first frames")
    p.record.click()
    assert out.take is not None and p.record.text() == "Stop"
    wait_for(qtbot, lambda: out.take.frames >= 5, what="frames in the take")
    p.record.click()
    assert out.take is None and p.record.text() == "Record" and "frames in" in p.take.text()
    takes = list_takes()  # ROOMFIT_DATA_DIR/takes (tmp)
    assert len(takes) == 1 and takes[0].frames >= 5 and takes[0].video and takes[0].error == ""
    assert takes[0].path.parent == app_env / "data" / "takes"


def test_virtual_camera_toggle_never_crashes(make_window, qtbot):
    pyvirtualcam = pytest.importorskip("pyvirtualcam")
    from .test_outputs_vcam import FakeBackend

    w = make_window("synthetic:lab")
    p, out = w.outputs_panel, w.session.outputs
    PacketLog(w.session).wait(qtbot, 2)  # the source is open (closing a window mid-open aborts Qt)
    saved = dict(pyvirtualcam.camera.BACKENDS)
    pyvirtualcam.camera.BACKENDS.clear()  # this machine: no backend at all
    try:
        p.vcam.setChecked(True)
        assert not p.vcam.isChecked() and out.vcam is None
        assert "v4l2loopback" in p.vcam_state.text() or "OBS" in p.vcam_state.text()
        pyvirtualcam.register_backend("roomfit_fake", FakeBackend)
        p.vcam.setChecked(True)
        assert p.vcam.isChecked() and out.vcam is not None and w.settings.get("outputs/vcam")
        wait_for(qtbot, lambda: out.vcam.frames > 3, what="virtual camera frames")
        w.outputs_control.refresh()
        assert "fake0" in p.vcam_state.text()
        p.vcam.setChecked(False)
        assert out.vcam is None and not w.settings.get("outputs/vcam")
    finally:
        pyvirtualcam.camera.BACKENDS.clear()
        pyvirtualcam.camera.BACKENDS.update(saved)
