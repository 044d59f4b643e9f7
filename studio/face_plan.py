"""Where the features of the template face are, in model-space (x, y).

Everything the head generator, the expression basis and the albedo agree on lives here:
the 68 iBUG landmark targets (``models.topology.canonical_landmarks_2d`` with a closed
mouth), the eye fissures (almond curves through the eye landmarks), the mouth line, the
lip outlines and the brow lines. Model space: x image-right, y down, z away from the camera.
Suffix ``L`` means image-left (x < 0, the eye 36-41), ``R`` image-right.
"""

from __future__ import annotations

import numpy as np

from models.topology import canonical_landmarks_2d

LM = canonical_landmarks_2d().astype(np.float64)  # (68, 2)
MOUTH_HALF = 0.31  # |x| of the mouth corners (commissures, landmarks 60/64)
LM[60] = (-MOUTH_HALF, 0.50)
LM[64] = (MOUTH_HALF, 0.50)


def mouth_line_y(x: np.ndarray) -> np.ndarray:
    """y of the closed-lip contact line (inner lips 60-67 lie on it). (N,) -> (N,)"""
    t = np.clip(np.asarray(x, np.float64) / MOUTH_HALF, -1.5, 1.5)
    return 0.49 + 0.01 * t**2


for _k, _x in zip(range(61, 68), (-0.10, 0.0, 0.10, MOUTH_HALF, 0.10, 0.0, -0.10)):
    LM[_k] = (_x, float(mouth_line_y(np.array(_x))))

# --- eyes ---------------------------------------------------------------------------
EYE_CX = 0.42  # |x| of the eye centres
EYE_CY = -0.30
EYE_A = 0.20  # half width of the fissure (corners 36/39 at EYE_CX -/+ EYE_A)
EYE_HU = 0.0812  # upper lid height above the corner line at the centre
EYE_HL = 0.0696  # lower lid depth
EYE_P = 0.9  # almond exponent: y = cy -/+ h (1 - t^2)^p
EYEBALL_R = 0.20


def eye_center(side: int) -> np.ndarray:
    """(x, y) of the eye centre; side -1 = image-left (36-41), +1 = image-right (42-47)."""
    return np.array([side * EYE_CX, EYE_CY])


def eye_coords(x: np.ndarray, y: np.ndarray, side: int) -> dict:
    """Almond coordinates of points relative to one eye fissure.

    Returns ``t`` (x across the fissure, -1..1 between the corners), ``yu``/``yl`` (lid
    margin y at that x; equal to the corner line outside |t| < 1), ``frac`` (0 at the
    upper margin, 1 at the lower margin), ``inside`` (bool) and ``sd`` (approx. signed
    distance to the fissure curve in model units, negative inside). Shapes: (N,) each.
    """
    cx, cy = eye_center(side)
    t = (np.asarray(x, np.float64) - cx) / EYE_A
    base = np.clip(1.0 - t**2, 0.0, None) ** EYE_P
    yu = cy - EYE_HU * base
    yl = cy + EYE_HL * base
    y = np.asarray(y, np.float64)
    frac = (y - yu) / np.maximum(yl - yu, 1e-9)
    # signed distance: vertical distance to the nearer margin, combined with the corner distance
    dv = np.maximum(yu - y, y - yl)  # > 0 outside vertically
    dh = (np.abs(t) - 1.0) * EYE_A  # > 0 beyond the corners
    sd = np.where((dv > 0) & (dh > 0), np.hypot(dv, dh), np.maximum(dv * 0.8, dh))
    inside = sd < 0
    return dict(t=t, yu=yu, yl=yl, frac=frac, inside=inside, sd=sd)


def eye_margin(side: int, n: int, upper: bool) -> np.ndarray:
    """Points on a lid margin from corner to corner (both corners included), x increasing.

    Landmarks 37/38 (43/44) and 41/40 (47/46) sit at t = -/+ 0.4, which is always sampled.
    Shape: -> (n, 2)
    """
    t = np.linspace(-1.0, 1.0, n)
    for tt in (-0.4, 0.4):
        t[np.argmin(np.abs(t - tt))] = tt
    cx, cy = eye_center(side)
    h = (EYE_HU if upper else -EYE_HL) * (1.0 - t**2) ** EYE_P
    return np.stack([cx + EYE_A * t, cy - h], -1)


# --- lips and brows -------------------------------------------------------------------
def _interp_closed(pts: np.ndarray, x: np.ndarray) -> np.ndarray:
    order = np.argsort(pts[:, 0])
    return np.interp(x, pts[order, 0], pts[order, 1])


def lip_outline_y(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """y of the upper and lower vermilion borders at x (through landmarks 48-59)."""
    up = LM[48:55]
    lo = np.concatenate([LM[[48]], LM[59:53:-1], LM[[54]]])
    return _interp_closed(up, x), _interp_closed(lo, x)


def brow_line(side: int) -> np.ndarray:
    """Brow landmark polyline (5, 2), x increasing: 17-21 (side -1) or 22-26 (side +1)."""
    return LM[17:22] if side < 0 else LM[22:27]


def brow_distance(x: np.ndarray, y: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Distance of points to a brow polyline and the position along it (0 medial .. 1 lateral)."""
    line = brow_line(side)
    P = np.stack([x, y], -1)[:, None, :]  # (N, 1, 2)
    a, b = line[:-1], line[1:]  # (4, 2)
    ab = b - a
    h = np.clip(((P - a) * ab).sum(-1) / (ab * ab).sum(-1), 0.0, 1.0)  # (N, 4)
    d = np.linalg.norm(P - (a + h[..., None] * ab), axis=-1)
    k = d.argmin(1)
    pos = (k + h[np.arange(len(k)), k]) / 4.0
    pos = pos if side > 0 else 1.0 - pos  # 0 at the nose end
    return d.min(1), pos


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((np.asarray(x, np.float64) - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def gauss2(x: np.ndarray, y: np.ndarray, cx: float, cy: float, sx: float, sy: float) -> np.ndarray:
    return np.exp(-0.5 * (((x - cx) / sx) ** 2 + ((y - cy) / sy) ** 2))
