"""The committed default avatar loads and tracks a studio frame."""

import numpy as np
import pytest

from models import bundle as B

pytestmark = pytest.mark.gl


@pytest.fixture(scope="module")
def default_bundle():
    if not (B.DEFAULT_BUNDLE / "manifest.json").exists():
        pytest.fail(f"the default avatar is missing at {B.DEFAULT_BUNDLE}")
    return B.load(B.DEFAULT_BUNDLE)


def test_manifest_has_provenance(default_bundle):
    m = default_bundle.manifest
    assert m["profile"] == "lite" and m["dtype"] == "float16"
    prov = m["provenance"]
    assert "command" in prov and prov["command"].startswith("python -m bench.build_default_avatar")
    assert prov["wall_seconds"] > 0 and prov["captures"][0]["kind"] == "lab"
    size = sum(p.stat().st_size for p in B.DEFAULT_BUNDLE.iterdir())
    assert size < 30e6
    assert m["has_encoder"]  # E_X ships: bench.paper_tables runs Table 2/3 on this bundle


def test_tracks_a_synthetic_frame(default_bundle, tmp_path):
    from models.data import load_capture
    from models.landmark_tracking import TrackingLandmarks
    from models.landmarks import OracleDetector
    from models.tracker import Tracker
    from studio.capture import capture_wild

    cap = load_capture(capture_wild(0, "office", 4, tmp_path / "w", seed=123))
    frames, gt = cap.video_frames(), cap.gt["landmarks"][:, 0]
    tr = Tracker(default_bundle, "cpu", detector=TrackingLandmarks(OracleDetector(lambda i: gt[i])))
    for t in range(4):
        r = tr.track(frames[t])
        assert r.found and r.G.shape == (default_bundle.topology.n_vertices, 3)
        err = np.linalg.norm(r.landmarks - gt[t], axis=1).mean()
        assert err < 5.0, f"frame {t}: projected landmarks {err:.2f} px from ground truth"
    assert r.texture.shape == (3, 256, 256) and 0 <= r.texture.min() and r.texture.max() <= 1
