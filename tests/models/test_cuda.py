"""The CUDA path: tracking, adaptation, hot swap and the out-of-memory fallback on a real GPU.

Skipped where CUDA is absent (CI); ``scripts/gpu_check.sh`` runs them on a GPU machine.
"""

import numpy as np
import pytest
import torch

from bench.adapt_speed import synthetic_recording
from models import bundle as B
from models.adapt import AdaptConfig, adapt
from models.config import profile
from models.landmark_tracking import TrackingLandmarks
from models.landmarks import OracleDetector
from models.topology import canonical_landmarks_2d
from models.tracker import Tracker

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (scripts/gpu_check.sh)")


def _points(i: int) -> np.ndarray:
    """(68, 2) frame px: a face that drifts and nods a little, the same for every tracker."""
    return canonical_landmarks_2d() * 150 + np.array([160.0 + 6 * np.sin(i / 3), 130.0 + 3 * np.cos(i / 5)])


def _frame(i: int) -> np.ndarray:
    """(240, 320, 3) uint8: a skin-coloured ellipse under the points, on a grey wall."""
    yy, xx = np.mgrid[0:240, 0:320].astype(np.float32)
    c = _points(i).mean(0)
    face = np.exp(-(((xx - c[0]) / 55) ** 2 + ((yy - c[1]) / 70) ** 2))[..., None]
    return np.clip(90 + face * np.array([60.0, 110.0, 170.0]), 0, 255).astype(np.uint8)


def _tracker(device: str, bundle=None) -> Tracker:
    bundle = bundle if bundle is not None else B.load(B.DEFAULT_BUNDLE)
    return Tracker(bundle, device, detector=TrackingLandmarks(OracleDetector(_points)))


@pytest.fixture()
def no_tf32():
    """Plain fp32 on the GPU (cuDNN and cuBLAS use TF32 by default: 10-bit mantissas)."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def _cpu_vs_cuda(frames: int = 6) -> dict:
    """Largest CPU-vs-CUDA differences over a few frames: landmarks (frame px), z (relative), texture."""
    cpu, gpu = _tracker("cpu"), _tracker("cuda")
    assert gpu.device.type == "cuda" and next(gpu.bundle.i2znet.parameters()).is_cuda
    d = {"landmarks_px": 0.0, "z_rel": 0.0, "texture": 0.0}
    for i in range(frames):
        rc, rg = cpu.track(_frame(i), i / 30), gpu.track(_frame(i), i / 30)  # same clock: output filter
        assert rc.found and rg.found
        assert {"encoder", "decoder"} <= set(rg.timings), rg.timings
        d["landmarks_px"] = max(d["landmarks_px"], float(np.abs(rc.landmarks - rg.landmarks).max()))
        d["z_rel"] = max(d["z_rel"], float(np.abs(rc.z - rg.z).max() / (np.abs(rc.z).max() + 1e-6)))
        d["texture"] = max(d["texture"], float(np.abs(rc.texture - rg.texture).mean()))
    print("CPU vs CUDA:", d)
    return d


def test_default_avatar_tracks_the_same_on_cuda_as_on_the_cpu(no_tf32):
    d = _cpu_vs_cuda()
    assert d["landmarks_px"] < 0.05 and d["z_rel"] < 1e-3 and d["texture"] < 1e-3, d


def test_tf32_tracking_stays_within_a_pixel_of_the_cpu():
    d = _cpu_vs_cuda()
    assert d["landmarks_px"] < 1.5 and d["z_rel"] < 0.05 and d["texture"] < 0.01, d


def test_adaptation_on_cuda_lowers_the_heldout_loss_and_hot_swaps_into_a_cuda_tracker():
    torch.manual_seed(0)
    tiny = B.build(profile("tiny")).to("cuda")
    live = {k: v.clone() for k, v in tiny.i2znet.state_dict().items()}
    rec = synthetic_recording(20, tiny.cfg.crop_size)  # on the CPU: adapt moves it to the decoder's device
    res = adapt(tiny.i2znet, tiny.color, tiny.dam, tiny.topology, rec, AdaptConfig(steps=40, lr=1e-3))
    assert res.after["da"] < res.before["da"] and res.accepted
    assert all(torch.equal(v, live[k]) for k, v in tiny.i2znet.state_dict().items())  # live model untouched
    tr = _tracker("cuda", tiny)
    before = tr.track(_frame(0))
    tr.load_adapted(res.weights)
    after = tr.track(_frame(1))
    assert before.found and after.found and next(tr.bundle.i2znet.parameters()).is_cuda
    assert not np.allclose(before.z, after.z)


def test_cuda_out_of_memory_moves_the_tracker_to_the_cpu_and_keeps_the_frame():
    tr = _tracker("cuda")
    real = tr.infer
    calls = []

    def infer_once_out_of_memory(*a, **k):
        calls.append(a[0].device.type)
        if len(calls) == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(*a, **k)

    tr.infer = infer_once_out_of_memory
    r = tr.track(_frame(0))
    assert r.found and calls == ["cuda", "cpu"]
    assert tr.device.type == "cpu" and not next(tr.bundle.dam.parameters()).is_cuda
    assert "out of memory" in tr.notice and "CPU" in tr.notice


@pytest.mark.slow
def test_paper_profile_adapts_on_cuda():
    torch.manual_seed(0)
    paper = B.build(profile("paper"), load_pretrained=False).to("cuda")
    torch.cuda.reset_peak_memory_stats()
    rec = synthetic_recording(10, paper.cfg.crop_size)
    res = adapt(paper.i2znet, paper.color, paper.dam, paper.topology, rec,
                AdaptConfig(steps=3, keep_rejected=True))
    assert res.steps == 3 and len(res.history) == 3 and np.isfinite(res.history).all()
    assert res.weights is not None and np.isfinite(res.after["da"])
    assert torch.cuda.max_memory_allocated() < 40 * 2**30  # fits a 48 GB card with room to spare
