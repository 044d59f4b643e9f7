"""The window (offscreen): tracked frames from the synthetic actor, source switching, overlay
toggles, the avatar view, settings persistence."""

from __future__ import annotations

import numpy as np

from app.sources import ArraySource, SourceSpec
from app.sources.synthetic import SyntheticSource
from tests.clips import write_video

from .conftest import PacketLog, wait_for


def fixed_clip(n=3):
    """A few synthetic frames with their ground truth, replayed (deterministic images)."""
    src = SyntheticSource("lab", width=320, height=240)
    src.open()
    grabs = [src.read() for _ in range(n)]
    src.close()
    return [g.image for g in grabs], [g.truth for g in grabs]


def test_window_opens_on_the_synthetic_actor_and_shows_tracked_frames(make_window, qtbot):
    w = make_window("synthetic:lab")
    log = PacketLog(w.session)
    pkts = log.wait(qtbot, 5, lambda p: p.result.found)
    p = pkts[-1]
    assert p.source == "synthetic:lab" and p.camera_rgb.shape == (240, 320, 3)
    assert p.avatar_rgb is not None and p.avatar_rgb.std() > 1.0
    assert p.result.landmarks.shape == (68, 2) and p.status == ""
    wait_for(qtbot, lambda: w.camera.paints > 0 and w.avatar.paints > 0 and w.plots.updates > 0, what="painting")
    assert w.camera.image is not None and w.camera.image.width() == 320
    assert "FPS" in w.status.fps.text()
    assert "untrained" not in w.status.profile.text()  # the tiny bundle was loaded, not built
    assert "synthetic:lab" in w.windowTitle()


def test_source_switching(make_window, qtbot, tmp_path):
    w = make_window("synthetic:lab")
    log = PacketLog(w.session)
    log.wait(qtbot, 2)
    w.controller.request_source("synthetic:evening")
    log.wait(qtbot, 3, lambda p: p.source == "synthetic:evening")
    video = write_video(tmp_path / "clip.mp4", n=8)
    w.notifier.open_file = lambda *a: str(video)  # the file dialog
    w.controls.source_requested.emit("video:")
    got = log.wait(qtbot, 3, lambda p: p.source == "video:clip.mp4")
    assert got[-1].position >= 0
    assert w.settings.get("source") == f"video:{video}"
    frames, truths = fixed_clip(2)
    w.controller.start(ArraySource(frames, truths, name="replay"), SourceSpec("synthetic"))
    log.wait(qtbot, 3, lambda p: p.source == "replay" and p.result.found)
    assert not w.banner.isVisible()


def test_overlay_toggles(make_window, qtbot):
    frames, truths = fixed_clip(1)
    w = make_window(source_obj=ArraySource(frames, truths, name="still"), spec=SourceSpec("synthetic"))
    log = PacketLog(w.session)
    raw = frames[0][..., ::-1]
    ov = w.controls.overlay
    for k, on in (("landmarks", True), ("box", True), ("wireframe", False), ("detected", False), ("salient", False)):
        ov[k].setChecked(on)
    with_overlay = log.wait(qtbot, 2, lambda p: p.result.found)[-1].camera_rgb
    assert np.abs(with_overlay.astype(int) - raw).max() > 50, "landmarks/box must be drawn"
    ov["landmarks"].setChecked(False)
    ov["box"].setChecked(False)
    assert w.session.pipeline.options.landmarks is False
    plain = log.wait(qtbot, 2, lambda p: p.result.found and np.array_equal(p.camera_rgb, raw))
    assert plain, "with every overlay off the camera view is the raw frame"
    ov["wireframe"].setChecked(True)
    wire = log.wait(qtbot, 1, lambda p: p.result.found and not np.array_equal(p.camera_rgb, raw))[-1]
    assert wire.camera_rgb.shape == raw.shape
    assert w.settings.get("overlay/wireframe") is True and w.settings.get("overlay/landmarks") is False


def test_avatar_view_modes_and_orbit(make_window, qtbot):
    frames, truths = fixed_clip(1)
    w = make_window(source_obj=ArraySource(frames, truths, name="still"), spec=SourceSpec("synthetic"))
    log = PacketLog(w.session)
    posed = log.wait(qtbot, 2, lambda p: p.result.found)[-1].avatar_rgb
    w.avatar.set_orbit(0.8, 0.3, 1.5)
    assert w.session.pipeline.options.yaw == 0.8
    orbit = log.wait(qtbot, 1, lambda p: p.avatar_rgb is not None and not np.array_equal(p.avatar_rgb, posed))[-1]
    assert orbit.avatar_rgb.shape == posed.shape
    w.controller.toggle_avatar_mode()
    assert w.session.pipeline.options.avatar_mode == "frontal"
    w.controls.avatar_wire.setChecked(True)
    log.wait(qtbot, 1, lambda p: p.avatar_rgb is not None)
    assert w.settings.get("avatar/mode") == "frontal" and w.settings.get("avatar/wireframe") is True


def test_settings_persist_between_runs(make_window, qtbot):
    w = make_window("synthetic:lab")
    w.controls.smoothing.setValue(80)
    w.controls.mirror.setChecked(True)
    w.calib_panel.seconds.setValue(7.0)
    w.close()
    w2 = make_window("synthetic:lab")
    assert w2.controls.smoothing.value() == 80
    assert w2.controls.mirror.isChecked() and w2.session.mirror
    assert w2.calib_panel.seconds.value() == 7.0
