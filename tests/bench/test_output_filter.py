"""bench.output_filter --quick on a tiny avatar: every variant scored on ground truth."""

import json

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.gl]


def test_quick_run_scores_every_variant(tiny_head_bundle):
    from bench import output_filter

    bundle, d = tiny_head_bundle
    out = d / "filter"
    rc = output_filter.main(["--bundle", str(bundle), "--cache", str(d / "cache"), "--out", str(out), "--quick",
                             "--frames", "40", "--adapt-steps", "2"])
    assert rc == 0
    r = json.loads((out / "results.json").read_text())
    assert set(r["mixed"]) == {"p0_tungsten"} and set(r["desk"]) == {"p0_office_still"}
    for group in ("mixed", "desk"):
        avg = r["average"][group]
        assert 1.0 <= avg["gt_stab2d"] < 3.0
        for v in output_filter.VARIANTS:
            assert {"temporal", "reprojection", "stab2d", "landmark_px"} <= set(avg[v]), (group, v)
        # the filter's purpose: steadier projected landmarks than the raw answer, and the
        # steadier the slider, the steadier the output
        assert avg["default"]["stab2d"] < avg["none"]["stab2d"]
        assert avg["strength_0.75"]["stab2d"] <= avg["default"]["stab2d"] <= avg["strength_0.25"]["stab2d"]
    assert (out / "results.md").read_text().count("| default |") == 2
