"""NumPy references of the camera maths the shaders do (tests and CPU callers).

They mirror :mod:`models.camera` exactly (``R = Rz @ Ry @ Rx``; ``transform(X, H) =
f R X + (tx, ty, 0)``; pixel centre of (col c, row r) at (c, r), y down) without torch.
"""

from __future__ import annotations

import numpy as np


def as_numpy(x: object, dtype: type | None = None) -> np.ndarray:
    """A torch tensor (any device, with grad) or array-like -> numpy array."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()  # type: ignore[union-attr]
    a = np.asarray(x)
    return a.astype(dtype, copy=False) if dtype is not None else a


def rotation_matrix_np(r: np.ndarray) -> np.ndarray:
    """Euler angles -> rotation, ``R = Rz @ Ry @ Rx``. Shape: (3,) -> (3, 3) float64."""
    rx, ry, rz = np.asarray(r, np.float64)
    cx, sx, cy, sy, cz, sz = np.cos(rx), np.sin(rx), np.cos(ry), np.sin(ry), np.cos(rz), np.sin(rz)
    Rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    Ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    Rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return Rz @ Ry @ Rx


def transform_np(X: np.ndarray, H: np.ndarray) -> np.ndarray:
    """``f R X + (tx, ty, 0)``: [..., :2] crop pixels, [..., 2] depth in pixel units.

    Shape:
        X: (N, 3), H: (6,) -> (N, 3) float64
    """
    H = as_numpy(H, np.float64).reshape(6)
    R = rotation_matrix_np(H[1:4])
    return H[0] * (as_numpy(X, np.float64) @ R.T) + np.array([H[4], H[5], 0.0])


def project_np(X: np.ndarray, H: np.ndarray) -> np.ndarray:
    """Weak-perspective projection into crop pixels. Shape: (N, 3), (6,) -> (N, 2)."""
    return transform_np(X, H)[:, :2]


def view_direction_np(H: np.ndarray) -> np.ndarray:
    """Unit vector head -> camera in the head frame, ``R^T (0, 0, -1)``. Shape: (6,) -> (3,)."""
    return -rotation_matrix_np(as_numpy(H, np.float64).reshape(6)[1:4])[2]


def pixel_to_ndc(p: np.ndarray, size: tuple[int, int], flip_y: bool = False) -> np.ndarray:
    """Pixel coordinates -> OpenGL NDC for an off-screen target read back row 0 first.

    ``x = 2 (px + .5) / w - 1``; ``y = 2 (py + .5) / h - 1`` (the framebuffer's first row in
    memory is image row 0), or ``y = 1 - 2 (py + .5) / h`` with ``flip_y`` (on-screen).

    Shape:
        p: (..., 2) -> (..., 2)
    """
    w, h = size
    p = np.asarray(p, np.float64)
    x = 2.0 * (p[..., 0] + 0.5) / w - 1.0
    y = 2.0 * (p[..., 1] + 0.5) / h - 1.0
    return np.stack([x, -y if flip_y else y], -1)


def face_normals_np(G: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unnormalised face normals ``(v1 - v0) x (v2 - v0)`` (length = 2 * area).

    With the template winding they point out of the face (towards the camera, -z, for a
    frontal face in the y-down, z-away head frame).

    Shape:
        G: (V, 3), faces: (F, 3) -> (F, 3)
    """
    tri = np.asarray(G, np.float64)[faces]
    return np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])


def weld_ids(vertices: np.ndarray, decimals: int = 6) -> np.ndarray:
    """Id per vertex shared by vertices at the same template position (UV-seam duplicates).

    Shape:
        vertices: (V, 3) -> (V,) int64
    """
    return np.unique(np.round(np.asarray(vertices, np.float64), decimals), axis=0, return_inverse=True)[1].ravel()


def vertex_normals_np(G: np.ndarray, faces: np.ndarray, weld: np.ndarray | None = None) -> np.ndarray:
    """Area-weighted unit vertex normals; with ``weld`` (see :func:`weld_ids`) duplicated seam
    vertices share one normal so lighting has no seams.

    Shape:
        G: (V, 3), faces: (F, 3), weld: (V,) -> (V, 3) float32
    """
    fn = face_normals_np(G, faces)
    idx = faces.ravel() if weld is None else weld[faces.ravel()]
    M = len(G) if weld is None else int(weld.max()) + 1
    n = np.stack([np.bincount(idx, np.repeat(fn[:, k], 3), minlength=M) for k in range(3)], -1)
    n = n if weld is None else n[weld]
    return (n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def texture_hwc(texture: object) -> np.ndarray:
    """A texture as a C-contiguous (T, T, 3) array: uint8 stays uint8, anything else float32.

    Accepts (3, T, T) channel-first (the DAM output, torch or numpy) or (T, T, 3).

    Shape:
        texture: (3, T, T) | (T, T, 3) -> (T, T, 3)
    """
    a = as_numpy(texture)
    if a.ndim != 3 or 3 not in (a.shape[0], a.shape[2]):
        raise ValueError(f"texture must be (3, T, T) or (T, T, 3), got {a.shape}")
    if a.shape[2] != 3:
        a = a.transpose(1, 2, 0)
    if a.dtype != np.uint8:
        a = a.astype(np.float32, copy=False)
    return np.ascontiguousarray(a)
