"""Train the studio heatmap landmark detector (:mod:`models.heatmap_landmarks`) on lab captures.

Lab images are lit evenly over a plain background, so training makes them look like other
rooms: the background is replaced by random clutter (using the capture's masks), the face is
relit by random colour gains and brightness ramps, and camera effects are added (gamma, noise,
blur, JPEG), plus crop jitter and mirroring. The generator here is deliberately different
from the studio's room renderer, so evaluation rooms stay unseen.

``python -m models.train_landmarks --lab CAPTURE [--lab ...] --out models/assets/studio_landmarks``
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np
import torch
from tqdm import tqdm

from . import crop as C
from .data import load_capture
from .facebox import IBUG_MIRROR
from .heatmap_landmarks import integral_points, landmark_loss, make_net, save_weights


def random_background(S: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth noise plus random shapes. -> (S, S, 3) float32 RGB."""
    lo = rng.uniform(0, 1, (4, 4, 3)).astype(np.float32)
    img = cv2.resize(lo, (S, S), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(0, 8))):
        col = rng.uniform(0, 1, 3).tolist()
        if rng.random() < 0.5:
            x, y = rng.integers(0, S, 2)
            cv2.rectangle(img, (int(x), int(y)), (int(x + rng.integers(4, S // 2)), int(y + rng.integers(4, S // 2))),
                          col, -1)
        else:
            cv2.circle(img, tuple(int(v) for v in rng.integers(0, S, 2)), int(rng.integers(3, S // 4)), col, -1)
    return np.clip(img, 0, 1)


def augment(img: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """Relight and re-room a lab crop. (S, S, 3) uint8 RGB -> float32 RGB in [0, 1]."""
    S = img.shape[0]
    x = img.astype(np.float32) / 255.0
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32) / S - 0.5
    ramp = 1.0 + rng.uniform(-0.9, 0.9) * xx + rng.uniform(-0.6, 0.6) * yy
    x = x * np.clip(ramp, 0.05, 2.0)[..., None] * rng.uniform(0.4, 1.5, 3)[None, None]
    if mask is not None and rng.random() < 0.85:
        bg = random_background(S, rng)
        x = np.where(mask[..., None], x, bg)
    x = np.clip(x, 0, 1) ** rng.uniform(0.7, 1.4)
    if rng.random() < 0.5:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.3, 1.3))
    x = x + rng.normal(0, rng.uniform(0, 0.04), x.shape).astype(np.float32)
    x = np.clip(x, 0, 1)
    if rng.random() < 0.4:
        q = int(rng.integers(40, 95))
        ok, buf = cv2.imencode(".jpg", (x * 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, q])
        x = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED).astype(np.float32) / 255.0
    return x


def sample(caps, rng, S: int):
    c = caps[int(rng.integers(len(caps)))]
    t, v = int(rng.integers(c.frames)), int(rng.integers(c.views))
    img = np.asarray(c.images(v)[t])
    lm = c.gt["landmarks"][t, v].astype(np.float64)
    mask = c.masks(v)[t] if (c.path / f"masks_v{v:02d}.npy").exists() else None
    box = C.box_from_landmarks(lm)
    box[:2] += rng.normal(0, 0.08 * box[2], 2)
    box[2] *= float(np.exp(rng.normal(0, 0.1)))
    crop = C.crop(img, box, S)
    m = C.crop(mask.astype(np.uint8) * 255, box, S) > 127 if mask is not None else None
    pts = C.to_crop(lm, box, S)
    x = augment(crop, m, rng)
    if rng.random() < 0.5:
        x = x[:, ::-1]
        pts = pts[IBUG_MIRROR].copy()
        pts[:, 0] = S - 1 - pts[:, 0]
    return np.ascontiguousarray(x), pts


def train(lab: list[str], out: str, steps: int = 2500, batch: int = 16, S: int = 96, channels: int = 48,
          lr: float = 2e-3, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    caps = [load_capture(p) for p in lab]
    net = make_net(channels)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.1)
    hist, errs = [], []
    t0 = time.time()
    bar = tqdm(range(steps), desc="landmarks", unit="step")
    for _ in bar:
        xs, ps = zip(*(sample(caps, rng, S) for _ in range(batch)))
        x = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).float()
        pts = torch.from_numpy(np.stack(ps)).float()
        heat = net(x)
        loss = landmark_loss(heat, pts, S / heat.shape[-1])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            err = (integral_points(heat, S / heat.shape[-1]) - pts).norm(dim=-1).mean()
        hist.append(float(loss))
        errs.append(float(err))
        bar.set_postfix(loss=f"{hist[-1]:.3f}", err_px=f"{np.mean(errs[-50:]):.2f}")
    meta = {"crop_size": S, "channels": channels, "depth": 3, "steps": steps, "batch": batch,
            "trained_on": [str(p) for p in lab], "final_train_error_px": float(np.mean(errs[-100:])),
            "seconds": round(time.time() - t0, 1), "note": "studio-trained: synthetic faces only"}
    save_weights(net, out, meta)
    return {"loss": hist, "error_px": errs, **meta}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.train_landmarks", description=__doc__.split("\n\n")[0])
    p.add_argument("--lab", action="append", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=2500)
    p.add_argument("--batch", type=int, default=16)
    a = p.parse_args(argv)
    r = train(a.lab, a.out, a.steps, a.batch)
    print(f"final training error {r['final_train_error_px']:.2f} px at crop {r['crop_size']}; written to {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
