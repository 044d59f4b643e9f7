"""Calibrate to this room in the window: record, adapt, hot-swap, save, reload; cancel and crash
leave the live model bit-identical and write no profile; the GUI keeps breathing meanwhile."""

from __future__ import annotations

import json
import time

import torch
from PySide6.QtCore import QTimer

from app.profiles import ProfileStore
from app.sources import ArraySource, SourceSpec

from .conftest import PacketLog, wait_for
from .test_window import fixed_clip

FORCE_ACCEPT = (("min_gain", -1.0), ("max_landmark_worsening", 1e9))  # plumbing tests, not model quality


def same_weights(a: dict, b: dict) -> bool:
    return all(torch.equal(a[m][k], b[m][k]) for m in a for k in a[m])


def clip_window(make_window, n=24, *argv):
    frames, truths = fixed_clip(n)
    return make_window("synthetic:lab", *argv, source_obj=ArraySource(frames, truths, name="clip"),
                       spec=SourceSpec("synthetic"))


def no_profile_written() -> bool:
    root = ProfileStore().root
    return not root.exists() or not any(root.iterdir())


def adapting_window(make_window, qtbot, n: int, seconds: float, timeout: float):
    """A window whose endless calibration is past its first adaptation steps.
    -> (window, tracker, weights before, outcomes list)"""
    w = clip_window(make_window, n)
    w.settings.set("calib/steps", 100000)
    tracker = w.session.pipeline.tracker
    base = tracker.weights()
    done, progress = outcomes(w), []
    w.session.calib_progress.connect(progress.append)
    w.controller.start_calibration(seconds)
    wait_for(qtbot, lambda: len(progress) >= 2, timeout=timeout, what="adaptation steps")
    return w, tracker, base, done


def outcomes(w) -> list:
    got: list = []
    w.session.calib_done.connect(got.append)
    return got


def test_calibration_completes_swaps_weights_saves_and_reloads_a_profile(make_window, qtbot):
    w = clip_window(make_window)
    w.controller.adapt_overrides = FORCE_ACCEPT
    log = PacketLog(w.session)
    tracker = w.session.pipeline.tracker
    base = tracker.weights()
    z_before = log.wait(qtbot, 2, lambda p: p.result.found and p.position == 3)[-1].result.z
    done, progress = outcomes(w), []
    w.session.calib_progress.connect(progress.append)
    w.calib_panel.seconds.setValue(2.0)
    w.calib_panel.button.click()
    assert w.session.calibration == "recording" and w.calib_panel.cancel.isEnabled()
    log.wait(qtbot, 2, lambda p: p.recording is not None)
    wait_for(qtbot, lambda: "REC" in w.calib_panel.rec.text() or done, what="recording indicator")
    wait_for(qtbot, lambda: done, timeout=60, what="calibration")
    out = done[0]
    assert out.verdict == "accepted" and out.accepted and out.profile, out
    assert progress and progress[-1].step == progress[-1].steps == 8
    assert w.calib_panel.progress.value() == 100 and "remaining" in w.calib_panel.times.text()
    assert "Calibrated" in w.calib_panel.result.text() and out.profile in w.calib_panel.result.text()
    assert "DA loss" in w.calib_panel.result.text()
    adapted = tracker.weights()
    assert not same_weights(base, adapted), "the adapted weights must be live"
    z_after = log.wait(qtbot, 1, lambda p: p.result.found and p.position == 3)[-1].result.z
    assert not torch.allclose(torch.from_numpy(z_before), torch.from_numpy(z_after)), "tracker output must change"
    assert out.profile in w.status.profile.text()
    store = ProfileStore()
    assert [p.name for p in store.list()] == [out.profile]
    # revert to the base avatar, then load the saved profile again from the Profiles menu
    w.profiles_menu.revert_requested.emit()
    wait_for(qtbot, lambda: "base avatar" in w.status.profile.text(), what="revert")
    assert same_weights(tracker.weights(), base)
    w.profiles_menu.rebuild()
    assert any(a.text().startswith(out.profile) for a in w.profiles_menu.actions())
    w.profiles_menu.load_requested.emit(out.profile)
    wait_for(qtbot, lambda: out.profile in w.status.profile.text(), what="profile reload")
    assert same_weights(tracker.weights(), adapted)
    # rename and delete through the menu (prompts answered by the test)
    w.notifier.ask_text = lambda *a: "My office"
    w.profiles_menu.rename_requested.emit(out.profile)
    assert [p.name for p in store.list()] == ["My office"] and "My office" in w.status.profile.text()
    w.notifier.confirm = lambda *a: True
    w.profiles_menu.delete_requested.emit("My office")
    assert store.list() == []


def test_cancel_leaves_the_model_bit_identical_and_writes_nothing(make_window, qtbot):
    w, tracker, base, done = adapting_window(make_window, qtbot, 24, 1.0, timeout=30)
    w.calib_panel.cancel.click()
    wait_for(qtbot, lambda: done, timeout=30, what="cancel")
    assert done[0].verdict == "cancelled" and not done[0].accepted
    assert same_weights(tracker.weights(), base)
    assert no_profile_written(), "no (half-written) profile"
    assert w.calib_panel.button.isEnabled() and "cancelled" in w.calib_panel.result.text().lower()
    # cancelling while still recording
    w.controller.start_calibration(30.0)
    assert w.session.calibration == "recording"
    w.controller.cancel_calibration()
    wait_for(qtbot, lambda: len(done) == 2, what="recording cancel")
    assert done[1].verdict == "cancelled" and w.session.calibration == "idle"
    assert same_weights(tracker.weights(), base)


def test_crash_mid_calibration_keeps_the_live_model(make_window, qtbot, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("simulated crash inside adapt")

    monkeypatch.setattr("app.calibration.adapt", boom)
    w = clip_window(make_window, 8, "--calib-in-thread")  # the crash happens in this process
    log = PacketLog(w.session)
    tracker = w.session.pipeline.tracker
    base = tracker.weights()
    done = outcomes(w)
    w.controller.start_calibration(1.0)
    wait_for(qtbot, lambda: done, timeout=30, what="failed calibration")
    assert done[0].verdict == "failed" and "simulated crash" in done[0].reason
    assert same_weights(tracker.weights(), base)
    assert no_profile_written()
    assert "failed" in w.notifier.messages().lower()
    log.wait(qtbot, 2)  # still tracking


def test_calibration_process_dying_keeps_the_live_model(make_window, qtbot):
    """The child process that adapts is killed mid-run (e.g. by the OOM killer): the calibration
    fails with a message, nothing changes, and the next calibration starts a new process."""
    w, tracker, base, done = adapting_window(make_window, qtbot, 8, 0.5, timeout=60)
    runner = w.session.calib.runner
    assert runner is not None and runner.alive
    runner._proc.kill()
    wait_for(qtbot, lambda: done, timeout=30, what="failed calibration")
    assert done[0].verdict == "failed" and "ended unexpectedly" in done[0].reason, done[0]
    assert same_weights(tracker.weights(), base)
    assert no_profile_written()
    w.settings.set("calib/steps", 2)
    w.controller.adapt_overrides = FORCE_ACCEPT
    w.controller.start_calibration(0.5)
    wait_for(qtbot, lambda: len(done) == 2, timeout=60, what="a second calibration")
    assert done[1].verdict == "accepted" and runner.alive, done[1]


def test_gui_stall_during_calibration(make_window, qtbot, artifacts):
    """The longest gap between 5 ms timer ticks while a calibration adapts (the GUI never runs a model)."""
    w = clip_window(make_window)
    w.settings.set("calib/steps", 40)
    done, gaps, last = outcomes(w), [], [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    w.controller.start_calibration(1.5)
    wait_for(qtbot, lambda: w.session.calibration == "adapting", timeout=30, what="adapting")
    last[0] = time.perf_counter()
    timer.start(5)
    wait_for(qtbot, lambda: done, timeout=120, what="calibration")
    timer.stop()
    stall_ms = 1e3 * max(gaps)
    report = {"max_stall_ms": stall_ms, "p99_gap_ms": 1e3 * sorted(gaps)[int(0.99 * (len(gaps) - 1))],
              "ticks": len(gaps), "adapt_seconds": done[0].seconds, "steps": 40, "profile": "tiny"}
    (artifacts / "gui_stall_tiny.json").write_text(json.dumps(report, indent=2))
    print("GUI stall during calibration:", report)
    assert len(gaps) > 20
    assert stall_ms < 500, report  # target < 50 ms on an idle machine; generous for loaded CI runners
