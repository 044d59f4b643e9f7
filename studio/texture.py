"""Procedural albedo of a studio person, painted in the UV atlas of the template head.

Every texel knows its template model-space position (barycentric interpolation over the
rasterised atlas, :meth:`models.topology.Topology.texel_map`), so features are painted
where they are on the face: skin tone with low-frequency blotches and pore noise, redder
lips, cheeks and nose tip, brows, eyelashes, eye whites / iris / pupil, darker lids and
nostrils, hair on the scalp, the mouth cavity with teeth, and the moles (salient points).
Output: RGB float32 in [0, 1], (T, T, 3), row = v, column = u.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from models.topology import Topology
from studio import face_plan as fp
from studio.face_plan import gauss2, smoothstep
from studio.mesh import LIP_EDGE, MOUTH

SKIN_TONES = np.array([(0.93, 0.77, 0.67), (0.86, 0.67, 0.54), (0.77, 0.58, 0.44), (0.63, 0.45, 0.33),
                       (0.48, 0.33, 0.23), (0.36, 0.24, 0.17)])
HAIR_COLORS = np.array([(0.06, 0.05, 0.045), (0.16, 0.10, 0.06), (0.30, 0.19, 0.11), (0.62, 0.48, 0.30),
                        (0.45, 0.18, 0.08), (0.55, 0.54, 0.52)])
IRIS_COLORS = np.array([(0.30, 0.17, 0.08), (0.13, 0.08, 0.05), (0.30, 0.42, 0.55), (0.30, 0.38, 0.22),
                        (0.42, 0.32, 0.15)])
MOLE_RADIUS = 0.027  # model units


@dataclass(frozen=True)
class SkinParams:
    """Colours and texture knobs of one person (RGB in [0, 1])."""

    skin: tuple
    hair: tuple
    iris: tuple
    lip_red: float  # 0..1 how red the lips are
    blotch: float  # amplitude of low-frequency skin variation
    pores: float  # amplitude of pore-scale noise
    blush: float  # cheek / nose redness
    hair_cover: float  # 0 bald .. 1 full hairline
    seed: int

    @classmethod
    def sample(cls, rng: np.random.Generator, seed: int) -> SkinParams:
        k = rng.uniform(0, len(SKIN_TONES) - 1)
        i = int(k)
        skin = SKIN_TONES[i] * (1 - (k - i)) + SKIN_TONES[min(i + 1, len(SKIN_TONES) - 1)] * (k - i)
        skin = np.clip(skin * rng.uniform(0.96, 1.04, 3), 0, 1)
        pick = lambda table: tuple(float(c) for c in table[rng.integers(len(table))])
        return cls(tuple(float(c) for c in skin.round(4)), pick(HAIR_COLORS), pick(IRIS_COLORS),
                   float(rng.uniform(0.3, 1.0)),
                   float(rng.uniform(0.03, 0.07)), float(rng.uniform(0.02, 0.045)), float(rng.uniform(0.0, 1.0)),
                   float(rng.choice([0.0, 1.0, 1.0, 1.0, 1.0])), seed)


def texel_positions(topo: Topology, T: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Template position (T, T, 3), mouth-cavity mask (T, T) and cavity row s (T, T) per texel."""
    Tr = min(T, 512)
    face, bary = topo.texel_map(Tr)
    f = np.where(face < 0, 0, face)
    tri = topo.faces[f]
    P = (topo.vertices[tri] * bary[..., None]).sum(-2)
    region = topo.extras["region"][tri]
    cav = np.isin(region, [MOUTH, LIP_EDGE]).all(-1) & (region == MOUTH).any(-1)
    cav |= (region == LIP_EDGE).all(-1)
    s = (topo.extras["mouth_s"][tri] * bary).sum(-1)
    if Tr != T:
        P = cv2.resize(P, (T, T), interpolation=cv2.INTER_LINEAR)
        cav = cv2.resize(cav.astype(np.uint8), (T, T), interpolation=cv2.INTER_NEAREST).astype(bool)
        s = cv2.resize(s.astype(np.float32), (T, T), interpolation=cv2.INTER_LINEAR)
    return P.astype(np.float64), cav, s


def _noise(rng: np.random.Generator, T: int, cells: int) -> np.ndarray:
    g = rng.standard_normal((cells, cells)).astype(np.float32)
    return cv2.resize(g, (T, T), interpolation=cv2.INTER_CUBIC).astype(np.float64)


def _hairline(x, y, z) -> np.ndarray:
    """> 0 on the scalp (signed distance-like, model units)."""
    th = np.abs(np.arctan2(x, 0.3 - z))
    line = np.interp(th, [0.0, 0.5, 0.9, 1.25, 1.6, 2.2, np.pi], [-1.22, -1.12, -0.85, -0.35, -0.1, 0.3, 0.4])
    ear = (np.abs(x) > 0.82) & (np.abs(y + 0.28) < 0.36) & (np.abs(z - 0.45) < 0.26)
    return np.where(ear, -1.0, line - y)


def paint_albedo(topo: Topology, sp: SkinParams, salient_uv: np.ndarray, T: int) -> np.ndarray:
    """The albedo of a person. -> (T, T, 3) float32 RGB in [0, 1]."""
    rng = np.random.default_rng(sp.seed + 7919)
    P, cav, s = texel_positions(topo, T)
    x, y, z = P[..., 0], P[..., 1], P[..., 2]
    ax = np.abs(x)
    front = smoothstep(-0.3, -0.55, z)
    skin = np.asarray(sp.skin, np.float64)
    lum = 1.0 + sp.blotch * (0.6 * _noise(rng, T, 6) + 0.4 * _noise(rng, T, 24))
    pores = cv2.GaussianBlur(rng.standard_normal((T, T)), (0, 0), 0.7 * T / 512)
    lum = lum + sp.pores * pores / max(pores.std(), 1e-6)
    col = skin[None, None] * lum[..., None]
    red = np.array([1.0, 0.55, 0.5])
    blush = sp.blush * (0.10 * gauss2(ax, y, 0.5, 0.12, 0.2, 0.15) + 0.12 * gauss2(x, y, 0.0, 0.02, 0.09, 0.08))
    blush = blush + 0.08 * (ax > 0.85) * (np.abs(y + 0.28) < 0.36)
    col = col * (1 - blush[..., None] * (1 - red))
    # hair on the scalp and brows
    hair = np.asarray(sp.hair, np.float64)
    strands = 1.0 + 0.25 * _noise(rng, T, 180)
    scalp = smoothstep(-0.02, 0.06, _hairline(x, y, z)) * sp.hair_cover
    col = col * (1 - scalp[..., None]) + (hair * strands[..., None]) * scalp[..., None]
    for side in (-1, 1):
        d, pos = fp.brow_distance(x.ravel(), y.ravel(), side)
        d, pos = d.reshape(x.shape), pos.reshape(x.shape)
        thick = 0.042 * (1.0 - 0.45 * pos)
        b = (1.0 - smoothstep(0.6, 1.0, d / thick)) * front * (0.75 + 0.25 * _noise(rng, T, 200).clip(-1, 1))
        col = col * (1 - 0.85 * b[..., None]) + 0.85 * b[..., None] * hair * 0.8
    # lips and the mouth line
    yu, yl = fp.lip_outline_y(x.ravel())
    yu, yl = yu.reshape(x.shape), yl.reshape(x.shape)
    lip = smoothstep(-0.008, 0.006, y - yu) * smoothstep(-0.008, 0.006, yl - y) * (1 - smoothstep(0.33, 0.37, ax))
    lip = lip * front
    lip_col = col * (1.0 - sp.lip_red * np.array([0.08, 0.38, 0.34])) * 0.92
    col = col * (1 - lip[..., None]) + lip_col * lip[..., None]
    dm = y - fp.mouth_line_y(np.clip(x, -fp.MOUTH_HALF, fp.MOUTH_HALF))
    col *= (1 - 0.45 * np.exp(-0.5 * (dm / 0.008) ** 2) * (ax < fp.MOUTH_HALF + 0.02) * front)[..., None]
    # nostrils, lids, lashes, eyes
    nostril = gauss2(ax, y, 0.075, 0.168, 0.028, 0.016) * front
    col *= (1 - 0.75 * nostril)[..., None]
    for side in (-1, 1):
        ec = fp.eye_coords(x.ravel(), y.ravel(), side)
        ec = {k: v.reshape(x.shape) for k, v in ec.items()}
        near = front * (np.hypot(x - side * fp.EYE_CX, y - fp.EYE_CY) < 0.35)
        lid = (smoothstep(0.0, 0.01, ec["sd"]) - smoothstep(0.05, 0.11, ec["sd"])) * near
        col *= (1 - 0.12 * lid * (y < fp.EYE_CY + 0.02))[..., None] * np.array([1.0, 0.97, 0.97])
        lash = (1 - smoothstep(0.0, 0.014, ec["yu"] - y)) * (y < ec["yu"] + 0.004) * (np.abs(ec["t"]) < 1.05)
        col = col * (1 - 0.8 * (lash * near)[..., None]) + 0.8 * (lash * near)[..., None] * hair * 0.5
        eye = (ec["sd"] < 0) * near
        r = np.hypot(x - side * fp.EYE_CX, y - (fp.EYE_CY - 0.012))  # the upper lid covers the iris top
        lid_shadow = 1 - 0.3 * np.exp(-np.clip(y - ec["yu"], 0, None) / 0.025)
        sclera = np.array([0.86, 0.83, 0.80]) * (1 - 0.15 * smoothstep(0.6, 1.0, np.abs(ec["t"])))[..., None]
        iris = np.asarray(sp.iris) * (0.8 + 0.4 * smoothstep(0.07, 0.035, r))[..., None]
        e = np.where((r < 0.07)[..., None], iris, sclera)
        e = np.where((r < 0.03)[..., None], 0.03, e)
        e *= (1 - 0.35 * smoothstep(0.058, 0.07, r) * (r < 0.073))[..., None] * lid_shadow[..., None]
        col = np.where(eye[..., None] > 0, e, col)
    # mouth cavity with teeth
    teeth = ((s > -0.92) & (s < -0.45)) | ((s > 0.5) & (s < 0.9))
    cav_col = np.where(teeth[..., None], np.array([0.82, 0.78, 0.68]), np.array([0.28, 0.07, 0.08]))
    col = np.where(cav[..., None], cav_col, col)
    # moles
    fid, bary = topo.locate_uv(salient_uv)
    M = (topo.vertices[topo.faces[fid]] * bary[..., None]).sum(1)
    for k, m in enumerate(M):
        rad = MOLE_RADIUS * (0.85 + 0.3 * ((k * 0.618 + sp.seed * 0.37) % 1.0))
        dist = np.linalg.norm(P - m, axis=-1)
        a = 1.0 - smoothstep(0.7 * rad, rad, dist)
        col = col * (1 - a[..., None]) + a[..., None] * col * np.array([0.33, 0.27, 0.25])
    return np.clip(col, 0.0, 1.0).astype(np.float32)
