"""bench.adapt_speed on the tiny profile (the GPU figures come from scripts/gpu_check.sh)."""

import json

import pytest

from bench import adapt_speed


def test_adapt_speed_reports_step_time_and_calibration_estimate(tmp_path, capsys):
    assert adapt_speed.main(["--profiles", "tiny", "--steps", "4", "--frames", "10", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "results.json").read_text())
    (r,) = data["results"]
    assert r["profile"] == "tiny" and r["device"] == "cpu" and r["steps"] == 4 and r["frames"] == 10
    assert 0 < r["step_p50_s"] <= r["step_p95_s"] and r["loss_finite"] and r["peak_gpu_mb"] is None
    assert r["calibration_estimate_s"] == pytest.approx(data["calib_steps"] * r["step_p50_s"] + r["evaluations_s"])
    assert "| tiny | cpu |" in (tmp_path / "results.md").read_text()


def test_adapt_speed_refuses_too_few_steps_to_time(tmp_path):
    with pytest.raises(SystemExit):
        adapt_speed.main(["--profiles", "tiny", "--steps", "2", "--out", str(tmp_path)])


def test_synthetic_recording_shapes():
    rec = adapt_speed.synthetic_recording(6, 32)
    assert rec.crops.shape == (6, 3, 32, 32) and rec.keypoints.shape == (6, 68, 2) and bool(rec.valid.all())
    assert 0 <= float(rec.crops.min()) and float(rec.crops.max()) <= 1
