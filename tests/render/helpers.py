"""Shared helpers for the render tests: golden images, test textures, a CPU rasteriser."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
REGEN_ENV = "RENDER_REGEN_GOLDEN"  # RENDER_REGEN_GOLDEN=1 pytest tests/render  (then commit)


def check_golden(name: str, image: np.ndarray, mean_tol: float = 1.0, px_tol: int = 24,
                 frac_tol: float = 0.01) -> None:
    """Compare an (h, w, 3) uint8 image with ``golden/<name>.png``.

    Fails if the mean absolute difference exceeds ``mean_tol`` or more than ``frac_tol`` of
    the pixels differ by more than ``px_tol`` in any channel (room for driver differences).
    """
    path = GOLDEN_DIR / f"{name}.png"
    if os.environ.get(REGEN_ENV) == "1":
        GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), image[..., ::-1])
        return
    assert path.exists(), f"golden image {path} missing; generate it with {REGEN_ENV}=1 and commit it"
    gold = cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1]
    assert gold.shape == image.shape, f"{name}: shape {image.shape} != golden {gold.shape}"
    d = np.abs(gold.astype(np.int16) - image.astype(np.int16))
    mean, frac = float(d.mean()), float((d.max(-1) > px_tol).mean())
    if mean > mean_tol or frac > frac_tol:
        out = GOLDEN_DIR.parents[1] / "_artifacts" / "render_golden_failed"  # git-ignored
        out.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(out / f"{name}.png"), image[..., ::-1])
        raise AssertionError(f"{name}: differs from golden (mean |d| {mean:.3f} > {mean_tol} or "
                             f"{frac:.2%} pixels > {px_tol} off > {frac_tol:.0%}); got {out / name}.png")


def make_texture(T: int = 32) -> np.ndarray:
    """A (T, T, 3) uint8 texture: colour ramps (red with column, green with row), blue checker
    and a white 4x4 block in the top-left corner (texel row 0..3, column 0..3)."""
    i, j = np.mgrid[0:T, 0:T]
    tex = np.stack([j * 255 // (T - 1), i * 255 // (T - 1), ((i // 4 + j // 4) % 2) * 160], -1)
    tex[:4, :4] = 255
    return tex.astype(np.uint8)


def bilinear_np(tex: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """GL_LINEAR + CLAMP_TO_EDGE lookup. Shapes: tex (T, T, C), uv (N, 2) -> (N, C) float64."""
    T = tex.shape[0]
    s = uv * T - 0.5
    i0 = np.floor(s).astype(int)
    fr = s - i0
    t = tex.astype(np.float64)
    out = 0.0
    for dj, wj in ((0, 1 - fr[:, 0]), (1, fr[:, 0])):
        for di, wi in ((0, 1 - fr[:, 1]), (1, fr[:, 1])):
            jj = np.clip(i0[:, 0] + dj, 0, T - 1)
            ii = np.clip(i0[:, 1] + di, 0, T - 1)
            out = out + (wj * wi)[:, None] * t[ii, jj]
    return out


def zbuffer_np(P: np.ndarray, faces: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """CPU reference: nearest triangle (smallest z) at each pixel centre.

    Shape:
        P: (V, 3) transformed vertices (pixels, depth) -> tri (h, w) int64, depth (h, w)
    """
    w, h = size
    tri = np.full((h, w), -1, np.int64)
    zb = np.full((h, w), np.inf)
    for f, (a, b, c) in enumerate(P[faces]):
        lo = np.maximum(np.ceil(np.minimum(np.minimum(a, b), c)[:2]).astype(int), 0)
        hi = np.minimum(np.floor(np.maximum(np.maximum(a, b), c)[:2]).astype(int), [w - 1, h - 1])
        if (hi < lo).any():
            continue
        xx, yy = np.meshgrid(np.arange(lo[0], hi[0] + 1), np.arange(lo[1], hi[1] + 1))
        p = np.stack([xx.ravel(), yy.ravel()], -1).astype(np.float64)
        d = (b[0] - a[0]) * (c[1] - a[1]) - (c[0] - a[0]) * (b[1] - a[1])
        if abs(d) < 1e-12:
            continue
        l1 = ((p[:, 0] - a[0]) * (c[1] - a[1]) - (c[0] - a[0]) * (p[:, 1] - a[1])) / d
        l2 = ((b[0] - a[0]) * (p[:, 1] - a[1]) - (p[:, 0] - a[0]) * (b[1] - a[1])) / d
        l0 = 1 - l1 - l2
        inside = (l0 >= 0) & (l1 >= 0) & (l2 >= 0)
        z = l0 * a[2] + l1 * b[2] + l2 * c[2]
        yi, xi = yy.ravel()[inside], xx.ravel()[inside]
        closer = z[inside] < zb[yi, xi]
        zb[yi[closer], xi[closer]] = z[inside][closer]
        tri[yi[closer], xi[closer]] = f
    return tri, zb
