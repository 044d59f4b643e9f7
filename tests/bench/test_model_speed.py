"""bench.model_speed on the tiny profile."""

import json

from bench import model_speed


def test_model_speed_reports_stage_times_sizes_and_params(tmp_path):
    assert model_speed.main(["--profiles", "tiny", "--repeat", "2", "--out", str(tmp_path)]) == 0
    (r,) = json.loads((tmp_path / "results.json").read_text())["results"]
    assert r["profile"] == "tiny" and r["device"] == "cpu"
    for stage in ("encoder", "decoder_colour", "total"):
        assert 0 < r[stage]["p50_ms"] <= r[stage]["p95_ms"] and r[stage]["n"] == 2
    assert r["params_i2znet"] > 0 and r["params_dam_decoder"] > 0 and r["bundle_mb"] > 0
    assert (r["crop"], r["texture"]) == (64, 32)  # the tiny profile
    # the saved bundle holds at least the float32 weights the tracker runs (4 bytes each; E_X is
    # not in an untrained bundle), not far more
    weights_mb = 4 * (r["params_i2znet"] + r["params_dam_decoder"]) / 1e6
    assert r["bundle_dtype"] == "float32" and weights_mb <= r["bundle_mb"] < 1.5 * weights_mb + 1.0, r
    assert "| tiny | cpu |" in (tmp_path / "results.md").read_text()
