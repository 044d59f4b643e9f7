"""The analytic template head: a map from the UV atlas to model space.

The atlas is a latitude/longitude chart around a centre inside the head: ``u`` is the
azimuth (0.5 = straight ahead, 0 and 1 = the back of the head, where the two atlas edges
meet in space), ``v`` the elevation (0 near the crown, 1 near the bottom of the neck).
Both are warped monotonically so that the face gets most of the texels. A ray from the
centre in that direction hits a smooth "bust" (skull, midface, jaw, chin, neck, ears as
smooth-unioned signed distance primitives - star shaped around the centre, so the chart
is one-to-one); the face relief (nose, brows, orbits, cheeks, lips, chin) is then added
along z on the front-facing part and the eyeballs and lids are united with it.

The mouth is a thin lens in the atlas around the lip contact line: its upper and lower
edges both map onto the contact line (lips closed at rest) and its inside is the mouth
cavity (handled in :mod:`studio.mesh`), so the lips can part.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import PchipInterpolator

from studio import face_plan as fp
from studio.face_plan import gauss2, smoothstep

CENTER = np.array([0.0, -0.3, 0.3])
_U = PchipInterpolator([0.0, 0.15, 0.85, 1.0], np.radians([-180.0, -84.0, 84.0, 180.0]))
_V = PchipInterpolator([0.0, 0.1, 0.9, 1.0], np.radians([-88.0, -62.0, 68.0, 88.0]))


# ---------------------------------------------------------------------- SDF primitives
def _ellipsoid(p: np.ndarray, c, r) -> np.ndarray:
    q = (p - np.asarray(c)) / np.asarray(r)
    k0 = np.linalg.norm(q, axis=-1)
    k1 = np.linalg.norm(q / np.asarray(r), axis=-1)
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-9)


def _capsule(p: np.ndarray, a, b, r: float) -> np.ndarray:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    pa, ba = p - a, b - a
    h = np.clip((pa @ ba) / (ba @ ba), 0.0, 1.0)
    return np.linalg.norm(pa - h[..., None] * ba, axis=-1) - r


def _smin(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    h = np.maximum(k - np.abs(a - b), 0.0) / k
    return np.minimum(a, b) - h * h * k * 0.25


def bust_sdf(p: np.ndarray) -> np.ndarray:
    """Signed distance (approx.) of the smooth bust without facial relief. (..., 3) -> (...)"""
    pa = np.where(p[..., :1] < 0, p * np.array([-1.0, 1.0, 1.0]), p)  # mirror to x >= 0
    d = _ellipsoid(p, (0.0, -0.72, 0.42), (1.02, 1.28, 1.30))  # cranium
    d = _smin(d, _ellipsoid(p, (0.0, -0.05, -0.02), (0.92, 0.72, 0.86)), 0.3)  # midface
    q = p + np.stack([0 * p[..., 0], 0 * p[..., 0], 0.45 * (p[..., 1] - 0.45)], -1)  # sheared jaw
    jaw = _ellipsoid(q, (0.0, 0.45, -0.12), (0.84, 0.63, 0.68))
    chin = _ellipsoid(p, (0.0, 0.83, -0.56), (0.30, 0.20, 0.26))
    d = _smin(d, _smin(jaw, chin, 0.15), 0.25)
    d = _smin(d, _capsule(p, (0.0, 0.5, 0.34), (0.0, 2.4, 0.40), 0.62), 0.35)  # neck
    ear = _ellipsoid(pa, (0.98, -0.28, 0.46), (0.13, 0.30, 0.19))
    concha = _ellipsoid(pa, (1.11, -0.23, 0.43), (0.05, 0.14, 0.09))
    ear = -_smin(-ear, concha, 0.04)
    return _smin(d, ear, 0.08)


def ray_directions(theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    cp = np.cos(phi)
    return np.stack([cp * np.sin(theta), np.sin(phi), -cp * np.cos(theta)], -1)


def bust_points(theta: np.ndarray, phi: np.ndarray, iters: int = 34) -> tuple[np.ndarray, np.ndarray]:
    """Ray hits on the bust and its unit normals. (N,), (N,) -> (N, 3), (N, 3)"""
    d = ray_directions(theta, phi)
    lo = np.zeros(len(d))
    hi = np.full(len(d), 4.0)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        inside = bust_sdf(CENTER + mid[:, None] * d) < 0
        lo = np.where(inside, mid, lo)
        hi = np.where(inside, hi, mid)
    P = CENTER + (0.5 * (lo + hi))[:, None] * d
    e = 1e-4
    g = np.stack([bust_sdf(P + e * ax) - bust_sdf(P - e * ax) for ax in np.eye(3)], -1)
    return P, g / np.maximum(np.linalg.norm(g, axis=-1, keepdims=True), 1e-12)


# ---------------------------------------------------------------------- facial relief
def relief(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Facial relief along z (negative = towards the camera) at face point (x, y). (N,) -> (N,)"""
    ax = np.abs(x)
    z = np.zeros_like(x)
    # forehead, brow ridge, glabella, temples
    z -= 0.05 * gauss2(ax, y, 0.0, -1.0, 0.55, 0.35)
    z -= 0.065 * np.exp(-0.5 * ((y + 0.55 + 0.06 * ax**2) / 0.075) ** 2) * np.exp(-0.5 * (ax / 0.5) ** 4)
    z -= 0.03 * gauss2(ax, y, 0.0, -0.48, 0.12, 0.09)
    z += 0.05 * gauss2(ax, y, 0.88, -0.55, 0.15, 0.25)
    # orbits (the eyeballs and lids are united later)
    z += 0.13 * gauss2(ax, y, fp.EYE_CX, fp.EYE_CY - 0.01, 0.19, 0.13)
    # cheekbones, cheeks, nasolabial folds
    z -= 0.06 * gauss2(ax, y, 0.56, -0.06, 0.20, 0.12)
    z -= 0.03 * gauss2(ax, y, 0.50, 0.28, 0.20, 0.20)
    nl = (ax - 0.2 - 0.45 * (y - 0.15)) / 0.03  # fold line from the ala towards the mouth corner
    z += 0.012 * np.exp(-0.5 * nl**2) * smoothstep(0.08, 0.2, y) * (1.0 - smoothstep(0.5, 0.62, y))
    # nose: ridge profile p(y), half width w(y), alae, nostrils
    yk = [-0.46, -0.40, -0.26, -0.12, 0.0, 0.06, 0.12, 0.18, 0.22, 0.28]
    pk = [0.02, 0.035, 0.10, 0.17, 0.27, 0.285, 0.22, 0.09, 0.015, 0.0]
    wk = [0.10, 0.08, 0.075, 0.08, 0.095, 0.10, 0.10, 0.09, 0.08, 0.08]
    prof = np.interp(y, yk, pk, left=0.0, right=0.0)
    width = np.interp(y, yk, wk)
    z -= prof * np.exp(-0.5 * (x / width) ** 2 - 0.5 * (x / (1.4 * width)) ** 4)
    z -= 0.1 * gauss2(ax, y, 0.14, 0.1, 0.055, 0.05)
    z += 0.03 * gauss2(ax, y, 0.075, 0.165, 0.028, 0.02)
    # mouth: prominence, philtrum, upper and lower lip, mentolabial sulcus, chin
    d = y - fp.mouth_line_y(x)
    lat = np.exp(-0.5 * (x / 0.27) ** 4)
    z -= 0.07 * np.exp(-0.5 * ((d + 0.03) / 0.16) ** 2) * np.exp(-0.5 * (x / 0.4) ** 4)
    z += 0.01 * gauss2(x, y, 0.0, 0.32, 0.03, 0.07) - 0.005 * gauss2(ax, y, 0.045, 0.33, 0.015, 0.07)
    z -= lat * (0.045 * np.exp(-0.5 * ((d + 0.035) / 0.03) ** 2) + 0.05 * np.exp(-0.5 * ((d - 0.055) / 0.045) ** 2))
    z += 0.006 * lat * np.exp(-0.5 * (d / 0.012) ** 2)
    z += 0.03 * gauss2(x, y, 0.0, 0.74, 0.22, 0.06)
    z -= 0.05 * gauss2(x, y, 0.0, 0.87, 0.2, 0.08)
    return z


def _eye_relief(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Eyeballs (smooth bulge in the orbit) and lids (thin step outside the fissure)."""
    z = np.zeros_like(x)
    for side in (-1, 1):
        cx, cy = fp.eye_center(side)
        rho2 = ((x - cx) ** 2 + (y - cy) ** 2) / EYE_BULGE_R**2
        z -= EYE_BULGE_H * np.clip(1.0 - rho2, 0.0, None) ** 2
        ec = fp.eye_coords(x, y, side)
        lid = smoothstep(-0.012, 0.0, ec["sd"]) * (1.0 - smoothstep(0.03, 0.12, ec["sd"]))
        z -= 0.02 * lid * (rho2 < 1.5)
        z += 0.01 * np.exp(-0.5 * ((y - (ec["yu"] - 0.055)) / 0.015) ** 2) * np.exp(-0.5 * ec["t"] ** 4)
    return z


EYE_BULGE_R, EYE_BULGE_H = 0.28, 0.10


def face_points(theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Template surface at chart angles. (N,), (N,) -> (N, 3)"""
    P, n = bust_points(theta, phi)
    front = smoothstep(0.12, 0.5, -n[:, 2]) * smoothstep(-0.3, -0.05, -P[:, 2] - 0.35)
    x, y = P[:, 0], P[:, 1]
    z = P[:, 2] + front * (relief(x, y) + _eye_relief(x, y))
    return np.stack([x, y, z], -1)


# ---------------------------------------------------------------------- the chart
def uv_to_angles(uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uv = np.asarray(uv, np.float64)
    return _U(uv[..., 0]), _V(uv[..., 1])


class MouthLens:
    """The mouth slit in the atlas: for u in the mouth's range, the atlas band
    [vm - B, vm + B] is squeezed onto the chart band so that the lens (vm - w, vm + w)
    collapses onto the contact line vm. ``u_s, vm_s`` sample the contact line."""

    def __init__(self, u_s: np.ndarray, vm_s: np.ndarray, w0: float = 0.016, band: float = 0.05):
        self.u_s, self.vm_s, self.w0, self.band = u_s, vm_s, w0, band
        self.u0, self.u1 = float(u_s[0]), float(u_s[-1])

    def vm(self, u: np.ndarray) -> np.ndarray:
        return np.interp(u, self.u_s, self.vm_s)

    def w(self, u: np.ndarray) -> np.ndarray:
        t = np.clip((2.0 * u - self.u0 - self.u1) / (self.u1 - self.u0), -1.0, 1.0)
        return self.w0 * np.clip(1.0 - t**2, 0.0, None) ** 0.75

    def inside(self, uv: np.ndarray) -> np.ndarray:
        u, v = uv[..., 0], uv[..., 1]
        return np.abs(v - self.vm(u)) < self.w(u)

    def collapse(self, uv: np.ndarray) -> np.ndarray:
        """Atlas -> chart coordinates (identity away from the mouth)."""
        u, v = uv[..., 0], uv[..., 1].copy()
        vm, w, B = self.vm(u), self.w(u), self.band
        d = v - vm
        a = np.abs(d)
        inband = (a < B) & (u > self.u0) & (u < self.u1)
        squeezed = np.sign(d) * np.clip(a - w, 0.0, None) * B / (B - w)
        v = np.where(inband, vm + squeezed, v)
        return np.stack([u, v], -1)


class HeadChart:
    """UV atlas -> template model space, with the mouth lens (see module docstring)."""

    def __init__(self, n_mouth: int = 33):
        xs = np.linspace(-fp.MOUTH_HALF, fp.MOUTH_HALF, n_mouth)
        for xx in (-0.10, 0.0, 0.10):
            xs[np.argmin(np.abs(xs - xx))] = xx
        self.mouth_x = xs
        targets = np.stack([xs, fp.mouth_line_y(xs)], -1)
        uv = self.solve_uv(targets, lens=False)
        self.lens = MouthLens(uv[:, 0], uv[:, 1])

    def points(self, uv: np.ndarray, lens: bool = True) -> np.ndarray:
        uv = np.asarray(uv, np.float64).reshape(-1, 2)
        if lens:
            uv = self.lens.collapse(uv)
        return face_points(*uv_to_angles(uv))

    def solve_uv(self, xy: np.ndarray, lens: bool = True, iters: int = 12) -> np.ndarray:
        """Front-facing atlas points whose template (x, y) are xy. (M, 2) -> (M, 2)"""
        xy = np.asarray(xy, np.float64).reshape(-1, 2)
        g = np.linspace(0.25, 0.75, 161)
        G = np.stack(np.meshgrid(g, np.linspace(0.3, 0.85, 161)), -1).reshape(-1, 2)
        P = self.points(G, lens)
        ok = P[:, 2] < -0.25
        uv = G[ok][np.argmin(((P[ok, None, :2] - xy[None]) ** 2).sum(-1), 0)]
        e = 1e-5
        for _ in range(iters):
            p0 = self.points(uv, lens)[:, :2]
            J = np.stack([(self.points(uv + [e, 0], lens)[:, :2] - p0) / e,
                          (self.points(uv + [0, e], lens)[:, :2] - p0) / e], -1)  # (M, 2, 2)
            Jt = J.transpose(0, 2, 1)
            A = Jt @ J + 1e-6 * np.eye(2)
            step = np.linalg.solve(A, Jt @ (xy - p0)[..., None])[..., 0]
            uv = uv + np.clip(step, -0.01, 0.01)
        return uv
