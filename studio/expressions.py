"""Expression blend directions of the template head: named (V, 3) displacement fields.

Each field is written from the template positions (model space: x image-right, y down,
z away from the camera) with smooth, anatomically placed support. ``_L`` = image-left
(x < 0, the eye of landmarks 36-41), ``_R`` = image-right. A field at weight 1 is a
full-strength expression; the studio combines them linearly.
"""

from __future__ import annotations

import numpy as np

from studio import face_plan as fp
from studio.face_plan import gauss2, smoothstep
from studio.mesh import EYE, MOUTH, HeadMesh

EXPRESSION_NAMES = (
    "jaw_open", "smile_L", "smile_R", "pucker", "funnel", "brow_raise", "brow_frown", "blink_L", "blink_R",
    "cheek_puff", "sneer", "lip_press", "frown", "squint_L", "squint_R", "mouth_left", "mouth_right",
)
JAW_HINGE = np.array([0.0, -0.1, 0.45])
JAW_ANGLE = 0.3  # radians at jaw_open = 1
JAW_SLIDE = np.array([0.0, 0.03, -0.15])  # the condyles glide forward as the jaw opens


def vertex_normals(V: np.ndarray, F: np.ndarray) -> np.ndarray:
    tri = V[F].astype(np.float64)
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n = np.stack([np.bincount(F.ravel(), np.repeat(fn[:, k], 3), minlength=len(V)) for k in range(3)], -1)
    # coincident vertices (closed lips, the seam at the back of the head) share one normal
    _, inv = np.unique(np.round(np.asarray(V, np.float64), 6), axis=0, return_inverse=True)
    inv = inv.ravel()
    n = np.stack([np.bincount(inv, n[:, k]) for k in range(3)], -1)[inv]
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def lower_face_weight(P: np.ndarray, lip_side: np.ndarray) -> np.ndarray:
    """1 on the lower lip / chin / jaw, 0 on the upper lip and above; a hard step across the
    closed mouth (the lips are separate vertices) and a widening ramp towards the ears."""
    x, y = P[:, 0], P[:, 1]
    e = np.clip(np.abs(x) - fp.MOUTH_HALF, 0.0, None)
    line = fp.mouth_line_y(np.clip(x, -fp.MOUTH_HALF, fp.MOUTH_HALF)) - 0.9 * e
    d = np.where(lip_side != 0, 0.02 * lip_side, y - line)
    s = np.maximum(0.7 * e, 1e-6)
    return smoothstep(-s, s, d)


def _front(P: np.ndarray, z0: float = -0.45) -> np.ndarray:
    return smoothstep(z0 + 0.25, z0 - 0.05, P[:, 2])


def _rotate_x(P: np.ndarray, center: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate points about the x axis through center; positive angles move the front down."""
    q = P - center
    c, s = np.cos(angle), np.sin(angle)
    y = c * q[:, 1] - s * q[:, 2]
    z = s * q[:, 1] + c * q[:, 2]
    return np.stack([q[:, 0], y, z], -1) + center


def lid_rotation(P: np.ndarray, region: np.ndarray, side: int, skin: float) -> tuple:
    """How the upper lid turns about the eyeball centre. -> centre (3,), travel (V,) (the angle from
    the upper to the lower lid margin at each x, radians), k (V,) (1 on the upper margin and the lid
    skin above it, fading over ``skin`` model units; 1 - frac on the eye surface; 0 below the lower lid)."""
    x, y = P[:, 0], P[:, 1]
    ec = fp.eye_coords(x, y, side)
    cx, cy = fp.eye_center(side)
    inner = (region == EYE) & (np.abs(x - cx) < fp.EYE_A)
    apex = P[inner][np.argmin(np.hypot(x[inner] - cx, y[inner] - cy)), 2] if inner.any() else -0.83
    center = np.array([cx, cy, apex + fp.EYEBALL_R])
    R = fp.EYEBALL_R
    travel = np.arcsin(np.clip((ec["yl"] - cy) / R, -1, 1)) - np.arcsin(np.clip((ec["yu"] - cy) / R, -1, 1))
    above = 1.0 - smoothstep(0.0, skin, ec["yu"] - y)
    k = np.where(y < ec["yu"], above, np.clip(1.0 - ec["frac"], 0.0, 1.0))
    k = np.where(y > ec["yl"], 0.0, k)
    return center, travel, k * (np.hypot(x - cx, y - cy) < 0.4) * _front(P, -0.6)


def _blink(P: np.ndarray, region: np.ndarray, side: int) -> np.ndarray:
    center, travel, k = lid_rotation(P, region, side, 0.15)
    return _rotate_x(P, center, 0.99 * travel * k) - P


def expression_basis(mesh: HeadMesh) -> np.ndarray:
    """All expression fields. -> (E, V, 3) float32, in the order of EXPRESSION_NAMES."""
    P = mesh.vertices.astype(np.float64)
    x, y, z = P.T
    ax = np.abs(x)
    N = vertex_normals(P, mesh.faces)
    front = _front(P)
    low = lower_face_weight(P, mesh.lip_side)
    up = 1.0 - low
    d = y - fp.mouth_line_y(np.clip(x, -fp.MOUTH_HALF, fp.MOUTH_HALF))
    lips = np.exp(-0.5 * (x / 0.3) ** 4) * np.exp(-0.5 * (d / 0.1) ** 2) * front
    mid = 1.0 - smoothstep(0.18, fp.MOUTH_HALF, ax)  # zero at the mouth corners
    out = {}
    corner = sum(gauss2(x, y, s * fp.MOUTH_HALF, fp.mouth_line_y(fp.MOUTH_HALF), 0.09, 0.09) for s in (-1, 1))
    w = low + (0.5 - low) * np.clip(corner, 0.0, 1.0) * front  # the lips part in an oval
    w = w * (1.0 - smoothstep(1.1, 1.65, y)) * (1.0 - smoothstep(0.2, 0.6, z))
    out["jaw_open"] = w[:, None] * (_rotate_x(P, JAW_HINGE, np.full(len(P), JAW_ANGLE)) - P + JAW_SLIDE)
    for name, s in (("L", -1), ("R", 1)):
        g = gauss2(x, y, s * 0.31, 0.5, 0.16, 0.14) * front
        cheek = gauss2(x, y, s * 0.45, 0.12, 0.16, 0.14) * front
        lid = gauss2(x, y, s * fp.EYE_CX, -0.22, 0.12, 0.05) * (y > fp.EYE_CY) * front
        out[f"smile_{name}"] = (g[:, None] * [s * 0.08, -0.11, 0.03] + cheek[:, None] * [s * 0.01, -0.04, -0.03]
                                + lid[:, None] * [0.0, -0.015, 0.0])
    pk = np.exp(-0.5 * (x / 0.38) ** 4) * np.exp(-0.5 * (d / 0.12) ** 2) * front
    out["pucker"] = pk[:, None] * np.stack([-0.4 * x, -0.15 * d, np.full_like(x, -0.1)], -1)
    opn = lips * mid * np.exp(-0.5 * (d / 0.06) ** 2)
    out["funnel"] = (lips[:, None] * np.stack([-0.22 * x, 0 * x, np.full_like(x, -0.08)], -1)
                     + (opn * (low - up))[:, None] * [0.0, 0.05, 0.0])
    brow = smoothstep(-0.37, -0.48, y) * (1.0 - 0.7 * smoothstep(-0.8, -1.35, y)) * np.exp(-0.5 * (x / 0.95) ** 4)
    out["brow_raise"] = (brow * front)[:, None] * [0.0, -0.1, -0.01]
    fr = (gauss2(ax, y, 0.25, -0.52, 0.15, 0.09) * front)[:, None]
    out["brow_frown"] = fr * np.stack([-np.sign(x) * 0.04, np.full_like(x, 0.04), np.full_like(x, -0.01)], -1)
    out["blink_L"] = _blink(P, mesh.region, -1)
    out["blink_R"] = _blink(P, mesh.region, 1)
    puff = (gauss2(ax, y, 0.52, 0.38, 0.2, 0.2) * front)[:, None]
    out["cheek_puff"] = 0.1 * puff * N + lips[:, None] * [0.0, 0.0, -0.02]
    sn = (gauss2(ax, y, 0.17, 0.32, 0.12, 0.1) * up)[:, None] * [0.0, -0.05, -0.01]
    out["sneer"] = (sn + (gauss2(ax, y, 0.14, 0.12, 0.06, 0.06) * front)[:, None] * [0.0, -0.03, 0.0]) * front[:, None]
    out["lip_press"] = lips[:, None] * np.stack([0 * x, -0.5 * d, np.full_like(x, 0.02)], -1)
    corners = sum(gauss2(x, y, s * 0.31, 0.5, 0.15, 0.14) for s in (-1, 1)) * front
    out["frown"] = corners[:, None] * np.stack([np.sign(x) * 0.02, np.full_like(x, 0.07), 0 * x], -1)
    for name, s in (("L", -1), ("R", 1)):
        ec = fp.eye_coords(x, y, s)
        lower = np.where(ec["inside"], np.clip(ec["frac"], 0, 1), 1.0 - smoothstep(0.0, 0.12, y - ec["yl"]))
        lower = lower * (y > ec["yu"]) * np.exp(-0.5 * np.clip(np.abs(ec["t"]) - 1, 0, None) ** 2 / 0.1)
        cheek = gauss2(x, y, s * 0.45, 0.0, 0.15, 0.12)
        out[f"squint_{name}"] = ((lower * 0.03 + cheek * 0.02) * front)[:, None] * [0.0, -1.0, 0.0]
    shift = (gauss2(x, y, 0.0, 0.5, 0.32, 0.2) * front)[:, None]
    out["mouth_left"] = shift * [-0.08, 0.0, 0.01]
    out["mouth_right"] = shift * [0.08, 0.0, 0.01]
    B = np.stack([out[n] for n in EXPRESSION_NAMES]).astype(np.float64)
    return follow_lips(B, mesh).astype(np.float32)


def follow_lips(B: np.ndarray, mesh: HeadMesh) -> np.ndarray:
    """Cavity vertices follow the lip edges: lerp of their upper / lower edge vertex. (..., V, 3)"""
    cav = np.where(mesh.region == MOUTH)[0]
    a = mesh.bag_a[cav][:, None]
    B = B.copy()
    B[..., cav, :] = (1 - a) * B[..., mesh.bag_src[cav, 0], :] + a * B[..., mesh.bag_src[cav, 1], :]
    return B
