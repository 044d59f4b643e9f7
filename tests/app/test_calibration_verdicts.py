"""Every way :func:`app.pipeline.calibration.calibrate` can end without a new live model, on a real tiny
tracker and recording (no window, adaptation in this thread: a few seconds each): a rejected
verdict (DA loss not better, landmarks worse), too few frames with a face, a cancel that comes
after the last step; and the profile save error, which keeps the adapted model live but says so."""

from __future__ import annotations

import threading

import pytest
import torch

from app.pipeline import calibration as calib_mod
from app.pipeline.calibration import CalibrationPlan, calibrate
from app.pipeline.detectors import GroundTruthDetector
from app.pipeline.profiles import ProfileStore
from models import bundle as B
from models.adapt import Recording
from models.tracker import Tracker

from ..models.test_adapt import _recording
from .test_calibration import FORCE_ACCEPT, same_weights

FORCE_REJECT_DA = (("min_gain", 1e9),)  # no adaptation can drop the DA loss by 1e9 x
# DA gain always enough; any landmark error ratio (>= 0, so "worse" >= -1) counts as worse than -2
FORCE_REJECT_LANDMARKS = (("min_gain", -1e9), ("max_landmark_worsening", -2.0))


@pytest.fixture()
def tracker(tiny_bundle):
    return Tracker(B.load(tiny_bundle), "cpu", GroundTruthDetector())


@pytest.fixture()
def store(tmp_path):
    return ProfileStore(tmp_path / "profiles")


def _plan(overrides=(), steps=3):
    return CalibrationPlan(1.0, steps, room="test", overrides=overrides, nice=0)


def _nothing_saved(store: ProfileStore) -> bool:
    return not store.root.exists() or not any(store.root.iterdir())


@pytest.fixture()
def swaps(monkeypatch):
    """Every hot-swap into any tracker (the real swap still runs)."""
    calls: list = []
    real = Tracker.load_adapted

    def spy(self, weights):
        calls.append(weights)
        return real(self, weights)

    monkeypatch.setattr(Tracker, "load_adapted", spy)
    return calls


def test_forced_accept_swaps_and_saves(tracker, store, swaps):
    """The control for the rejections below: the same run with the verdict forced open does swap and save."""
    base = tracker.weights()
    out = calibrate(tracker, _recording(), _plan(FORCE_ACCEPT), store)
    assert out.verdict == "accepted" and out.accepted and out.profile, out
    assert len(swaps) == 1 and not same_weights(tracker.weights(), base)
    assert [p.name for p in store.list()] == [out.profile]


@pytest.mark.parametrize("overrides, why", [
    (FORCE_REJECT_DA, "the held-back DA loss did not improve enough"),
    (FORCE_REJECT_LANDMARKS, "landmark error on held-back frames got worse"),
], ids=["da_loss", "landmarks_worse"])
def test_a_rejected_verdict_is_not_swapped_and_saves_nothing(tracker, store, swaps, overrides, why):
    base = tracker.weights()
    out = calibrate(tracker, _recording(), _plan(overrides), store)
    assert out.verdict == "kept the current model" and not out.accepted, out
    assert out.reason.startswith(why), out.reason
    assert out.profile is None and out.save_error == ""
    assert out.before["da"] is not None and out.after["da"] is not None  # it did adapt and evaluate
    assert swaps == [] and same_weights(tracker.weights(), base)
    assert _nothing_saved(store)


def test_too_few_frames_with_a_face_skips_the_adaptation(tracker, store, swaps, monkeypatch):
    rec = _recording(n=12)
    valid = torch.zeros(12, dtype=torch.bool)
    valid[[2, 5, 9]] = True  # 3 usable frames, 4 needed
    monkeypatch.setattr(calib_mod, "adapt", lambda *a, **k: pytest.fail("adapted on too few frames"))
    base = tracker.weights()
    out = calibrate(tracker, Recording(rec.crops, rec.keypoints, valid), _plan(FORCE_ACCEPT), store)
    assert out.verdict == "kept the current model" and not out.accepted
    assert out.reason.startswith("only 3 of 12 recorded frames had a face") and "calibrate again" in out.reason
    assert (out.frames, out.valid_frames) == (12, 3)
    assert swaps == [] and same_weights(tracker.weights(), base) and _nothing_saved(store)
    empty = calibrate(tracker, Recording(rec.crops[:0], rec.keypoints[:0], valid[:0]), _plan(FORCE_ACCEPT), store)
    assert empty.verdict == "kept the current model" and empty.reason.startswith("only 0 of 0")


def test_a_cancel_after_the_last_step_still_leaves_everything_alone(tracker, store, swaps):
    """The user presses Cancel while the last step reports: the adaptation has finished (and its
    verdict accepts), but the cancel wins - no swap, no profile."""
    cancel, seen = threading.Event(), []

    def progress(p):
        seen.append(p.step)
        if p.step == p.steps:
            cancel.set()

    base = tracker.weights()
    out = calibrate(tracker, _recording(), _plan(FORCE_ACCEPT, steps=3), store, progress, cancel)
    assert seen == [1, 2, 3], "the cancel came after the last step, not before it"
    assert out.verdict == "cancelled" and not out.accepted and "unchanged" in out.reason, out
    assert out.profile is None
    assert swaps == [] and same_weights(tracker.weights(), base) and _nothing_saved(store)


def test_a_profile_that_cannot_be_saved_keeps_the_adapted_model_and_says_why(tracker, tmp_path, swaps):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the profiles folder should be")
    store = ProfileStore(blocker / "profiles")  # mkdir fails: NotADirectoryError
    base = tracker.weights()
    out = calibrate(tracker, _recording(), _plan(FORCE_ACCEPT), store)
    assert out.verdict == "accepted" and out.accepted and out.profile is None, out
    assert out.save_error.startswith("the adapted model is in use but could not be saved as a profile")
    assert "Not a directory" in out.save_error
    assert len(swaps) == 1 and not same_weights(tracker.weights(), base)
    assert blocker.is_file() and store.list() == []
