"""Camera and sensor effects for "wild" captures, plus procedural cluttered backgrounds.

Everything is seeded; images are float32 RGB in [0, 1] unless a function says otherwise.
"""

from __future__ import annotations

import cv2
import numpy as np

from .rooms import CameraFx


def clutter_background(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A procedural room behind the person: wall gradient, shelves, frames, plants-like
    blobs, a lamp glow. Shape: size (w, h) -> (h, w, 3) float32 RGB."""
    w, h = size
    base = rng.uniform(0.25, 0.8, 3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = base[None, None] * (0.75 + 0.35 * (xx / w) * rng.uniform(-1, 1) + 0.25 * (yy / h))[..., None]
    img = np.clip(img, 0, 1).astype(np.float32)
    for _ in range(int(rng.integers(6, 14))):  # furniture, frames, books
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        bw, bh = int(rng.integers(w // 20, w // 3)), int(rng.integers(h // 20, h // 3))
        col = rng.uniform(0.05, 0.95, 3)
        cv2.rectangle(img, (x0, y0), (x0 + bw, y0 + bh), col.tolist(), -1)
        if rng.random() < 0.5:
            cv2.rectangle(img, (x0, y0), (x0 + bw, y0 + bh), (col * 0.5).tolist(), max(1, w // 150))
    for _ in range(int(rng.integers(2, 5))):  # shelves with books
        y = int(rng.integers(h // 8, h - h // 8))
        cv2.line(img, (0, y), (w, y), rng.uniform(0.2, 0.5, 3).tolist(), max(2, h // 60))
        x = int(rng.integers(0, w // 2))
        while x < w:
            bw = int(rng.integers(max(2, w // 80), max(3, w // 30)))
            bh = int(rng.integers(h // 25, h // 10))
            cv2.rectangle(img, (x, y - bh), (x + bw, y), rng.uniform(0.1, 0.9, 3).tolist(), -1)
            x += bw + int(rng.integers(0, 3))
            if rng.random() < 0.08:
                x += int(rng.integers(w // 10, w // 4))
    for _ in range(int(rng.integers(2, 6))):  # leafy / round blobs
        c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.circle(img, c, int(rng.integers(w // 40, w // 10)), rng.uniform(0.05, 0.7, 3).tolist(), -1)
    glow = np.exp(-(((xx - rng.uniform(0, w)) / (0.3 * w)) ** 2 + ((yy - rng.uniform(0, h)) / (0.3 * h)) ** 2))
    img = img + 0.25 * glow[..., None] * rng.uniform(0.5, 1.0, 3)[None, None]
    img = cv2.GaussianBlur(img, (0, 0), max(0.6, w / 400))
    return np.clip(img, 0, 1).astype(np.float32)


def plain_background(size: tuple[int, int], color: tuple[int, int, int]) -> np.ndarray:
    w, h = size
    return np.broadcast_to(np.asarray(color, np.float32) / 255.0, (h, w, 3)).copy()


def lerp(a, b, t: float) -> np.ndarray:
    return (1 - t) * np.asarray(a, np.float32) + t * np.asarray(b, np.float32)


def motion_blur(img: np.ndarray, velocity_px: np.ndarray, strength: float) -> np.ndarray:
    """Linear motion blur along the image-space velocity (px/frame) scaled by ``strength``."""
    length = float(np.linalg.norm(velocity_px)) * strength
    if length < 1.0:
        return img
    n = int(min(31, np.ceil(length))) | 1
    k = np.zeros((n, n), np.float32)
    d = velocity_px / (np.linalg.norm(velocity_px) + 1e-9)
    c = n // 2
    for s in np.linspace(-c, c, 2 * n):
        k[int(round(c + s * d[1])), int(round(c + s * d[0]))] = 1.0
    return cv2.filter2D(img, -1, k / k.sum(), borderType=cv2.BORDER_REFLECT)


def auto_exposure(rgb: np.ndarray, mask: np.ndarray, target: float = 0.42) -> float:
    """Gain a webcam's auto exposure would pick: face mean luminance -> ``target``."""
    lum = (rgb[mask].astype(np.float32) / 255.0) @ np.array([0.299, 0.587, 0.114], np.float32)
    if lum.size == 0:
        return 1.0
    return float(np.clip(target / max(float(lum.mean()), 1e-3), 0.5, 6.0))


def apply_fx(img: np.ndarray, fx: CameraFx, t: float, rng: np.random.Generator,
             velocity_px: np.ndarray | None = None, base_gain: float = 1.0) -> np.ndarray:
    """Apply the room's camera effects at clip time t in [0, 1]: motion blur, sensor noise
    (before the gain, so dim rooms get noisier pictures), exposure (auto ``base_gain`` times
    the room's drift) and white balance, gamma, JPEG.

    Shape: img (h, w, 3) float32 RGB in [0, 1] -> (h, w, 3) uint8 RGB
    """
    out = img
    if fx.motion_blur > 0 and velocity_px is not None:
        out = motion_blur(out, np.asarray(velocity_px, np.float32), fx.motion_blur)
    if fx.noise > 0:
        sigma = np.sqrt(fx.noise**2 + 0.5 * fx.noise * np.clip(out, 0, 1))
        out = out + rng.normal(0, 1, out.shape).astype(np.float32) * sigma
    gain = lerp(fx.wb_start, fx.wb_end, t) * float(lerp(fx.exposure_start, fx.exposure_end, t)) * base_gain
    out = np.clip(out * gain[None, None], 0, 1)
    if fx.gamma != 1.0:
        out = out ** (1.0 / fx.gamma)
    u8 = np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if fx.jpeg_quality > 0:
        ok, buf = cv2.imencode(".jpg", u8[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(fx.jpeg_quality)])
        if ok:
            u8 = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(u8)


def shake(n: int, amplitude_px: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth small camera shake (hand-held). -> (n, 2) px offsets."""
    if amplitude_px <= 0:
        return np.zeros((n, 2), np.float32)
    raw = rng.normal(0, 1, (n + 20, 2))
    k = np.hanning(9)
    sm = np.stack([np.convolve(raw[:, i], k / k.sum(), "same") for i in range(2)], 1)[10:10 + n]
    return (amplitude_px * sm / (sm.std(0) + 1e-9)).astype(np.float32)
