"""bench.pipeline_speed on a tiny rendered clip: both modes, every key, and the modes agree."""

import json

import pytest

from bench import pipeline_speed
from tests.clips import write_video


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    write_video(d / "actor.mp4", n=8)
    return d


def test_capacity_run_writes_both_modes_and_they_agree(clip_dir, tmp_path):
    out = tmp_path / "out"
    rc = pipeline_speed.main(["--videos", str(clip_dir), "--frames", "8", "--rounds", "2", "--backends", "torch",
                              "--out", str(out)])
    assert rc == 0  # non-zero when the two modes disagree
    r = json.loads((out / "results.json").read_text())
    assert r["clips"] == ["actor"] and r["frames_per_clip"] == 8 and len(r["per_round_fps_mean_over_clips"]) == 2
    assert r["max_landmark_difference_between_modes_px"] == 0.0
    s = r["summary"]
    assert set(s) == {"torch sequential", "torch two-stage"}
    assert s["torch sequential"]["ratio_vs_torch sequential"] == 1.0
    assert all(v["fps_median"] > 0 for v in s.values())
    # dlib finds the rendered actor, so the networks ran and the agreement above compares real answers
    assert all(v["stages_ms"]["encoder"]["p50"] > 0 for v in s.values())
    assert "torch two-stage" in (out / "results.md").read_text()


def test_redetect_variants_are_labelled_and_report_the_frame_time_tail(tmp_path, monkeypatch):
    """Past the check at frame 30, only the ``near`` variant looks near the track."""
    import models.landmark_tracking as lt

    (tmp_path / "clips").mkdir()
    write_video(tmp_path / "clips" / "actor.mp4", n=34)
    calls = []
    near_fn = lt.detect_near
    monkeypatch.setattr(lt, "detect_near", lambda *a, **k: calls.append(1) or near_fn(*a, **k))
    out = tmp_path / "out"
    rc = pipeline_speed.main(["--videos", str(tmp_path / "clips"), "--frames", "34", "--rounds", "1",
                              "--backends", "torch", "--modes", "sequential", "--redetect", "whole", "--out",
                              str(tmp_path / "whole")])
    assert rc == 0 and calls == []
    rc = pipeline_speed.main(["--videos", str(tmp_path / "clips"), "--frames", "34", "--rounds", "1",
                              "--backends", "torch", "--modes", "sequential", "--redetect", "near", "whole",
                              "--out", str(out)])
    assert rc == 0 and len(calls) >= 1
    s = json.loads((out / "results.json").read_text())["summary"]
    assert set(s) == {"torch sequential", "torch sequential + whole-frame check"}
    for v in s.values():
        f = v["stages_ms"]["frame"]
        assert 0 < f["p50"] <= f["p95"] <= f["p99"] <= f["max"]
    assert "frame p50 / p95 / p99 / max ms" in (out / "results.md").read_text()


def test_the_app_loop_modes_track_every_frame_and_agree_with_the_tracker(clip_dir, tmp_path):
    """The app's TrackingLoop, without and with two_stage, fed faster than it tracks: every frame is
    tracked (lossless feeder), the landmarks equal Tracker.track's, and the encoder really ran."""
    out = tmp_path / "loop"
    rc = pipeline_speed.main(["--videos", str(clip_dir), "--frames", "8", "--rounds", "1", "--backends", "torch",
                              "--modes", "sequential", "app-loop", "app-loop-two-stage", "--out", str(out)])
    assert rc == 0
    r = json.loads((out / "results.json").read_text())
    s = r["summary"]
    assert set(s) == {"torch sequential", "torch app-loop", "torch app-loop-two-stage"}
    assert r["max_landmark_difference_between_modes_px"] == 0.0
    assert all(v["stages_ms"]["encoder"]["p50"] > 0 and v["fps_median"] > 0 for v in s.values())
