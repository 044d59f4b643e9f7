"""bench.gaze_real: the reference-free gaze checks, the eye and avatar sheets, on a looking studio
person (ground-truth points as the detector) and, when the shared clips are here, main() on one."""

import json
import math

import numpy as np
import pytest

from tests.conftest import REAL_DATA

pytestmark = [pytest.mark.slow, pytest.mark.gl]


def test_scores_and_sheets_on_a_looking_studio_person(tiny_head_bundle, tmp_path):
    from bench import gaze_real
    from models import bundle as B
    from models.data import load_capture
    from models.landmark_tracking import TrackingLandmarks
    from models.landmarks import OracleDetector
    from studio.capture import capture_wild

    cap = load_capture(capture_wild(11, "office", 90, tmp_path / "c", size=(384, 288), kind="gaze", seed=14))
    frames = np.ascontiguousarray(cap.video_frames()[..., ::-1])  # BGR, as read from a video
    L, gt = cap.gt["landmarks"][:, 0], cap.gt["gaze"]
    t = gaze_real.track(B.load(tiny_head_bundle[0]), frames, 30.0, TrackingLandmarks(OracleDetector(lambda i: L[i])))
    s = gaze_real.scores(t)
    assert s["frames_scored"] > 60
    # both eyes move together in the studio: their independent estimates agree
    assert s["inter_eye_r_yaw"] > 0.8, (s, np.round(np.degrees(t["gaze"][::6, :, 0]), 1).T)
    assert all(isinstance(v, float) for k, v in s.items() if k != "frames_scored")
    est = np.nanmean(t["gaze"][:, :, 0], 1)
    assert np.corrcoef(est[30:], gt[30:, 0, 0])[0, 1] > 0.8
    gaze_real.eye_sheet(frames, t, tmp_path / "eyes.png")
    gaze_real.avatar_sheet(B.load(tiny_head_bundle[0]), frames, t, tmp_path / "avatar.png")
    gaze_real.trace_plot("studio", 30.0, t, tmp_path / "trace.png")
    for f in ("eyes.png", "avatar.png", "trace.png"):
        assert (tmp_path / f).stat().st_size > 1000


@pytest.mark.skipif(not (REAL_DATA / "liveportrait_d14.mp4").exists(), reason="needs ../shared/data/real")
def test_main_on_a_real_clip(tmp_path):
    from bench import gaze_real

    videos = tmp_path / "v"
    videos.mkdir()
    (videos / "liveportrait_d14.mp4").symlink_to(REAL_DATA / "liveportrait_d14.mp4")
    assert gaze_real.main(["--videos", str(videos), "--out", str(tmp_path / "o"), "--frames", "60"]) == 0
    r = json.loads((tmp_path / "o" / "results.json").read_text())
    c = r["clips"]["liveportrait_d14"]
    assert c["frames_scored"] > 30 and math.isfinite(c["yaw_jitter_deg"])
    assert {"command", "machine", "mean", "seconds"} <= set(r)
    assert (tmp_path / "o" / "gaze_liveportrait_d14.png").exists()
