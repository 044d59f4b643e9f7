"""Synthetic perturbations of the paper's Table 3 (supp. B) and the resolution sweep of Fig. 10.

Each function maps a clean lab image (S, S, 3) uint8 RGB (+ its head mask) to a perturbed
copy, seeded. ``jitter`` also returns the 2x3 similarity transform it applied so ground
truth can follow.
"""

from __future__ import annotations

import cv2
import numpy as np

PERTURBATIONS = ("view", "color", "light", "jitter", "background")
CROP_SIZES = (256, 224, 192, 160, 128, 96, 64)


def color(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random per-channel colour gains (white balance)."""
    g = rng.uniform(0.6, 1.4, 3)
    return np.clip(img.astype(np.float32) * g, 0, 255).astype(np.uint8)


def light(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random gamma and exposure (the paper's 'gamma' perturbation)."""
    x = img.astype(np.float32) / 255.0
    x = np.clip(x * rng.uniform(0.7, 1.3), 0, 1) ** rng.uniform(0.5, 2.0)
    return (x * 255 + 0.5).astype(np.uint8)


def jitter(img: np.ndarray, rng: np.random.Generator, max_shift: float = 0.06, max_rot: float = 10.0,
           max_scale: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Random similarity transform (scale, rotation, translation) about the centre.
    Returns the image and the 2x3 matrix mapping old to new pixel coordinates."""
    S = img.shape[0]
    M = cv2.getRotationMatrix2D((S / 2 - 0.5, S / 2 - 0.5), rng.uniform(-max_rot, max_rot),
                                float(np.exp(rng.uniform(-max_scale, max_scale))))
    M[:, 2] += rng.uniform(-max_shift, max_shift, 2) * S
    return cv2.warpAffine(img, M, (S, S), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), M


def background(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator, density: float = 0.02) -> np.ndarray:
    """White dotted noise on the background (pixels outside the head mask)."""
    out = img.copy()
    dots = (rng.random(mask.shape) < density) & ~mask
    dots = cv2.dilate(dots.astype(np.uint8), np.ones((2, 2), np.uint8)) > 0
    out[dots & ~mask] = 255
    return out


def downsample(crop: np.ndarray, size: int, out_size: int) -> np.ndarray:
    """Fig. 10: the face seen at ``size`` pixels, brought to the network's input size."""
    small = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (out_size, out_size), interpolation=cv2.INTER_LINEAR)


def perturb_capture(path, kind: str, seed: int = 0) -> dict:
    """Apply a Table 3 perturbation in place to every image of a (lab) capture folder.

    ``jitter`` also moves the 2D ground truth (landmarks, salient points) with the similarity
    transform and drops H (no longer a weak-perspective pose of the image). ``view`` needs no
    change (the capture's synchronised views are the test). Returns what was applied.
    """
    import json
    from pathlib import Path

    from models.data import image_file, load_capture, mask_file

    if kind not in PERTURBATIONS:
        raise ValueError(f"unknown perturbation {kind!r}; choose one of {', '.join(PERTURBATIONS)}")
    path = Path(path)
    cap = load_capture(path)
    rng = np.random.default_rng(seed)
    gt = dict(cap.gt)
    for v in range(cap.views):
        imgs = np.array(cap.images(v))
        masks = cap.masks(v) if (path / mask_file(v)).exists() else np.zeros(imgs.shape[:3], bool)
        for t in range(len(imgs)):
            if kind == "color":
                imgs[t] = color(imgs[t], rng)
            elif kind == "light":
                imgs[t] = light(imgs[t], rng)
            elif kind == "background":
                imgs[t] = background(imgs[t], masks[t], rng)
            elif kind == "jitter":
                imgs[t], M = jitter(imgs[t], rng)
                for key in ("landmarks", "salient"):
                    p = gt[key][t, v]
                    gt[key][t, v] = p @ M[:, :2].T + M[:, 2]
        np.save(path / image_file(v), imgs)
    if kind == "jitter":
        gt["H"] = np.full_like(gt["H"], np.nan)
    np.savez_compressed(path / "gt.npz", **gt)
    m = json.loads((path / "manifest.json").read_text())
    m["perturbation"] = {"kind": kind, "seed": seed}
    (path / "manifest.json").write_text(json.dumps(m, indent=2))
    return m["perturbation"]


def resolution_sweep(path, sizes=CROP_SIZES, out_size: int = 256) -> None:
    """Fig. 10 set: for view 0 of a lab capture, the canonical face crop seen at each size and
    brought back to ``out_size``; writes ``sweep_<size>.npy`` (F, out, out, 3) uint8."""
    from pathlib import Path

    from models import crop as C
    from models.data import load_capture

    path = Path(path)
    cap = load_capture(path)
    imgs = cap.images(0)
    for size in sizes:
        out = np.stack([downsample(C.crop(np.asarray(imgs[t]), C.box_from_landmarks(cap.gt["landmarks"][t, 0]),
                                          out_size), size, out_size) for t in range(cap.frames)])
        np.save(path / f"sweep_{size}.npy", out)
