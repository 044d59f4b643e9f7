"""``launcher.py --headless``: the JSON report, per-frame tracks, calibration figures."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from app.cli import main
from app.packets import STAGES
from app.synthetic import SyntheticSource


@pytest.fixture()
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ROOMFIT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def write_video(path, n=12, size=(320, 240)):
    src = SyntheticSource("office", width=size[0], height=size[1])
    src.open()
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, size)
    for _ in range(n):
        vw.write(src.read().image)
    vw.release()
    src.close()
    return path


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


def test_headless_calibration_reports_before_after_verdict(tiny_bundle, data_dir):
    out = data_dir / "calib.json"
    rc = main(["--headless", "--source", "synthetic:tungsten", "--bundle", str(tiny_bundle), "--frames", "10",
               "--size", "320x240", "--calibrate", "1.0", "--calib-steps", "5", "--json", str(out),
               "--no-render", "--log-level", "WARNING"])
    assert rc == 0
    c = json.loads(out.read_text())["calibration"]
    for key in ("before", "after", "verdict", "reason", "recorded", "during"):
        assert key in c, key
    assert c["verdict"] in ("accepted", "kept the current model")
    assert c["recorded"]["frames"] == c["frames"] >= 1
    if c["valid_frames"] >= 4:  # else the verdict says there were too few frames with a face
        assert c["before"]["da"] is not None and c["after"]["da"] is not None
    if c["verdict"] == "accepted":
        assert (data_dir / "data" / "profiles").is_dir()


def test_headless_video_tracks_every_frame(tiny_bundle, data_dir):
    video = write_video(data_dir / "clip.mp4", n=12)
    out, npz = data_dir / "v.json", data_dir / "v.npz"
    rc = main(["--headless", "--source", f"video:{video}", "--bundle", str(tiny_bundle), "--frames", "1000",
               "--no-loop", "--json", str(out), "--tracks", str(npz), "--no-render", "--log-level", "WARNING"])
    assert rc == 0
    d = json.loads(out.read_text())
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
