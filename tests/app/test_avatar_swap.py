"""A swapped-in avatar keeps the user's tracker settings (smoothing, expression guide, gaze)."""

import pytest

from app.pipeline.avatar_swap import SwapError, prepare
from app.pipeline.detectors import GroundTruthDetector
from models import bundle as B
from models.tracker import Tracker


def test_prepare_copies_the_tracker_settings(tiny_bundle):
    like = Tracker(B.load(tiny_bundle), "cpu", GroundTruthDetector(), smoothing=0.3, guide="brows", gaze=False)
    p = prepare(tiny_bundle, like)
    t = p.tracker
    assert t.smoother.strength == pytest.approx(0.3) and t.guide_spec == "brow_up,brow_down" and t.gaze is None
    assert t.detector is like.detector and t.expression_source == like.expression_source
    like.set_gaze(True)
    like.set_guide("none")
    t2 = prepare(tiny_bundle, like).tracker
    assert t2.gaze is not None and t2.guide_spec == "none"


def test_prepare_refuses_a_broken_bundle(tmp_path, tiny_bundle):
    like = Tracker(B.load(tiny_bundle), "cpu", GroundTruthDetector())
    with pytest.raises(SwapError):
        prepare(tmp_path / "nothing here", like)
