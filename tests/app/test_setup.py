"""app.pipeline.setup's landmark-detector fallback chain: the asked-for backend, else ``auto``, else a
detector that finds nothing - each step with a notice the user sees."""

from __future__ import annotations

import pytest
import torch

from app.pipeline import setup as S
from app.pipeline.detectors import GroundTruthDetector
from models.landmark_tracking import TrackingLandmarks
from models.landmarks import LandmarkModelMissing

NO_DETECTOR = "NO LANDMARK DETECTOR: faces cannot be found"


@pytest.fixture()
def no_fan_weights(tmp_path, monkeypatch):
    """An empty torch hub folder: FAN's weights are not there (whatever this machine has cached)."""
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    return tmp_path / "hub" / "checkpoints"


def test_fan_without_weights_falls_back_to_the_oracle_on_the_synthetic_actor(no_fan_weights):
    notices: list[str] = []
    det, desc = S.landmarks_or_fallback("fan", "synthetic", notices)
    assert isinstance(det, GroundTruthDetector) and desc == "landmarks: synthetic ground truth (oracle)"
    assert len(notices) == 1, notices
    assert notices[0].startswith(f"landmarks 'fan' unavailable (FAN landmark weights not found: {no_fan_weights}")
    assert notices[0].endswith("; using 'auto'")


def test_fan_without_weights_falls_back_to_dlib_on_a_video(no_fan_weights):
    try:
        S.make_landmarks("dlib", "video")
    except Exception as e:  # noqa: BLE001 - a machine without dlib's model
        pytest.skip(f"dlib unavailable here: {e}")
    notices: list[str] = []
    det, desc = S.landmarks_or_fallback("fan", "video", notices)
    assert isinstance(det, TrackingLandmarks) and desc == "landmarks: dlib 68-point (non-commercial model)"
    assert [n.split(" (")[0] for n in notices] == ["landmarks 'fan' unavailable"]


def test_oracle_on_a_camera_is_refused_with_the_reason():
    notices: list[str] = []
    S.landmarks_or_fallback("oracle", "webcam", notices)
    assert notices[0] == ("landmarks 'oracle' unavailable (--landmarks oracle needs the synthetic source (it reads "
                          "its ground truth)); using 'auto'")


def test_when_nothing_can_be_made_the_tracker_finds_no_face_and_says_so(monkeypatch):
    def missing(name, kind):
        raise LandmarkModelMissing(f"no {name} model here")

    monkeypatch.setattr(S, "make_landmarks", missing)
    notices: list[str] = []
    det, desc = S.landmarks_or_fallback("dlib", "video", notices)
    assert isinstance(det, GroundTruthDetector) and desc == "landmarks: none"
    assert det.update(None) is None, "a detector that finds nothing"
    assert notices[0] == "landmarks 'dlib' unavailable (no dlib model here); using 'auto'"
    assert notices[1] == "landmarks 'auto' unavailable (no auto model here)"
    assert notices[2].startswith(NO_DETECTOR) and len(notices) == 3
    notices = []
    S.landmarks_or_fallback("auto", "video", notices)  # auto itself asked: tried once, no "using 'auto'"
    assert notices[0] == "landmarks 'auto' unavailable (no auto model here)" and notices[1].startswith(NO_DETECTOR)
    assert len(notices) == 2


def test_build_tracker_carries_the_fallback_notice(tiny_bundle, no_fan_weights):
    setup = S.build_tracker(str(tiny_bundle), "cpu", "fan", "synthetic")
    assert setup.landmarks == "landmarks: synthetic ground truth (oracle)"
    assert isinstance(setup.tracker.detector, GroundTruthDetector)
    assert any(n.startswith("landmarks 'fan' unavailable") for n in setup.notices), setup.notices


def test_no_expression_layer_reaches_the_tracker_and_an_avatar_swap_keeps_the_wish(tiny_bundle):
    from app.cli import build_parser
    from app.pipeline.avatar_swap import _like
    from models import bundle as B

    assert build_parser().parse_args(["--no-expression-layer"]).no_expression_layer is True
    assert build_parser().parse_args([]).no_expression_layer is False
    on = S.build_tracker(None, "cpu", "dlib", "video")  # the default avatar, on the template head
    off = S.build_tracker(None, "cpu", "dlib", "video", expression_layer=False)
    assert on.tracker.layer is not None and off.tracker.layer is None
    tiny = _like(B.load(tiny_bundle), on.tracker)  # a test-mesh avatar has no ARKit fields: no layer ...
    assert tiny.layer is None and tiny.expression_layer_on is True
    assert _like(on.tracker.bundle, tiny).layer is not None  # ... and back on the default avatar it returns
