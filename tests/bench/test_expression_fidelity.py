"""bench.expression_fidelity on a tiny avatar: one short real clip (or a studio mp4 when the
shared media are absent) and one short synthetic clip; every key written, values in range."""

import json
import math
import shutil

import numpy as np
import pytest

from tests.conftest import REAL_DATA

pytestmark = [pytest.mark.slow, pytest.mark.gl]

REGIONS = {"jaw", "brows", "nose", "eyes", "mouth"}
SIGNALS = {"mouth_open", "mouth_width", "eye_open_l", "eye_open_r", "brow_height"}


def _in(x, lo, hi):
    return isinstance(x, float) and (math.isnan(x) or lo <= x <= hi)


def _check_scores(s: dict, real: bool):
    assert s["frames_scored"] <= s["frames"]
    assert set(s["nme"]) == REGIONS and set(s["r"]) == SIGNALS
    assert _in(s["nme51"], 0.0, 5.0) and all(_in(v, 0.0, 5.0) for v in s["nme"].values())
    assert all(_in(v, -1.0 - 1e-9, 1.0 + 1e-9) for v in s["r"].values())
    assert 0.0 <= s["blink"]["f1"] <= 1.0 and set(s["blink_per_eye"]) == {"eye_open_l", "eye_open_r"}
    assert _in(s["stability_2d"], 1.0 - 1e-6, 100.0)
    if real:
        assert s["frames_scored"] > 0 and np.isfinite(s["nme51"])


def test_tiny_run_writes_every_key(tiny_head_bundle, tmp_path):
    from bench import expression_fidelity

    bundle, d = tiny_head_bundle
    videos = tmp_path / "videos"
    videos.mkdir()
    real = (REAL_DATA / "liveportrait_d18.mp4").exists()
    if real:  # a link in a scratch folder: the shared clip is read in place, never copied
        (videos / "liveportrait_d18.mp4").symlink_to(REAL_DATA / "liveportrait_d18.mp4")
    else:
        from bench.table1 import ensure_wild

        shutil.copy(ensure_wild(d / "cache", 0, "office", 12) / "video.mp4", videos / "studio_p0.mp4")
    out = tmp_path / "out"
    args = ["--bundle", str(bundle), "--bundle", str(bundle), "--videos", str(videos), "--out", str(out), "--quick",
            "--frames", "12", "--persons", "3", "--synthetic-frames", "12", "--cache", str(d / "cache")]
    assert expression_fidelity.main(args) == 0
    r = json.loads((out / "results.json").read_text())
    labels = list(r["bundles"])
    assert len(labels) == 2 and labels[0] != labels[1]  # the same bundle twice: two labelled runs
    for key in ("machine", "git_commit", "command", "seconds", "definitions", "real", "real_mean", "synthetic"):
        assert key in r, key
    (clip, c), = r["real"].items()
    assert c["frames"] == 12 and len(c["sha256"]) == 64
    assert {"spread", "jitter", "ratio", "varies"} <= set(c["brow"]) and isinstance(c["brow"]["varies"], bool)
    assert 0.0 <= c["dlib"]["found_fraction"] <= 1.0
    for b in labels:
        _check_scores(c["bundles"][b]["tracker"], real)
        _check_scores(c["bundles"][b]["detector_input"], real)
        _check_scores(c["bundles"][b]["avatar_landmarks"], real)  # the projection without the corrective
        # the corrective moves the reported points towards the detector's
        assert c["bundles"][b]["tracker"]["nme51"] < c["bundles"][b]["avatar_landmarks"]["nme51"]
    assert set(r["real_mean"]) == ({f"tracker {b}" for b in labels} | {f"avatar {b}" for b in labels}
                                   | {"detector input"})
    for m in r["real_mean"].values():
        assert {"nme51", "r eye L", "r eye R", "r brow", "r brow (brow varies)", "blink F1", "2D stab max"} <= set(m)
    (sk, s), = r["synthetic"].items()
    assert sk == "p3_office" and s["frames"] == 12
    for b in labels:
        sb = s["bundles"][b]
        _check_scores(sb, True)  # simulated detector: always a face
        for k in ("expression_mae", "gaze_error_deg"):
            v = sb[k]["value"]
            assert v == "n/a" and sb[k]["reason"] or 0.0 <= v <= (1.0 if k == "expression_mae" else 180.0)
        reg = sb["vertex_error"]["per_region"]
        assert REGIONS | {"face", "all"} <= set(reg) and all(0.0 <= v < 2.0 for v in reg.values())
        assert 0.0 <= sb["blink_gt"]["from_landmarks"]["f1"] <= 1.0
    md = (out / "results.md").read_text()
    assert "Mean over the clips" in md and "Synthetic clips" in md
    assert md.count(f"| {clip} |") == 6  # 2 trackers + 2 avatars + the detector + the brow row
    for f in (f"eyes_{clip}.png", "overview.png", f"traces/{clip}.npz"):
        assert (out / f).stat().st_size > 0, f
    # the detector reference is cached by sha256 + frame range; a rerun reads it and scores the same
    cached = list((out / "reference_cache").glob(f"{clip}_*_0-12.npz"))
    assert len(cached) == 1
    assert expression_fidelity.main(args[2:] + ["--persons"]) == 0  # one bundle, no synthetic clip
    r2 = json.loads((out / "results.json").read_text())
    assert r2["real"][clip]["dlib"]["cached"] is True
    (b2,) = r2["bundles"]
    assert r2["real"][clip]["bundles"][b2]["tracker"]["nme51"] == pytest.approx(
        c["bundles"][labels[0]]["tracker"]["nme51"], nan_ok=True)
    assert "synthetic" not in r2


def test_redetect_variants_check_the_track_near_it_or_on_the_whole_frame(tiny_head_bundle, real_data, monkeypatch):
    """``--redetect near|whole`` reaches the tracker's detector: the near check runs only in the
    ``near`` variant, and both follow the same face on a real clip past a scheduled check."""
    import models.landmark_tracking as lt
    from bench.expression_tracking import read_frames, track_frames
    from models import bundle as B

    calls = []
    near_fn = lt.detect_near
    monkeypatch.setattr(lt, "detect_near", lambda *a, **k: calls.append(1) or near_fn(*a, **k))
    bundle = B.load(tiny_head_bundle[0])
    frames = read_frames(real_data / "liveportrait_d18.mp4", 0, 35)  # a scheduled check at frame 30
    whole = track_frames(bundle, frames, 30.0, redetect="whole")
    assert calls == []
    near = track_frames(bundle, frames, 30.0, redetect="near")
    assert len(calls) >= 1  # the scheduled check at frame 30 (and any check of a degraded fit)
    assert np.isfinite(near.detected).all() and np.isfinite(whole.detected).all()
    assert np.median(np.linalg.norm(near.detected - whole.detected, axis=-1)) < 2.0
