"""Every error a user can act on produces its message, and the app keeps running."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from app.pipeline.profiles import ProfileStore
from app.sources import ArraySource, SourceSpec
from app.sources.synthetic import SyntheticSource
from tests.clips import write_video

from .conftest import PacketLog, wait_for
from .test_calibration import same_weights
from .test_window import fixed_clip


def banner_says(w, text: str) -> bool:
    return w.banner.isVisible() and text.lower() in w.banner.label.text().lower()


def click_banner(w, title: str) -> None:
    for b in w.banner._buttons:
        if b.text() == title:
            b.click()
            return
    raise AssertionError(f"no banner button {title!r}: {w.banner.action_titles}")


def test_no_camera_offers_video_and_synthetic(make_window, qtbot):
    w = make_window("webcam:7")
    wait_for(qtbot, lambda: banner_says(w, "no camera found at index 7"), what="no-camera banner")
    assert {"Open video ...", "Use synthetic actor", "Retry camera"} <= set(w.banner.action_titles)
    assert "no input" in [c[0] for c in w.camera.captions]
    log = PacketLog(w.session)
    click_banner(w, "Use synthetic actor")
    log.wait(qtbot, 2, lambda p: p.source == "synthetic:lab" and p.result.found)


def test_camera_unplugged_mid_run_shows_a_message_and_retries(make_window, qtbot):
    frames, truths = fixed_clip(2)
    cam = ArraySource(frames, truths, name="webcam:0", fail_after=6, paced=True)
    w = make_window(source_obj=cam, spec=SourceSpec("synthetic"))
    log = PacketLog(w.session)
    wait_for(qtbot, lambda: "stopped delivering frames" in w.notifier.messages(), what="unplugged banner")
    lost = next(t for _, t in w.notifier.history if "stopped delivering" in t)
    assert "retrying every" in lost
    wait_for(qtbot, lambda: banner_says(w, "is back"), what="recovered")
    assert cam.opened == 2 and w.camera.source_message == ""
    log.wait(qtbot, 2, lambda p: p.result.found)


def test_corrupt_video_says_so(make_window, qtbot, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 500)
    w = make_window("synthetic:lab")
    w.controller.request_source(f"video:{bad}")
    wait_for(qtbot, lambda: banner_says(w, "cannot read video"), what="corrupt-video banner")
    assert "Use synthetic actor" in w.banner.action_titles
    w.controller.request_source(f"video:{tmp_path / 'missing.mp4'}")
    wait_for(qtbot, lambda: banner_says(w, "does not exist"), what="missing-video banner")


def test_end_of_video_stops_or_loops(make_window, qtbot, tmp_path):
    video = write_video(tmp_path / "short.mp4", n=6)
    w = make_window("synthetic:lab")
    log = PacketLog(w.session)
    w.controls.loop.setChecked(False)
    w.controller.request_source(f"video:{video}")
    wait_for(qtbot, lambda: banner_says(w, "end of video"), what="end-of-video banner")
    assert "Play again" in w.banner.action_titles and "end of video" in w.camera.source_message
    w.controls.loop.setChecked(True)
    start = len(log.packets)
    w.controller.request_source(f"video:{video}")

    def wraps() -> int:
        """Restarts seen: a frame of the clip's second half followed by one of its first half (frames in
        between may be dropped, latest wins, so the last frame itself need not be shown)."""
        pos = [p.position for p in log.packets[start:] if p.source == "video:short.mp4"]
        return sum(1 for a, b in zip(pos, pos[1:]) if a >= 3 and b <= 2)

    wait_for(qtbot, lambda: wraps() >= 2, what="the clip playing through its end and restarting, twice")
    pos = [p.position for p in log.packets[start:] if p.source == "video:short.mp4"]
    assert max(pos) >= 4 and min(pos) == 0
    assert not banner_says(w, "end of video")


def test_no_face_is_said_and_the_avatar_holds_then_fades(make_window, qtbot):
    present = {"face": True}  # the actor steps away when the test says so
    src = SyntheticSource("lab", width=320, height=240, faces=lambda i: 1 if present["face"] else 0)
    w = make_window(source_obj=src, spec=SourceSpec("synthetic"))
    log = PacketLog(w.session)
    backdrop = w.session.pipeline.options.avatar_size
    log.wait(qtbot, 1, lambda p: p.result.found and p.avatar_rgb is not None and not np.array_equal(
        p.avatar_rgb, w.session.pipeline.drawer.backdrop(backdrop)), timeout=30)  # the avatar is drawn
    present["face"] = False
    lost = log.wait(qtbot, 1, lambda p: not p.result.found)[0]
    assert lost.status == "no face in view" and "No face in view" in [c[0] for c in w.camera.captions]
    assert lost.avatar_rgb is not None and not np.array_equal(lost.avatar_rgb, w.session.pipeline.drawer.backdrop(
        lost.avatar_rgb.shape[0])), "the avatar holds its last pose first"
    faded = log.wait(qtbot, 1, lambda p: not p.result.found and p.t_capture - lost.t_capture > 2.0,
                     timeout=30)[-1]
    assert np.array_equal(faded.avatar_rgb, w.session.pipeline.drawer.backdrop(faded.avatar_rgb.shape[0]))


def test_two_faces_track_the_largest_and_say_so(make_window, qtbot):
    src = SyntheticSource("office", width=320, height=240, faces=lambda i: 2)
    w = make_window(source_obj=src, spec=SourceSpec("synthetic"))
    log = PacketLog(w.session)
    p = log.wait(qtbot, 2, lambda p: p.result.found)[-1]
    assert p.result.n_faces == 2 and p.status == "2 faces in view: tracking the largest"
    assert any("2 faces" in c[0] for c in w.camera.captions)
    box = p.result.box
    assert box[2] > 0.25 * 240, "the crop box is the big (front) face"


@pytest.mark.parametrize("problem", ["missing", "corrupt"])
def test_bad_bundle_dialog_and_fallback_to_the_default(make_window, qtbot, tmp_path, tiny_bundle, problem):
    path = tmp_path / "nowhere"
    if problem == "corrupt":
        shutil.copytree(tiny_bundle, path)
        w = path / "weights.safetensors"
        data = bytearray(w.read_bytes())
        data[len(data) // 2] ^= 0xFF
        w.write_bytes(bytes(data))
    w = make_window("synthetic:lab", "--bundle", str(path))
    text = w.notifier.messages()
    assert f"could not load the avatar bundle {path}" in text and "Falling back to the default avatar" in text
    assert ("not found" if problem == "missing" else "checksum") in text
    assert w.notifier.dialogs, "a dialog tells the user"
    assert "tiny (tiny profile)" in w.status.profile.text()
    PacketLog(w.session).wait(qtbot, 2, lambda p: p.result.found)


def test_missing_default_avatar_runs_an_untrained_stand_in_loudly(make_window, qtbot, monkeypatch, tmp_path):
    monkeypatch.setattr("app.pipeline.bundles.DEFAULT_BUNDLE", tmp_path / "no_default_avatar")
    w = make_window("synthetic:lab", "--bundle", str(tmp_path / "also_missing"))
    assert "DEFAULT AVATAR IS MISSING" in w.status.warning.text()
    assert "python -m bench.build_default_avatar" in w.status.warning.toolTip()
    assert "untrained" in w.status.profile.text()
    PacketLog(w.session).wait(qtbot, 1)


def _bad_profiles(store: ProfileStore, fingerprint: str, good_weights: dict) -> None:
    store.save("Other avatar", good_weights, "0000000000000000")
    ok = store.save("Tampered", good_weights, fingerprint)
    (ok.path / "weights.safetensors").write_bytes(b"not safetensors")
    broken = store.root / "broken"
    broken.mkdir()
    (broken / "profile.json").write_text("{ not json")


def test_missing_or_corrupt_profiles_keep_the_current_model(make_window, qtbot):
    w = make_window("synthetic:lab", "--profile", "Does not exist")
    wait_for(qtbot, lambda: w.notifier.dialogs, what="missing-profile dialog")
    assert "no room profile named 'Does not exist'" in w.notifier.messages()
    tracker, store = w.session.pipeline.tracker, w.store
    base = tracker.weights()
    _bad_profiles(store, w.session.setup.fingerprint, base)
    w.profiles_menu.rebuild()
    assert any("(unreadable)" in a.text() for a in w.profiles_menu.actions())
    for name, why in (("Other avatar", "another avatar"), ("Tampered", "checksum"), ("broken", "corrupt")):
        n = len(w.notifier.dialogs)
        w.profiles_menu.load_requested.emit(name)
        wait_for(qtbot, lambda n=n: len(w.notifier.dialogs) > n, what=f"{name} dialog")
        assert why in w.notifier.history[-1][1], w.notifier.history[-1]
        assert same_weights(tracker.weights(), base)
    assert "not loaded" in w.status.warning.text()
    w.notifier.confirm = lambda *a: True
    w.profiles_menu.delete_requested.emit("broken")
    assert "broken" not in [p.slug for p in store.list()]
    PacketLog(w.session).wait(qtbot, 2, lambda p: p.result.found)


def test_cuda_out_of_memory_falls_back_to_cpu_with_a_notice(make_window, qtbot):
    w = make_window("synthetic:lab")
    log = PacketLog(w.session)
    log.wait(qtbot, 1)
    tracker = w.session.pipeline.tracker
    real = tracker.infer
    calls = {"n": 0}

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        if calls["n"] == 3:
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        return real(*a, **k)

    tracker.infer = flaky
    log.wait(qtbot, 3, lambda p: p.result.found)
    wait_for(qtbot, lambda: "CUDA ran out of memory: tracking continues on the CPU" in w.status.warning.toolTip(),
             what="OOM notice")
    wait_for(qtbot, lambda: "illegal memory access" in w.status.warning.toolTip(), what="CUDA error notice")
    assert tracker.device.type == "cpu" and calls["n"] >= 4


def test_cuda_asked_without_cuda_uses_the_cpu_with_a_notice(make_window, qtbot):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    w = make_window("synthetic:lab", "--device", "cuda")
    assert "CUDA was asked for but is not available" in w.status.warning.text()
    assert "cpu" in w.status.device.text()
    PacketLog(w.session).wait(qtbot, 1, lambda p: p.result.found)


def test_errors_are_logged_as_json_friendly_history(make_window, qtbot):
    w = make_window("webcam:9")
    wait_for(qtbot, lambda: banner_says(w, "no camera"), what="banner")
    json.dumps(w.notifier.history)  # plain strings
    assert w.notifier.history[-1][0] == "error"


def test_avatar_helper_dying_falls_back_and_says_so(make_window, qtbot):
    """The avatar-drawing helper process dies: drawing moves into the tracking thread, the avatar
    keeps coming and the status bar says why."""
    w = make_window()
    log = PacketLog(w.session)
    drawer = w.session.pipeline.drawer
    wait_for(qtbot, lambda: drawer._proc is not None and drawer._ready_by is None, timeout=30,
             what="the avatar helper")  # set by the tracking thread when the helper said "ready"
    drawer._proc.kill()
    p = log.wait(qtbot, 1, lambda p: "render process" in p.notice, timeout=30)[-1]
    assert p.avatar_rgb is not None and any("render process" in x for x in w.status.warnings)
    log.wait(qtbot, 3)  # still tracking
