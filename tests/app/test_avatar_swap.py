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


def test_install_carries_the_choices_made_while_the_new_avatar_was_loading(tiny_bundle):
    """The user toggles things after prepare() copied them (or, for the default avatar, while another
    avatar was in use): install() brings the live tracker's choices over."""
    from app.pipeline.avatar_swap import install
    from app.pipeline.frame import Pipeline

    live = Tracker(B.load(tiny_bundle), "cpu", GroundTruthDetector(), smoothing=0.5, texture_async=True)
    new = prepare(tiny_bundle, live).tracker
    assert new.texture_async  # prepared like the live tracker
    live.set_smoothing(0.2)
    live.set_gaze(False)
    live.set_landmark_identity(False)
    live.set_expression_layer(False)
    live.set_matching(eyes=False, mouth=True)
    live.set_expression_source("fit")
    live.set_guide("brows")
    pipe = Pipeline(live)
    install(pipe, new)
    assert pipe.tracker is new and new.smoother.strength == pytest.approx(0.2)
    assert new.gaze is None and new.identity is None and new.expression_layer_on is False
    assert (new.eye_match, new.mouth_match) == (False, True)
    assert new.expression_source == "fit"
    assert new.guide_spec == "brow_up,brow_down"
