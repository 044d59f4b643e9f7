"""Verification metrics for enrollment (issue 17, step 5): pure numpy + cv2 functions.

How a personal avatar is checked on held-back frames: crop the real frame and the rendered
avatar around the same 68 landmarks (:func:`crop_around`), match the render's colours to the
real frame inside the face (:func:`colour_correct`, so that room light and white balance do
not dominate), then compare inside :func:`face_mask` with :func:`masked_psnr` and
:func:`masked_ssim`; :func:`contact_sheet` lays out real | personal | default tiles.

Images: (H, W, 3) (or (H, W) for PSNR / SSIM), uint8 in [0, 255] or float in [0, 1]; uint8
inputs are scaled by 1/255 before any metric. Masks: (H, W) bool. Points: (68, 2) float
``(x, y)`` in frame pixels, iBUG order, pixel centres at integers (as ``models.landmarks``).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

SSIM_SIGMA = 1.5
SSIM_WINDOW = 11  # Gaussian window side (the standard 11 x 11, about +-3.5 sigma)
SSIM_C1 = 0.01**2
SSIM_C2 = 0.03**2
FOREHEAD = 0.2  # forehead extension of face_mask, fraction of the face height


def _unit(img: np.ndarray) -> np.ndarray:
    """uint8 -> float64 / 255; float -> float64 (assumed in [0, 1])."""
    a = np.asarray(img)
    return a.astype(np.float64) / 255.0 if a.dtype == np.uint8 else a.astype(np.float64)


def _check_mask(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    m = np.asarray(mask, bool)
    if m.shape != tuple(shape[:2]):
        raise ValueError(f"mask shape {m.shape} does not match image shape {tuple(shape[:2])}")
    if not m.any():
        raise ValueError("mask selects no pixel")
    return m


def colour_correct(render_rgb: np.ndarray, real_rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-channel affine colour match of the render to the real frame.

    For each channel c, ``gain_c, offset_c = argmin sum_mask (gain * render_c + offset - real_c)^2``
    (least squares over the mask pixels, on the [0, 1] scale), applied to the whole render and
    clipped to [0, 1]. A channel that is constant under the mask gets gain 1 and the mean offset.

    render_rgb, real_rgb: (H, W, C); mask: (H, W) bool -> (H, W, C) in render_rgb's dtype
    (uint8 rounded, float kept in [0, 1]).
    """
    r, t = _unit(render_rgb), _unit(real_rgb)
    if r.shape != t.shape or r.ndim != 3:
        raise ValueError(f"render {r.shape} and real {t.shape} must both be (H, W, C)")
    m = _check_mask(mask, r.shape)
    out = np.empty_like(r)
    for c in range(r.shape[2]):
        x, y = r[..., c][m], t[..., c][m]
        vx = float(np.var(x))
        gain = float(np.mean((x - x.mean()) * (y - y.mean())) / vx) if vx > 1e-12 else 1.0
        offset = float(y.mean() - gain * x.mean())
        out[..., c] = gain * r[..., c] + offset
    out = np.clip(out, 0.0, 1.0)
    dtype = np.asarray(render_rgb).dtype
    if dtype == np.uint8:
        return (out * 255.0 + 0.5).astype(np.uint8)
    return out.astype(dtype)


def masked_psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """PSNR in dB on the [0, 1] scale over the mask pixels (all channels): 10 log10(1 / MSE).

    a, b: (H, W) or (H, W, C), same shape; mask: (H, W) bool -> float (inf when identical).
    """
    x, y = _unit(a), _unit(b)
    if x.shape != y.shape:
        raise ValueError(f"image shapes differ: {x.shape} vs {y.shape}")
    m = _check_mask(mask, x.shape)
    mse = float(np.mean((x[m] - y[m]) ** 2))
    return float("inf") if mse == 0.0 else float(10.0 * np.log10(1.0 / mse))


def _blur(x: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(x, (SSIM_WINDOW, SSIM_WINDOW), SSIM_SIGMA, borderType=cv2.BORDER_REFLECT)


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM (Gaussian window, sigma 1.5, C1 = 0.01^2, C2 = 0.03^2, [0, 1] scale).

    a, b: (H, W) or (H, W, C) -> (H, W) float64 (the mean over channels for colour images).
    """
    x, y = _unit(a), _unit(b)
    if x.shape != y.shape:
        raise ValueError(f"image shapes differ: {x.shape} vs {y.shape}")
    mx, my = _blur(x), _blur(y)
    vx = _blur(x * x) - mx * mx
    vy = _blur(y * y) - my * my
    cxy = _blur(x * y) - mx * my
    s = ((2 * mx * my + SSIM_C1) * (2 * cxy + SSIM_C2)) / ((mx * mx + my * my + SSIM_C1) * (vx + vy + SSIM_C2))
    return s.mean(axis=2) if s.ndim == 3 else s


def masked_ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """Mean of :func:`ssim_map` over the mask pixels (windows near the mask edge also see a
    few pixels outside it). a, b: (H, W) or (H, W, C); mask: (H, W) bool -> float in [-1, 1]."""
    s = ssim_map(a, b)
    return float(s[_check_mask(mask, s.shape)].mean())


def face_mask(landmarks68: np.ndarray, shape: tuple[int, int], render_mask: np.ndarray | None = None) -> np.ndarray:
    """The face region: convex hull of the 68 points plus the forehead, (H, W) bool.

    The forehead: the brow points (17-26) moved "up" (from the chin, point 8, towards the brow
    midpoint, so a tilted head is followed) by 20 % of the face height (the points' extent
    along that axis), joined into the hull. Intersected with ``render_mask`` (H, W) bool when
    given. landmarks68: (68, 2) (x, y) frame pixels; shape: (H, W) (a longer image shape is cut).
    """
    p = np.asarray(landmarks68, np.float64)
    if p.shape != (68, 2):
        raise ValueError(f"landmarks68 must be (68, 2), got {p.shape}")
    h, w = int(shape[0]), int(shape[1])
    up = p[17:27].mean(0) - p[8]
    n = float(np.linalg.norm(up))
    up = up / n if n > 1e-9 else np.array([0.0, -1.0])
    along = p @ up
    height = float(along.max() - along.min())
    pts = np.concatenate([p, p[17:27] + FOREHEAD * height * up])
    hull = cv2.convexHull(np.rint(pts).astype(np.int32))  # boundary pixels included
    m = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(m, hull, 1, lineType=cv2.LINE_8)
    out = m.astype(bool)
    if render_mask is not None:
        rm = np.asarray(render_mask, bool)
        if rm.shape != (h, w):
            raise ValueError(f"render_mask shape {rm.shape} does not match {(h, w)}")
        out &= rm
    return out


def crop_around(image: np.ndarray, landmarks68: np.ndarray, scale: float = 1.6, size: int = 192) -> np.ndarray:
    """Square crop centred on the landmarks' bounding box, side = scale x max(box w, box h),
    edge-replicated where it leaves the frame, resized to size x size.

    image: (H, W) or (H, W, C); landmarks68: (68, 2) (x, y) -> (size, size[, C]) same dtype.
    The same landmarks give the same crop window for the real frame and for a render.
    """
    img = np.asarray(image)
    p = np.asarray(landmarks68, np.float64)
    (x0, y0), (x1, y1) = p.min(0), p.max(0)
    side = max(1, int(round(scale * max(x1 - x0, y1 - y0, 1.0))))
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    left, top = int(round(cx - side / 2.0)), int(round(cy - side / 2.0))
    h, w = img.shape[:2]
    pad = [max(0, -top), max(0, top + side - h), max(0, -left), max(0, left + side - w)]
    if any(pad):
        img = cv2.copyMakeBorder(img, *pad, borderType=cv2.BORDER_REPLICATE)
        top, left = top + pad[0], left + pad[2]
    crop = img[top:top + side, left:left + side]
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(crop), (size, size), interpolation=interp)


def _tile(img: np.ndarray, tile: int) -> np.ndarray:
    a = np.asarray(img)
    if a.dtype != np.uint8:
        a = (np.clip(a.astype(np.float64), 0, 1) * 255 + 0.5).astype(np.uint8)
    if a.ndim == 2:
        a = cv2.cvtColor(a, cv2.COLOR_GRAY2BGR)
    interp = cv2.INTER_AREA if max(a.shape[:2]) > tile else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(a[..., :3]), (tile, tile), interpolation=interp)


def contact_sheet(rows: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
                  labels: Sequence[str] = ("real frame", "personal avatar", "default avatar"),
                  tile: int = 192) -> np.ndarray:
    """Grid of already-cropped tiles under a header bar naming the columns.

    rows: N tuples (real, personal, default) of BGR images (any size; uint8, float [0, 1] or
    grayscale), each resized to tile x tile. -> (28 + N * tile, len(labels) * tile, 3) uint8 BGR.
    """
    if not rows:
        raise ValueError("contact_sheet needs at least one row")
    ncol = len(labels)
    header_h = 28
    body = []
    for r in rows:
        if len(r) != ncol:
            raise ValueError(f"each row needs {ncol} images (one per label), got {len(r)}")
        body.append(np.concatenate([_tile(x, tile) for x in r], axis=1))
    header = np.full((header_h, ncol * tile, 3), 32, np.uint8)
    font, fs = cv2.FONT_HERSHEY_SIMPLEX, 0.5
    for i, text in enumerate(labels):
        (tw, th), _ = cv2.getTextSize(text, font, fs, 1)
        x = i * tile + max(2, (tile - tw) // 2)
        cv2.putText(header, text, (x, (header_h + th) // 2), font, fs, (255, 255, 255), 1, cv2.LINE_AA)
    return np.concatenate([header, *body], axis=0)
