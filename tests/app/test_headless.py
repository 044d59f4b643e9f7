"""``launcher.py --headless``: the JSON report, per-frame tracks, calibration figures."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from app.cli import main
from app.pipeline.packets import STAGES
from app.sources.synthetic import SyntheticSource
from tests.clips import write_video


@pytest.fixture()
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ROOMFIT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def test_headless_writes_every_key_and_tracks(tiny_bundle, data_dir):
    out, npz = data_dir / "out.json", data_dir / "tracks.npz"
    rc = main(["--headless", "--source", "synthetic:lab", "--bundle", str(tiny_bundle), "--frames", "15",
               "--size", "320x240", "--json", str(out), "--tracks", str(npz), "--log-level", "WARNING"])
    assert rc == 0
    d = json.loads(out.read_text())
    for key in ("fps", "frames_dropped", "latency_ms", "frames", "device", "bundle", "source", "machine"):
        assert key in d, key
    assert d["frames"] >= 15 and d["fps"] > 0 and isinstance(d["frames_dropped"], int)
    for stage in STAGES:
        assert d["latency_ms"][stage]["p50"] is not None, stage
        assert d["latency_ms"][stage]["p95"] >= d["latency_ms"][stage]["p50"]
    assert d["latency_ms"]["latency"]["p95"] > 0  # camera-to-result
    t = np.load(npz)
    n = len(t["found"])
    assert n == d["frames"] and t["found"].all()
    assert t["landmarks"].shape == (n, 68, 2) and t["H"].shape == (n, 6) and t["z"].shape == (n, 16)
    assert t["timestamp"].shape == (n,) and np.all(np.diff(t["timestamp"]) > 0)
    assert np.isfinite(t["landmarks"]).all()
    # the per-person corrective moves the reported points off the avatar's own projection
    assert d["landmark_identity"] is True and not np.allclose(t["landmarks"], t["model_landmarks"])
    names = list(t["expression_names"])  # the tiny bundle has no expression head: the landmark rule names them
    assert "eyeBlinkLeft" in names and "jawOpen" in names
    assert t["expressions"].shape == (n, len(names)) and np.isfinite(t["expressions"]).all()
    assert ((t["expressions"] >= 0) & (t["expressions"] <= 1)).all()
    assert t["gaze"].shape == (n, 2, 2) and np.isfinite(t["gaze"]).all()  # models.gaze, from the iris
    assert (np.abs(t["gaze"]) <= 0.8 + 1e-6).all() and "eyeLookOutLeft" in names and d["gaze"] is True
    assert d["texture_async"] is True  # the app decodes the texture on a worker thread (models.texture_worker)
    assert d["expression_source"] == "landmarks"


def test_headless_raw_landmarks_and_no_gaze_reach_the_tracker(tiny_bundle, data_dir):
    out, npz = data_dir / "out.json", data_dir / "tracks.npz"
    rc = main(["--headless", "--source", "synthetic:lab", "--bundle", str(tiny_bundle), "--frames", "6",
               "--size", "320x240", "--json", str(out), "--tracks", str(npz), "--raw-landmarks", "--no-gaze",
               "--sync-texture", "--expressions", "fit", "--log-level", "WARNING"])
    assert rc == 0
    d, t = json.loads(out.read_text()), np.load(npz)
    assert d["landmark_identity"] is False and t["found"].any()
    assert np.array_equal(t["landmarks"], t["model_landmarks"], equal_nan=True)
    assert d["gaze"] is False and np.isnan(t["gaze"]).all()  # no gaze estimated, none saved
    assert d["texture_async"] is False
    # the tiny bundle's test mesh has no ARKit shapes to fit: the landmark rule names the weights, and says so
    assert d["expression_source"] == "landmarks" and "eyeBlinkLeft" in list(t["expression_names"])


@pytest.fixture()
def forced_verdict(monkeypatch):
    """``force(overrides)``: headless calibrations use these AdaptConfig fields (the verdict's
    thresholds); returns the list of hot-swaps into the tracker (the real swap still runs)."""
    from dataclasses import dataclass

    from app.pipeline.calibration import CalibrationPlan
    from models.tracker import Tracker

    swaps: list = []
    real = Tracker.load_adapted

    def spy(self, weights):
        swaps.append(weights)
        return real(self, weights)

    def force(chosen: tuple) -> list:
        @dataclass(frozen=True)
        class Forced(CalibrationPlan):
            overrides: tuple = chosen

        monkeypatch.setattr("app.headless.CalibrationPlan", Forced)
        monkeypatch.setattr(Tracker, "load_adapted", spy)
        return swaps

    return force


def _calibrate(tiny_bundle, data_dir, capsys, *extra) -> tuple[int, dict, str]:
    out = data_dir / "calib.json"
    rc = main(["--headless", "--source", "synthetic:tungsten", "--bundle", str(tiny_bundle), "--frames", "10",
               "--size", "320x240", "--calibrate", "1.0", "--calib-steps", "3", "--json", str(out),
               "--no-render", "--log-level", "WARNING", *extra])
    return rc, json.loads(out.read_text()), capsys.readouterr().out


def test_headless_calibration_accepted_saves_a_profile_and_swaps(tiny_bundle, data_dir, forced_verdict, capsys):
    from app.pipeline.profiles import ProfileStore

    swaps = forced_verdict((("min_gain", -1.0), ("max_landmark_worsening", 1e9), ("max_expression_drop", 1e9)))
    rc, d, stdout = _calibrate(tiny_bundle, data_dir, capsys)
    assert rc == 0
    c = d["calibration"]
    for key in ("before", "after", "verdict", "reason", "recorded", "during", "in_process"):
        assert key in c, key
    assert c["verdict"] == "accepted" and c["accepted"] and c["profile"], c
    assert c["in_process"] is True and c["save_error"] == ""
    assert c["recorded"]["frames"] == c["frames"] >= c["valid_frames"] >= 4
    assert c["before"]["da"] > 0 and c["after"]["da"] > 0 and c["before"]["landmark_error"] >= 0
    assert c["during"]["frames"] >= 1
    assert len(swaps) == 1, "the accepted model goes live"
    saved = ProfileStore(data_dir / "data" / "profiles").list()
    assert [p.name for p in saved] == [c["profile"]] and saved[0].summary["calibration"]["verdict"] == "accepted"
    assert f"[headless] calibration: accepted - {c['reason']}" in stdout


def test_headless_calibration_rejected_keeps_the_model(tiny_bundle, data_dir, forced_verdict, capsys):
    swaps = forced_verdict((("min_gain", 1e9),))
    rc, d, stdout = _calibrate(tiny_bundle, data_dir, capsys, "--calib-in-thread")  # no process start: faster
    assert rc == 0
    c = d["calibration"]
    assert c["in_process"] is False
    assert c["verdict"] == "kept the current model" and not c["accepted"] and c["profile"] is None, c
    assert c["reason"].startswith("the held-back DA loss did not improve enough"), c["reason"]
    assert c["before"]["da"] is not None and c["after"]["da"] is not None  # it adapted, then said no
    assert swaps == [], "a rejected model must not go live"
    profiles = data_dir / "data" / "profiles"
    assert not profiles.exists() or not any(profiles.iterdir())
    assert "[headless] calibration: kept the current model - the held-back DA loss did not improve" in stdout


@pytest.mark.parametrize("stages", ["--no-two-stage", "--two-stage"])
def test_headless_video_tracks_every_frame(tiny_bundle, data_dir, stages):
    """Every frame of a file is tracked, in order, the last one too (with two stages it is still in
    flight when the source ends)."""
    video = write_video(data_dir / "clip.mp4", n=12)
    out, npz = data_dir / "v.json", data_dir / "v.npz"
    rc = main(["--headless", "--source", f"video:{video}", "--bundle", str(tiny_bundle), "--frames", "1000",
               "--no-loop", "--json", str(out), "--tracks", str(npz), "--no-render", "--log-level", "WARNING", stages])
    assert rc == 0
    d = json.loads(out.read_text())
    assert d["two_stage"] is (stages == "--two-stage")
    assert d["frames"] == 12 and d["frames_dropped"] == 0
    assert any(e["kind"] == "ended" for e in d["events"])
    t = np.load(npz)
    assert list(t["frame"]) == list(range(12))
    np.testing.assert_allclose(t["timestamp"], np.arange(12) / 30.0)


def test_headless_bad_source_exits_with_a_message(tiny_bundle, data_dir, capsys):
    bad = data_dir / "bad.mp4"
    bad.write_bytes(b"this is not a video" * 100)
    rc = main(["--headless", "--source", f"video:{bad}", "--bundle", str(tiny_bundle), "--frames", "5",
               "--log-level", "WARNING"])
    assert rc == 3
    assert "cannot read video" in capsys.readouterr().err


def test_headless_video_output_filter_runs_on_media_time(tiny_bundle, data_dir):
    """A file is filtered on its own time stamps: two runs give the same tracks however fast
    they ran; ``--smoothing 0`` turns the output filter off."""
    video = write_video(data_dir / "clip.mp4", n=10)
    runs = {}
    for name, extra in (("a", []), ("b", []), ("raw", ["--smoothing", "0"])):
        out, npz = data_dir / f"{name}.json", data_dir / f"{name}.npz"
        assert main(["--headless", "--source", f"video:{video}", "--bundle", str(tiny_bundle), "--no-loop",
                     "--json", str(out), "--tracks", str(npz), "--no-render", "--log-level", "WARNING", *extra]) == 0
        runs[name] = (json.loads(out.read_text()), np.load(npz))
    assert runs["a"][0]["smoothing"] == 0.5 and runs["raw"][0]["smoothing"] == 0.0
    assert all(r[1]["found"].all() for r in runs.values())  # else NaN tracks would compare equal
    np.testing.assert_array_equal(runs["a"][1]["z"], runs["b"][1]["z"])
    np.testing.assert_array_equal(runs["a"][1]["H"], runs["b"][1]["H"])
    assert not np.allclose(runs["a"][1]["z"][1:], runs["raw"][1]["z"][1:])


def test_headless_tracks_and_json_with_the_face_leaving_the_view(tiny_bundle, data_dir):
    """Frames 4-7 of the clip are blank: their rows are NaN and found=False, the rows around them
    are finite, the report counts the found faces and stays valid JSON (no NaN)."""
    src = SyntheticSource("office", width=320, height=240)
    src.open()
    path = data_dir / "away.mp4"
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (320, 240))
    for i in range(12):
        img = src.read().image
        vw.write(np.zeros_like(img) if 4 <= i < 8 else img)
    vw.release()
    src.close()
    out, npz = data_dir / "away.json", data_dir / "away.npz"
    rc = main(["--headless", "--source", f"video:{path}", "--bundle", str(tiny_bundle), "--no-loop",
               "--json", str(out), "--tracks", str(npz), "--no-render", "--log-level", "WARNING"])
    assert rc == 0
    t = np.load(npz)
    away = np.zeros(12, bool)
    away[4:8] = True
    assert list(t["frame"]) == list(range(12))
    assert list(t["found"]) == list(~away), t["found"]
    for k in ("landmarks", "H", "z"):
        assert np.isnan(t[k][away]).all(), k
        assert np.isfinite(t[k][~away]).all(), k
    text = out.read_text()
    assert "NaN" not in text and "Infinity" not in text
    d = json.loads(text)
    assert d["frames"] == 12 and d["faces_found"] == 8


def test_headless_missing_bundle_falls_back_with_a_warning(tiny_bundle, data_dir, monkeypatch, capsys):
    monkeypatch.setattr("app.pipeline.bundles.DEFAULT_BUNDLE", tiny_bundle)
    missing = data_dir / "no_such_bundle"
    out = data_dir / "b.json"
    rc = main(["--headless", "--source", "synthetic:lab", "--bundle", str(missing), "--frames", "3",
               "--size", "320x240", "--json", str(out), "--no-render", "--log-level", "ERROR"])
    assert rc == 0
    err = capsys.readouterr().err
    assert f"[headless] WARNING: could not load the avatar bundle {missing}" in err
    assert "Falling back to the default avatar." in err
    d = json.loads(out.read_text())
    assert d["bundle_path"] == str(tiny_bundle) and d["untrained"] is False and d["frames"] >= 3
    assert any(f"could not load the avatar bundle {missing}" in w for w in d["warnings"])
    # the default avatar missing too: an untrained stand-in, said loudly
    monkeypatch.setattr("app.pipeline.bundles.DEFAULT_BUNDLE", data_dir / "no_default_avatar")
    rc = main(["--headless", "--source", "synthetic:lab", "--bundle", str(missing), "--frames", "3",
               "--size", "320x240", "--json", str(out), "--no-render", "--log-level", "ERROR"])
    assert rc == 0
    assert "[headless] WARNING: DEFAULT AVATAR IS MISSING" in capsys.readouterr().err
    d = json.loads(out.read_text())
    assert d["untrained"] is True and d["bundle_path"] is None


def test_headless_missing_camera_exits_with_a_message(tiny_bundle, data_dir, capsys):
    out = data_dir / "cam.json"
    rc = main(["--headless", "--source", "webcam:7", "--bundle", str(tiny_bundle), "--frames", "5",
               "--json", str(out), "--no-render", "--log-level", "ERROR"])
    assert rc == 3
    assert "[headless] ERROR: no camera found at index 7" in capsys.readouterr().err
    assert not out.exists(), "no report for a run that never started"


def test_headless_profile_existing_and_missing(tiny_bundle, data_dir, capsys):
    """``--profile NAME`` loads a saved room profile into the tracker (its answers change); a
    missing one is a warning and the base avatar tracks."""
    import torch

    from app.pipeline.bundles import bundle_fingerprint
    from app.pipeline.profiles import ProfileStore
    from models import bundle as B
    from models.tracker import Tracker

    video = write_video(data_dir / "clip.mp4", n=4)
    b = B.load(tiny_bundle)
    weights = Tracker(b, "cpu", detector=object()).weights()
    with torch.no_grad():
        for v in weights["i2z"].values():
            if v.is_floating_point():
                v.mul_(1.5)
    ProfileStore().save("My office", weights, bundle_fingerprint(b))

    def run(*extra):
        out, npz = data_dir / "p.json", data_dir / "p.npz"
        rc = main(["--headless", "--source", f"video:{video}", "--bundle", str(tiny_bundle), "--no-loop",
                   "--smoothing", "0", "--json", str(out), "--tracks", str(npz), "--no-render",
                   "--log-level", "ERROR", *extra])
        return rc, json.loads(out.read_text()), np.load(npz)["z"], capsys.readouterr().err

    rc, base, z_base, err = run()
    assert rc == 0 and base["room_profile"] is None and "profile" not in err
    rc, d, z, err = run("--profile", "My office")
    assert rc == 0 and d["room_profile"] == "My office" and "WARNING" not in err, err
    assert d["frames"] == 4 and np.isfinite(z).all()
    assert not np.allclose(z, z_base), "the profile's weights must be the ones tracking"
    rc, d, z, err = run("--profile", "Nowhere")
    assert rc == 0 and d["room_profile"] is None
    assert "[headless] WARNING: room profile 'Nowhere' not loaded (no room profile named 'Nowhere'" in err
    assert "using the base avatar" in err and any("'Nowhere' not loaded" in w for w in d["warnings"])
    np.testing.assert_array_equal(z, z_base)


def test_headless_guide_is_reported_and_a_bad_one_is_refused(tiny_bundle, data_dir, capsys):
    video = write_video(data_dir / "clip.mp4", n=6)
    base = ["--headless", "--source", f"video:{video}", "--bundle", str(tiny_bundle), "--no-loop", "--no-render",
            "--log-level", "WARNING"]
    assert main([*base, "--guide", "eyes,nose"]) == 2
    assert "unknown guide 'nose'" in capsys.readouterr().err
    out = data_dir / "g.json"
    assert main([*base, "--guide", "eyes", "--json", str(out)]) == 0  # the tiny bundle has no directions
    assert json.loads(out.read_text())["guide"] == "none (the bundle has no guide_codes)"
    from models import bundle as B
    from models.code_guide import BASIS
    from studio.guide_codes import write

    guided = data_dir / "guided"
    shutil.copytree(tiny_bundle, guided)
    Z = B.load(guided).cfg.z_dim
    rng = np.random.default_rng(0)
    write(guided, {"z0": [0.0] * Z, "directions": {b: rng.normal(size=Z).tolist() for b in BASIS}})
    base[base.index(str(tiny_bundle))] = str(guided)
    for spec, said in (("eyes", "blink"), ("none", "none"), ("all", "blink,brow_up,brow_down,jaw_open,smile,pucker")):
        assert main([*base, "--guide", spec, "--json", str(out)]) == 0
        assert json.loads(out.read_text())["guide"] == said, spec
