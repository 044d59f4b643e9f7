"""models.heatmap_landmarks: heatmap decoding on constructed maps (known peaks), the detector's
shapes and frame mapping with a stand-in network, weights round trip, the loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models import crop as C
from models.heatmap_landmarks import (
    HeatmapLandmarks,
    heatmap_targets,
    integral_points,
    landmark_loss,
    load_weights,
    make_net,
    save_weights,
    soft_argmax,
)
from models.landmarks import Face, LandmarkModelMissing

S, STRIDE = 96, 4  # crop side and heatmap stride of the detector (24 x 24 maps)
CELLS = S // STRIDE


def _cell_centres(rng, n=68, margin=3):
    """Points at heatmap cell centres (crop pixels): ``(c + 0.5) * stride - 0.5``."""
    cells = rng.integers(margin, CELLS - margin, size=(1, n, 2))
    return torch.from_numpy((cells + 0.5) * STRIDE - 0.5).float()


def test_soft_argmax_finds_a_known_peak_exactly_and_subpixel_close():
    K = _cell_centres(np.random.default_rng(0))
    pts, peak = soft_argmax(heatmap_targets(K, CELLS, STRIDE), STRIDE)
    assert pts.shape == (1, 68, 2) and peak.shape == (1, 68)
    torch.testing.assert_close(pts, K, atol=1e-4, rtol=0)  # a symmetric window around the peak
    torch.testing.assert_close(peak, torch.ones(1, 68))
    shifted = K + torch.tensor([1.2, -0.8])  # between cell centres
    sub, _ = soft_argmax(heatmap_targets(shifted, CELLS, STRIDE), STRIDE)
    assert (sub - shifted).abs().max() < 0.3 * STRIDE
    assert ((sub - K) * torch.tensor([1.0, -1.0]) > 0).all(), "the estimate moves towards the true point"


def test_integral_points_of_a_centred_peak_is_the_peak():
    centre = CELLS / 2 * STRIDE - 0.5  # the middle of the grid: the background mass is symmetric
    K = torch.full((2, 3, 2), centre)
    torch.testing.assert_close(integral_points(heatmap_targets(K, CELLS, STRIDE), STRIDE), K, atol=1e-4, rtol=0)


class _PeaksAt(torch.nn.Module):
    """A stand-in network whose heatmaps peak at fixed crop points."""

    def __init__(self, K: torch.Tensor) -> None:
        super().__init__()
        self.K = K
        self.calls = 0

    def forward(self, x):
        assert x.shape == (1, 3, S, S) and 0 <= float(x.min()) and float(x.max()) <= 1
        self.calls += 1
        return heatmap_targets(self.K, CELLS, STRIDE)


def test_the_detector_maps_the_peaks_back_to_the_frame():
    K = _cell_centres(np.random.default_rng(1))
    box = (60.0, 40.0, 160.0, 150.0)
    net = _PeaksAt(K)
    det = HeatmapLandmarks(net=net, box_detector=lambda gray: [(box, 1.0)], crop_size=S, refine=False)
    img = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    crop_box = np.array([50.0, 45.0, 120.0])
    pts, peak = det.predict(img, crop_box)
    assert pts.shape == (68, 2) and pts.dtype == np.float32 and peak == pytest.approx(1.0)
    np.testing.assert_allclose(pts, C.to_frame(K[0].numpy(), crop_box, S), atol=1e-3)
    faces = det.detect(img)
    assert len(faces) == 1 and isinstance(faces[0], Face) and faces[0].box == box
    assert faces[0].points.shape == (68, 2) and 0.0 <= faces[0].score <= 1.0
    assert net.calls == 2  # one predict above, one fit (no refinement)
    HeatmapLandmarks(net=net, box_detector=lambda gray: [(box, 1.0)], crop_size=S).detect(img)
    assert net.calls == 4, "with refine the fit predicts twice"


def test_a_real_network_gives_shapes_and_finite_points():
    torch.manual_seed(0)
    net = make_net(channels=16, depth=2)
    assert net(torch.rand(2, 3, S, S)).shape == (2, 68, CELLS, CELLS)
    det = HeatmapLandmarks(net=net, box_detector=lambda gray: [((30.0, 30.0, 130.0, 130.0), 1.0)], crop_size=S)
    (face,) = det.detect(np.full((200, 200, 3), 128, np.uint8))
    assert face.points.shape == (68, 2) and np.isfinite(face.points).all()


def test_weights_round_trip_and_a_missing_folder_says_how_to_train(tmp_path):
    torch.manual_seed(0)
    net = make_net(channels=16, depth=2)
    save_weights(net, tmp_path / "w", {"channels": 16, "depth": 2, "crop_size": S})
    back, meta = load_weights(tmp_path / "w")
    assert meta["format"] == 1 and meta["crop_size"] == S
    for k, v in net.state_dict().items():
        assert torch.equal(back.state_dict()[k], v), k
    with pytest.raises(LandmarkModelMissing, match="models.train_landmarks"):
        load_weights(tmp_path / "nothing")


def test_the_loss_is_lowest_at_the_targets():
    K = _cell_centres(np.random.default_rng(2))
    at = landmark_loss(heatmap_targets(K, CELLS, STRIDE) * 6.0, K, STRIDE)  # sharp peaks at the targets
    off = landmark_loss(heatmap_targets(K + 6.0, CELLS, STRIDE) * 6.0, K, STRIDE)
    assert float(at) < float(off)
