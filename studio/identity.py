"""Identity knobs of the studio head: a small basis of smooth shape deformations.

Each direction is a (V, 3) field at "one standard deviation" of a plausible adult
population; a person is ``template + sum_k alpha_k * basis_k`` with ``alpha ~ N(0, 1)``
clipped to +-2.2 (:class:`studio.head.Person`). All fields are mirror symmetric.
"""

from __future__ import annotations

import numpy as np

from studio import face_plan as fp
from studio.expressions import follow_lips, vertex_normals
from studio.face_plan import gauss2, smoothstep
from studio.mesh import HeadMesh

IDENTITY_NAMES = (
    "face_width", "face_length", "nose_length", "nose_width", "jaw_width", "eye_spacing",
    "lip_fullness", "forehead_height", "cheek_fullness", "brow_ridge",
)


def identity_basis(mesh: HeadMesh) -> np.ndarray:
    """-> (K, V, 3) float32 in the order of IDENTITY_NAMES."""
    P = mesh.vertices.astype(np.float64)
    x, y, z = P.T
    ax = np.abs(x)
    N = vertex_normals(P, mesh.faces)
    front = smoothstep(-0.2, -0.5, z)
    zero = np.zeros_like(x)
    out = {}
    out["face_width"] = np.stack([0.045 * x, zero, zero], -1)
    out["face_length"] = np.stack([zero, 0.05 * smoothstep(-0.2, 1.0, y), zero], -1)
    g = gauss2(x, y, 0.0, 0.03, 0.12, 0.16) * front
    out["nose_length"] = g[:, None] * [0.0, 0.015, -0.06]
    g = gauss2(x, y, 0.0, 0.1, 0.2, 0.12) * front
    out["nose_width"] = np.stack([0.3 * x * g, zero, zero], -1)
    g = smoothstep(0.05, 0.7, y) * (1.0 - smoothstep(1.15, 1.6, y))
    out["jaw_width"] = np.stack([0.08 * x * g, zero, zero], -1)
    g = sum(gauss2(x, y, s * fp.EYE_CX, fp.EYE_CY, 0.2, 0.16) for s in (-1, 1)) * front
    out["eye_spacing"] = np.stack([0.03 * np.sign(x) * g, zero, zero], -1)
    d = y - fp.mouth_line_y(np.clip(x, -fp.MOUTH_HALF, fp.MOUTH_HALF))
    lips = np.exp(-0.5 * (x / 0.3) ** 4) * np.exp(-0.5 * (d / 0.09) ** 2) * front
    out["lip_fullness"] = lips[:, None] * np.stack([zero, 0.2 * d, np.full_like(x, -0.025)], -1)
    out["forehead_height"] = np.stack([zero, -0.07 * smoothstep(-0.65, -1.4, y), zero], -1)
    g = gauss2(ax, y, 0.55, 0.3, 0.22, 0.25) * front
    out["cheek_fullness"] = 0.05 * g[:, None] * N
    g = np.exp(-0.5 * ((y + 0.56) / 0.09) ** 2) * np.exp(-0.5 * (x / 0.55) ** 4) * front
    out["brow_ridge"] = g[:, None] * [0.0, 0.0, -0.03]
    B = np.stack([out[n] for n in IDENTITY_NAMES])
    return follow_lips(B, mesh).astype(np.float32)
