"""Calibrate to this room in the window: record, adapt, hot-swap, save, reload; cancel and crash
leave the live model bit-identical and write no profile; the GUI keeps breathing meanwhile."""

from __future__ import annotations

import torch
from PySide6.QtCore import QTimer

from app.pipeline.profiles import ProfileStore
from app.sources import ArraySource, SourceSpec
from models.tracker import Tracker

from .conftest import PacketLog, wait_for
from .test_window import fixed_clip

# plumbing tests, not model quality
FORCE_ACCEPT = (("min_gain", -1.0), ("max_landmark_worsening", 1e9), ("max_expression_drop", 1e9))
FORCE_REJECT = (("min_gain", 1e9),)  # no adaptation drops the held-back DA loss by a factor of 1e9


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
    rec_shown: list = []  # (RecordingState, the indicator's text) right after the window handled each packet
    w.session.packet.connect(lambda p: p.recording is not None and rec_shown.append((p.recording,
                                                                                      w.calib_panel.rec.text())))
    log.wait(qtbot, 2, lambda p: p.recording is not None)
    wait_for(qtbot, lambda: done, timeout=60, what="calibration")
    assert len(rec_shown) >= 2
    for r, text in rec_shown:  # the indicator follows the recording packet by packet
        assert text == f"\u25cf REC {r.elapsed:4.1f} / 2 s ({r.frames} frames)", (r, text)
    assert [r.frames for r, _ in rec_shown] == sorted(r.frames for r, _ in rec_shown)
    assert w.calib_panel.rec.text() == "", "the indicator goes away when the recording ends"
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

    monkeypatch.setattr("app.pipeline.calibration.adapt", boom)
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


def test_gui_keeps_running_while_a_calibration_adapts(make_window, qtbot, monkeypatch):
    """The GUI thread never runs a model: the adaptation runs in the calibration process (the
    in-process ``adapt`` is booby-trapped), and the GUI's event loop keeps handling timer ticks
    between the adaptation's progress reports. Counts and order only; how long the GUI stalls
    is measured by ``python -m app.tools.stall_probe`` (see bench/TIMING.md), not asserted here."""
    def trap(*a, **k):
        raise RuntimeError("adapted in the app process")

    monkeypatch.setattr("app.pipeline.calibration.adapt", trap)
    w = clip_window(make_window)
    w.settings.set("calib/steps", 6)
    w.controller.adapt_overrides = FORCE_ACCEPT
    done, events = outcomes(w), []
    timer = QTimer()
    timer.timeout.connect(lambda: events.append("tick"))
    w.session.calib_state.connect(lambda s: events.append(s))
    w.session.calib_progress.connect(lambda p: events.append(p.step))
    w.session.calib_done.connect(lambda out: events.append("done"))
    timer.start(5)
    w.controller.start_calibration(1.0)
    wait_for(qtbot, lambda: done, timeout=90, what="calibration")
    timer.stop()
    assert done[0].verdict == "accepted", done[0]  # not "failed": the trap in this process never fired
    assert w.session.calib.runner is not None and w.session.calib.runner.alive
    marks = [e for e in events if e != "tick"]
    assert marks == ["recording", "adapting", 1, 2, 3, 4, 5, 6, "idle", "done"], marks
    first, last = events.index(1), events.index(6)
    assert "tick" in events[events.index("adapting"):first], "the GUI ran while the calibration process started"
    assert "tick" in events[first:last], "the GUI ran between the adaptation's steps"


def test_rejected_calibration_is_not_swapped_writes_no_profile_and_says_so(make_window, qtbot, monkeypatch):
    swaps: list = []
    monkeypatch.setattr(Tracker, "load_adapted", lambda self, weights: swaps.append(weights))
    w = clip_window(make_window)
    w.settings.set("calib/steps", 2)
    w.controller.adapt_overrides = FORCE_REJECT
    tracker = w.session.pipeline.tracker
    base, profile_before = tracker.weights(), w.status.profile.text()
    done = outcomes(w)
    w.controller.start_calibration(1.0)
    wait_for(qtbot, lambda: done, timeout=60, what="calibration")
    out = done[0]
    assert out.verdict == "kept the current model" and not out.accepted and out.profile is None, out
    assert out.reason.startswith("the held-back DA loss did not improve enough"), out.reason
    assert swaps == [] and same_weights(tracker.weights(), base), "a rejected model must not go live"
    assert no_profile_written()
    result = w.calib_panel.result.text()
    assert result.startswith("Kept the current model.\nthe held-back DA loss did not improve enough"), result
    assert w.status.currentMessage() == "Kept the current model."
    assert w.notifier.history[-1][0] == "info" and "Kept the current model" in w.notifier.history[-1][1]
    assert not w.banner.isVisible()
    assert w.status.profile.text() == profile_before and w.session.profile != "(unsaved adapted model)"
    assert w.calib_panel.button.isEnabled() and w.session.calibration == "idle"


def test_a_recording_without_enough_faces_is_not_adapted(make_window, qtbot):
    frames, _ = fixed_clip(4)
    w = make_window("synthetic:lab", source_obj=ArraySource(frames, None, name="empty room"),
                    spec=SourceSpec("synthetic"))
    tracker = w.session.pipeline.tracker
    base, done, progress = tracker.weights(), outcomes(w), []
    w.session.calib_progress.connect(progress.append)
    w.controller.adapt_overrides = FORCE_ACCEPT
    w.controller.start_calibration(0.5)
    wait_for(qtbot, lambda: done, timeout=60, what="calibration")
    out = done[0]
    assert out.verdict == "kept the current model" and out.frames > 0 and out.valid_frames == 0, out
    assert out.reason == (f"only 0 of {out.frames} recorded frames had a face; face the camera and calibrate "
                          "again"), out.reason
    assert progress == [], "no adaptation step ran"
    assert same_weights(tracker.weights(), base) and no_profile_written()
    assert "face the camera and calibrate again" in w.calib_panel.result.text()


def test_a_cancel_after_the_last_step_keeps_the_model_and_the_next_calibration_runs(make_window, qtbot):
    """Cancel pressed while the last step reports (the adaptation has finished in the calibration
    process): nothing goes live, nothing is saved; the late cancel does not leak into the next run."""
    w = clip_window(make_window)
    w.settings.set("calib/steps", 2)
    w.controller.adapt_overrides = FORCE_ACCEPT
    tracker, worker = w.session.pipeline.tracker, w.session.calib
    base, done = tracker.weights(), outcomes(w)
    report = worker._progress  # runs in the calibration thread, before the result is read

    def cancel_on_last(p):
        report(p)
        if p.step == p.steps and len(done) == 0:
            worker.cancel()

    worker._progress = cancel_on_last
    w.controller.start_calibration(1.0)
    wait_for(qtbot, lambda: done, timeout=60, what="calibration")
    assert done[0].verdict == "cancelled" and not done[0].accepted and done[0].profile is None, done[0]
    assert same_weights(tracker.weights(), base) and no_profile_written()
    assert "cancelled" in w.calib_panel.result.text().lower()
    w.controller.start_calibration(1.0)
    wait_for(qtbot, lambda: len(done) == 2, timeout=60, what="a second calibration")
    assert done[1].verdict == "accepted" and done[1].profile, done[1]
    assert not same_weights(tracker.weights(), base)


def test_a_profile_save_error_keeps_the_adapted_model_and_says_so(make_window, qtbot):
    w = clip_window(make_window)
    w.settings.set("calib/steps", 2)
    w.controller.adapt_overrides = FORCE_ACCEPT
    root = ProfileStore().root
    root.parent.mkdir(parents=True, exist_ok=True)
    root.write_text("a file where the profiles folder should be")  # every save fails with an OSError
    tracker = w.session.pipeline.tracker
    base, done = tracker.weights(), outcomes(w)
    w.controller.start_calibration(1.0)
    wait_for(qtbot, lambda: done, timeout=60, what="calibration")
    out = done[0]
    assert out.verdict == "accepted" and out.profile is None, out
    assert out.save_error.startswith("the adapted model is in use but could not be saved as a profile"), out
    assert not same_weights(tracker.weights(), base), "the adapted model is live"
    assert w.banner.isVisible() and "could not be saved as a profile" in w.banner.label.text()
    assert w.notifier.history[-1][0] == "error"
    assert out.save_error in w.calib_panel.result.text()
    assert "(unsaved adapted model)" in w.status.profile.text()
    assert root.is_file()
