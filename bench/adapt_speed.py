"""Seconds per adaptation step (Eq. 5-9 + L_TEMP, :func:`models.adapt.adapt`) per profile and device.

``python -m bench.adapt_speed [--profiles tiny lite paper] [--device cpu|cuda] [--steps 12] [--out DIR]``

Each profile's untrained bundle (random weights: the cost does not depend on them) adapts to
a small synthetic recording at its own crop size (a moving blob with landmarks that jitter
like a detector's). Reported: the median and p95 wall time of one step (the first two steps,
which pay for allocation and autotuning, left out), the held-back evaluation that runs before
and after, the projected time of the app's calibration (``app.pipeline.defaults.CALIB_STEPS`` steps +
two evaluations) and, on CUDA, the peak GPU memory.
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np
import torch

from app.pipeline.defaults import CALIB_STEPS
from models import bundle as B
from models.adapt import AdaptConfig, Recording, adapt
from models.config import profile
from models.topology import canonical_landmarks_2d

from .common import machine, profile_topology, run_dir, write_report


def synthetic_recording(n: int, S: int, seed: int = 0) -> Recording:
    """(n, 3, S, S) crops of a drifting face-coloured blob; 68 points that follow it plus 1 px noise."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(S).float(), torch.arange(S).float(), indexing="ij")
    base = torch.from_numpy(canonical_landmarks_2d()).float()
    crops, K = [], []
    for t in range(n):
        cx, cy = S / 2 + 0.03 * S * np.sin(t / 4), S / 2 + 0.02 * S
        face = torch.exp(-(((xx - cx) / (0.22 * S)) ** 2 + ((yy - cy) / (0.28 * S)) ** 2))
        img = torch.stack([0.3 + 0.6 * face, 0.2 + 0.4 * face, 0.2 + 0.3 * face])
        crops.append((img + 0.02 * torch.rand(3, S, S, generator=g)).clamp(0, 1))
        K.append(base * 0.33 * S + torch.tensor([cx, cy - 0.07 * S]) + torch.randn(68, 2, generator=g))
    return Recording(torch.stack(crops), torch.stack(K), torch.ones(n, dtype=torch.bool))


def measure(name: str, device: str, steps: int, frames: int) -> dict:
    cfg = profile(name)
    torch.manual_seed(0)
    b = B.build(cfg, profile_topology(cfg, "adapt_speed")[0], load_pretrained=False).to(device)
    rec = synthetic_recording(frames, cfg.crop_size)
    cuda = device.startswith("cuda")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    stamps = []

    def progress(step, n, info):
        sync()
        stamps.append(time.perf_counter())

    t0 = time.perf_counter()
    res = adapt(b.i2znet, b.color, b.dam, b.topology, rec, AdaptConfig(steps=steps, keep_rejected=True),
                progress=progress)
    sync()
    total = time.perf_counter() - t0
    per_step = np.diff(stamps)[1:]  # steps 3.. (the first two pay for allocation / autotuning)
    loop = stamps[-1] - stamps[0] + (np.median(per_step) if len(per_step) else 0.0)
    evals = max(0.0, total - loop)  # before + after held-back evaluation (and setup)
    step_s = float(np.median(per_step))
    return {"profile": name, "device": device, "crop": cfg.crop_size, "texture": cfg.tex_size,
            "frames": frames, "steps": steps, "step_p50_s": step_s,
            "step_p95_s": float(np.percentile(per_step, 95)), "evaluations_s": evals, "total_s": total,
            "calibration_estimate_s": CALIB_STEPS * step_s + evals,
            "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
            "loss_finite": bool(np.isfinite(res.history).all()) if res.history else False}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.adapt_speed", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profiles", nargs="+", default=["tiny", "lite", "paper"])
    p.add_argument("--device", default="cpu")
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--frames", type=int, default=30, help="recorded frames (the last 20 %% are held back)")
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    if a.steps < 4:
        p.error("--steps must be at least 4 (the first two steps are left out of the timing)")
    logging.basicConfig(level=logging.WARNING)
    out = run_dir(a.out, "adapt_speed")
    results = [measure(n, a.device, a.steps, a.frames) for n in a.profiles]
    data = {"machine": machine(), "calib_steps": CALIB_STEPS, "results": results}
    rows = [[r["profile"], r["device"], r["crop"], r["texture"], r["step_p50_s"] * 1e3, r["step_p95_s"] * 1e3,
             r["evaluations_s"], r["calibration_estimate_s"], r["peak_gpu_mb"] or "-"] for r in results]
    write_report(out, "Adaptation speed", data,
                 ["profile", "device", "crop", "texture", "step p50 ms", "step p95 ms", "evaluations + setup s",
                  f"{CALIB_STEPS}-step calibration s", "peak GPU MB"], rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
