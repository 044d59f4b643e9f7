"""Triangulate the head chart: a graded, Delaunay-refined mesh of the UV atlas.

Points are laid in the atlas (fixed: atlas border, mouth lens, lid margins, landmarks;
free: a density-graded set relaxed with the DistMesh spring scheme of Persson & Strang)
and triangulated in UV, so the atlas is one chart with no flipped or overlapping
triangles by construction. Vertices are then the chart's model-space points; the mouth
lens becomes the mouth cavity (a pouch behind the lips whose rows interpolate between
the upper and lower lip edge).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import RegularGridInterpolator
from scipy.spatial import Delaunay

from studio import face_plan as fp
from studio.shape import HeadChart, uv_to_angles

SKIN, LIP, EYE, MOUTH, LIP_EDGE = 0, 1, 2, 3, 4  # per-vertex region codes
BAG_ROWS = (-0.5, 0.0, 0.5)  # lens rows (s) of the mouth cavity
BAG_DEPTH, BAG_HEIGHT = 0.30, 0.12


@dataclass
class HeadMesh:
    uvs: np.ndarray  # (V, 2)
    vertices: np.ndarray  # (V, 3)
    faces: np.ndarray  # (F, 3)
    landmark_ids: np.ndarray  # (68,)
    region: np.ndarray  # (V,) int codes above
    lip_side: np.ndarray  # (V,) -1 upper-lip edge, +1 lower-lip edge, 0 otherwise
    bag_src: np.ndarray  # (V, 2) upper / lower lip-edge vertex each cavity vertex follows (-1: none)
    bag_a: np.ndarray  # (V,) weight of the lower edge for cavity vertices


def _size_field(chart: HeadChart, n: int = 161) -> RegularGridInterpolator:
    """Desired edge length in UV units on an n x n grid (finer on the face features)."""
    g = np.linspace(0.0, 1.0, n)
    U, V = np.meshgrid(g, g, indexing="ij")
    P = chart.points(np.stack([U, V], -1).reshape(-1, 2))
    x, y, z = P.T
    d_face = np.clip(np.linalg.norm(P - [0.0, -0.05, -0.9], axis=1) - 1.05, 0.0, None)
    h = np.minimum(0.026, 0.0088 + 0.06 * d_face)
    for side in (-1, 1):
        d_eye = np.hypot((x - side * fp.EYE_CX) / 1.3, y - fp.EYE_CY) + 0.5 * np.clip(z + 0.5, 0, None)
        h = np.minimum(h, 0.0048 + 0.06 * np.clip(d_eye - 0.14, 0.0, None))
    d_mouth = np.hypot(x / 1.6, (y - 0.52) / 1.0) + np.clip(z + 0.6, 0, None)
    h = np.minimum(h, 0.0048 + 0.06 * np.clip(d_mouth - 0.14, 0.0, None))
    d_nose = np.hypot(x / 1.3, (y + 0.05) / 2.2) + np.clip(z + 0.7, 0, None)
    h = np.minimum(h, 0.0062 + 0.06 * np.clip(d_nose - 0.1, 0.0, None))
    _, phi = uv_to_angles(np.stack([U, V], -1).reshape(-1, 2))
    h = h / np.maximum(np.cos(phi), 0.45) ** 0.5
    return RegularGridInterpolator((g, g), h.reshape(n, n))


def _border(hb: float) -> np.ndarray:
    n = int(np.ceil(1.0 / hb))
    t = np.linspace(0.0, 1.0, n + 1)
    e0, e1 = np.zeros_like(t), np.ones_like(t)
    pts = np.concatenate([np.stack([t, e0], -1), np.stack([t, e1], -1),
                          np.stack([e0[1:-1], t[1:-1]], -1), np.stack([e1[1:-1], t[1:-1]], -1)])
    return pts


def build_mesh(chart: HeadChart, iters: int = 70) -> HeadMesh:
    lens = chart.lens
    us = lens.u_s
    n_m = len(us)
    # --- fixed points: mouth lens (corners, upper edge, lower edge, cavity rows)
    vm, w = lens.vm(us), lens.w(us)
    fixed = [np.array([[us[0], vm[0]], [us[-1], vm[-1]]])]
    fixed += [np.stack([us[1:-1], vm[1:-1] - w[1:-1]], -1), np.stack([us[1:-1], vm[1:-1] + w[1:-1]], -1)]
    inner = slice(2, n_m - 2)
    for s in BAG_ROWS:
        fixed.append(np.stack([us[inner], vm[inner] + s * w[inner]], -1))
    n_lens = sum(len(f) for f in fixed)
    # --- lid margins (landmark ring) and a ring just inside the fissure
    eye_rings = []
    for side in (-1, 1):
        up, lo = fp.eye_margin(side, 17, True), fp.eye_margin(side, 17, False)
        eye_rings += [up, lo[1:-1]]
        ec = fp.eye_coords(up[1:-1, 0], up[1:-1, 1], side)
        gap = np.minimum(0.012, 0.3 * (ec["yl"] - ec["yu"]))
        eye_rings += [up[1:-1] + np.stack([0 * gap, gap], -1), lo[1:-1] - np.stack([0 * gap, gap], -1)]
    eye_xy = np.concatenate(eye_rings)
    other_lm = [k for k in range(68) if not (36 <= k <= 47 or k >= 60)]
    solved = chart.solve_uv(np.concatenate([eye_xy, fp.LM[other_lm]]))
    pfix = np.concatenate(fixed + [solved])
    size = _size_field(chart)
    hb = 0.024
    pfix = np.concatenate([pfix, _border(hb)])
    # --- free points: graded lattice, rejection by density
    h0 = 0.0048
    gx = np.arange(h0 / 2, 1.0, h0)
    gy = np.arange(h0 / 2, 1.0, h0 * np.sqrt(3) / 2)
    X, Y = np.meshgrid(gx, gy)
    X = X + (np.arange(len(gy))[:, None] % 2) * h0 / 2
    p = np.stack([X.ravel(), Y.ravel()], -1)
    p = p[(p > 0.004).all(1) & (p < 0.996).all(1)]
    rng = np.random.default_rng(0)
    p = p[rng.random(len(p)) < (h0 / size(p)) ** 2]
    p = _keep_out(p, pfix, lens, size)
    nf = len(pfix)
    p = np.concatenate([pfix, p])
    for _ in range(iters):
        tri = Delaunay(p).simplices
        bars = np.unique(np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [0, 2]]]), 1), axis=0)
        vec = p[bars[:, 0]] - p[bars[:, 1]]
        L = np.linalg.norm(vec, axis=1)
        hb_ = size(0.5 * (p[bars[:, 0]] + p[bars[:, 1]]))
        L0 = hb_ * 1.2 * np.sqrt((L**2).sum() / (hb_**2).sum())
        F = np.clip(L0 - L, 0.0, None) / np.maximum(L, 1e-12)
        Fv = F[:, None] * vec
        Ft = np.zeros_like(p)
        np.add.at(Ft, bars[:, 0], Fv)
        np.add.at(Ft, bars[:, 1], -Fv)
        Ft[:nf] = 0.0
        p = p + 0.2 * Ft
        p[nf:] = np.clip(p[nf:], 0.003, 0.997)
        p[nf:] = _push_out_of_lens(p[nf:], lens, size)
    p = np.concatenate([pfix, _keep_out(p[nf:], pfix, lens, size, 0.45)])
    tri = Delaunay(p).simplices
    return _assemble(chart, p, tri, n_lens, len(eye_xy), other_lm, n_m)


def _keep_out(p, pfix, lens, size, frac=0.6):
    from scipy.spatial import cKDTree

    d, _ = cKDTree(pfix).query(p)
    p = p[d > frac * size(p)]
    return p[np.abs(p[:, 1] - lens.vm(p[:, 0])) > lens.w(p[:, 0]) + 0.5 * size(p)]


def _push_out_of_lens(p, lens, size):
    vm, w, h = lens.vm(p[:, 0]), lens.w(p[:, 0]), size(p)
    d = p[:, 1] - vm
    bad = (np.abs(d) < w + 0.5 * h) & (p[:, 0] > lens.u0) & (p[:, 0] < lens.u1)
    p[bad, 1] = vm[bad] + np.where(d[bad] >= 0, 1.0, -1.0) * (w[bad] + 0.5 * h[bad])
    return p


def _assemble(chart, p, tri, n_lens, n_eye, other_lm, n_m) -> HeadMesh:
    lens = chart.lens
    V = len(p)
    # orientation: outward normals need a negative signed area in (u, v) (see module doc)
    a = p[tri]
    e1, e2 = a[:, 1] - a[:, 0], a[:, 2] - a[:, 0]
    area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    tri = tri[np.abs(area) > 1e-12]
    area = area[np.abs(area) > 1e-12]
    tri = np.where((area > 0)[:, None], tri[:, [0, 2, 1]], tri)
    # lens bookkeeping: ids of corners / upper / lower edges / rows
    n_in = n_m - 4
    c0, c1 = 0, 1
    upper = np.concatenate([[c0], 2 + np.arange(n_m - 2), [c1]])
    lower = np.concatenate([[c0], 2 + (n_m - 2) + np.arange(n_m - 2), [c1]])
    rows = [2 + 2 * (n_m - 2) + k * n_in + np.arange(n_in) for k in range(len(BAG_ROWS))]
    region = np.full(V, SKIN, np.int64)
    lip_side = np.zeros(V, np.int64)
    lip_side[upper[1:-1]], lip_side[lower[1:-1]] = -1, 1
    region[np.concatenate([upper, lower])] = LIP_EDGE
    bag_src = np.full((V, 2), -1, np.int64)
    bag_a = np.zeros(V, np.float32)
    for s, r in zip(BAG_ROWS, rows):
        region[r] = MOUTH
        bag_src[r, 0], bag_src[r, 1] = upper[2:-2], lower[2:-2]
        bag_a[r] = 0.5 * (s + 1.0)
    # validate: no triangle mixes cavity vertices with skin vertices
    in_lens = np.isin(region, [MOUTH, LIP_EDGE])
    cav = (region == MOUTH)[tri].any(1)
    if (cav & ~in_lens[tri].all(1)).any():
        raise RuntimeError("mouth lens not respected by the triangulation")
    verts = chart.points(p)
    for s, r in zip(BAG_ROWS, rows):
        t = (p[r, 0] - lens.u0) / (lens.u1 - lens.u0) * 2.0 - 1.0
        taper = np.sqrt(np.clip(1.0 - t**2, 0.0, None))
        back = BAG_DEPTH * np.sqrt(1.0 - s**2) * taper
        verts[r] = verts[upper[2:-2]] + np.stack([0 * t, s * BAG_HEIGHT * taper * 2 * np.sqrt(1 - s**2), back], -1)
    # landmarks
    lm = np.zeros(68, np.int64)
    e0 = n_lens
    for k, side in ((36, -1), (42, 1)):
        base = e0 + (0 if side < 0 else 2 * 17 - 2 + 2 * 15)
        up = base + np.arange(17)
        lo = np.concatenate([[up[0]], base + 17 + np.arange(15), [up[-1]]])
        t = np.linspace(-1, 1, 17)
        i4, i6 = np.argmin(np.abs(t + 0.4)), np.argmin(np.abs(t - 0.4))
        lm[k:k + 6] = [up[0], up[i4], up[i6], up[-1], lo[i6], lo[i4]]
    lm[other_lm] = e0 + n_eye + np.arange(len(other_lm))
    mx = chart.mouth_x
    pick = [int(np.argmin(np.abs(mx - xx))) for xx in (-0.10, 0.0, 0.10)]
    lm[60], lm[64] = upper[0], upper[-1]
    lm[61:64] = upper[pick]
    lm[65:68] = lower[pick[::-1]]
    # lips and eyes by the template position
    x, y = verts[:, 0], verts[:, 1]
    yu, yl = fp.lip_outline_y(x)
    lipmask = (y > yu) & (y < yl) & (np.abs(x) < 0.36) & (verts[:, 2] < -0.6) & (region == SKIN)
    region[lipmask] = LIP
    for side in (-1, 1):
        ec = fp.eye_coords(x, y, side)
        region[ec["inside"] & (ec["sd"] < -0.004) & (region == SKIN) & (verts[:, 2] < -0.5)] = EYE
    return HeadMesh(p.astype(np.float32), verts.astype(np.float32), tri.astype(np.int64), lm,
                    region, lip_side, bag_src, bag_a)
