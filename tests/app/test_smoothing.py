"""The smoothing slider reaches the tracker's crop smoother and output filter; the output filter
starts again when the face is lost, so the first frame after it is the networks' own answer."""

from __future__ import annotations

import numpy as np
import pytest

from app.pipeline.detectors import GroundTruthDetector
from app.sources.synthetic import SyntheticSource
from models import bundle as B
from models.tracker import Tracker

from .conftest import PacketLog, wait_for


def test_the_smoothing_slider_reaches_the_tracker(make_window, qtbot):
    w = make_window("synthetic:lab")
    log = PacketLog(w.session)
    log.wait(qtbot, 1)
    tracker = w.session.pipeline.tracker
    assert tracker.output_filter.cfg.strength == pytest.approx(0.5) and tracker.output_filter.enabled
    for value in (20, 0, 95):
        w.controls.smoothing.setValue(value)
        s = value / 100
        wait_for(qtbot, lambda s=s: tracker.output_filter.cfg.strength == pytest.approx(s), what=f"strength {s}")
        assert tracker.smoother.strength == pytest.approx(s)
        assert tracker.output_filter.enabled is (value > 0)
        assert w.settings.get("smoothing") == pytest.approx(s)
    log.wait(qtbot, 2, lambda p: p.result.found)  # still tracking after the changes


def _frames(n: int):
    src = SyntheticSource("lab", width=320, height=240)
    src.open()
    grabs = [src.read() for _ in range(n)]
    src.close()
    return grabs


def test_the_output_filter_restarts_when_the_face_is_lost(tiny_bundle):
    grabs = _frames(6)
    det = GroundTruthDetector()
    tracker = Tracker(B.load(tiny_bundle), "cpu", det, smoothing=0.9)

    def track(i: int, face: bool = True):
        det.set_truth(grabs[i].truth if face else None)
        return tracker.track(grabs[i].image, timestamp=i / 30)

    for i in range(3):
        assert track(i).found
    assert tracker.output_filter.t == pytest.approx(2 / 30) and tracker.output_filter.fz.x is not None
    lost = track(3, face=False)
    assert not lost.found and lost.message == "no face in view"
    assert tracker.output_filter.t is None and tracker.output_filter.fz.x is None, "the filter must restart"
    after = track(4)
    fresh = Tracker(B.load(tiny_bundle), "cpu", GroundTruthDetector(), smoothing=0.9)
    fresh.detector.set_truth(grabs[4].truth)
    first = fresh.track(grabs[4].image, timestamp=4 / 30)
    np.testing.assert_allclose(after.z, first.z, atol=1e-6, err_msg="no memory of the face before it was lost")
    np.testing.assert_allclose(after.H_frame, first.H_frame, atol=1e-4)
    # control: without the loss the same frame is blended with the history (the filter is on)
    cont = Tracker(B.load(tiny_bundle), "cpu", GroundTruthDetector(), smoothing=0.9)
    for i in (0, 1, 2, 4):
        cont.detector.set_truth(grabs[i].truth)
        blended = cont.track(grabs[i].image, timestamp=i / 30)
    assert not np.allclose(blended.z, first.z, atol=1e-6)


def test_the_guide_checkbox_reaches_the_tracker_and_is_remembered(make_window, qtbot):
    w = make_window("synthetic:lab")
    log = PacketLog(w.session)
    log.wait(qtbot, 1)
    tracker = w.session.pipeline.tracker
    default = "blink,brow_up,brow_down,smile,pucker"  # models.code_guide.DEFAULT_GUIDE, spelled out
    assert w.controls.guide.isChecked() and tracker.guide_spec == default
    w.controls.guide.setChecked(False)
    wait_for(qtbot, lambda: tracker.guide_spec == "none", what="guide off")
    assert w.settings.get("guide") == "none"
    w.controls.guide.setChecked(True)
    wait_for(qtbot, lambda: tracker.guide_spec == default, what="guide on")
    assert w.settings.get("guide") == default
    log.wait(qtbot, 2, lambda p: p.result.found)


def test_a_guide_from_the_command_line_is_kept_through_the_checkbox(make_window, qtbot):
    w = make_window("synthetic:lab", "--guide", "all")
    PacketLog(w.session).wait(qtbot, 1)
    tracker = w.session.pipeline.tracker
    everything = "blink,brow_up,brow_down,jaw_open,smile,pucker"
    assert w.controls.guide.isChecked() and w.settings.get("guide") == everything
    wait_for(qtbot, lambda: tracker.guide_spec == everything, what="--guide all in use")
    w.controls.guide.setChecked(False)
    wait_for(qtbot, lambda: tracker.guide_spec == "none", what="guide off")
    w.controls.guide.setChecked(True)  # back to what the user had chosen, not to the default
    wait_for(qtbot, lambda: tracker.guide_spec == everything, what="guide all again")


def test_the_expression_layer_checkbox_reaches_the_tracker_and_no_expression_layer_is_saved(make_window, qtbot):
    w = make_window("synthetic:lab")
    PacketLog(w.session).wait(qtbot, 1)
    tracker = w.session.pipeline.tracker
    assert w.controls.layer.isChecked() and tracker.expression_layer_on is True
    w.controls.layer.setChecked(False)
    wait_for(qtbot, lambda: tracker.expression_layer_on is False, what="layer off")
    assert w.settings.get("expression_layer") is False
    w.controls.layer.setChecked(True)
    wait_for(qtbot, lambda: tracker.expression_layer_on is True, what="layer on")
    assert w.settings.get("expression_layer") is True
    w2 = make_window("synthetic:lab", "--no-expression-layer")
    PacketLog(w2.session).wait(qtbot, 1)
    assert not w2.controls.layer.isChecked() and w2.settings.get("expression_layer") is False
    assert w2.session.pipeline.tracker.expression_layer_on is False


def test_the_expressions_choice_reaches_the_tracker_and_is_saved(make_window, qtbot):
    w = make_window("synthetic:lab")
    PacketLog(w.session).wait(qtbot, 1)
    tracker = w.session.pipeline.tracker
    box = w.controls.expressions
    assert box.currentData() == "landmarks" and tracker.expression_source == "landmarks"
    box.setCurrentIndex(box.findData("fit"))
    box.activated.emit(box.currentIndex())
    wait_for(qtbot, lambda: tracker.expression_source == "fit", what="fit chosen")
    assert w.settings.get("expression_source") == "fit"
    # the tiny test avatar's mesh has no ARKit shapes: the tracker says it still uses the rule
    assert tracker.named_source == "landmarks"
    w2 = make_window("synthetic:lab")  # the same settings: the choice is back
    PacketLog(w2.session).wait(qtbot, 1)
    assert w2.controls.expressions.currentData() == "fit"
    wait_for(qtbot, lambda: w2.session.pipeline.tracker.expression_source == "fit", what="restored")
    w3 = make_window("synthetic:lab", "--expressions", "landmarks")  # the command line sets it, and saves it
    PacketLog(w3.session).wait(qtbot, 1)
    assert w3.controls.expressions.currentData() == "landmarks" and w3.settings.get("expression_source") == "landmarks"


def test_two_stage_is_saved_from_the_command_line_and_the_window_tracks_with_it(make_window, qtbot):
    """--two-stage reaches the tracking loop and is remembered; the window tracks frames through it."""
    w = make_window("synthetic:lab")
    assert w.settings.get("two_stage") is False and w.session.tracking.loop.two_stage is False
    w2 = make_window("synthetic:lab", "--two-stage")
    PacketLog(w2.session).wait(qtbot, 3)  # frames tracked through the two-stage loop
    assert w2.session.tracking.loop.two_stage is True and w2.settings.get("two_stage") is True
