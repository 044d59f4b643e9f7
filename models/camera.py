"""Head pose H and the weak-perspective camera (paper Eq. 3, 7, 9; supp. A.1).

Conventions (fixed; tested in ``tests/models/test_camera.py``):

* Model (head) space: x to the subject's image-right, y down, z away from the camera.
* ``H = (f, rx, ry, rz, tx, ty)``: focal scale ``f`` (crop pixels per model unit),
  Euler angles in radians, 2D translation in crop pixels.
* ``R = Rz(rz) @ Ry(ry) @ Rx(rx)``.
* ``project(X, H) = f * (R X)[..., :2] + (tx, ty)``, i.e. ``Pi = [[1,0,0],[0,1,0]]``.
* Pixel coordinates put the centre of pixel (col c, row r) at (c, r) (OpenCV / dlib style).
* The camera looks along +z; the unit vector from the head towards the camera, in the
  head frame, is ``R^T (0, 0, -1)`` (the DAM's view input).
"""

from __future__ import annotations

import numpy as np
import torch

Tensor = torch.Tensor


def rotation_matrix(r: Tensor) -> Tensor:
    """Euler angles to rotation matrices, ``R = Rz @ Ry @ Rx``.

    Shape:
        r: (..., 3) = (rx, ry, rz) in radians -> (..., 3, 3)
    """
    rx, ry, rz = r.unbind(-1)
    cx, sx = torch.cos(rx), torch.sin(rx)
    cy, sy = torch.cos(ry), torch.sin(ry)
    cz, sz = torch.cos(rz), torch.sin(rz)
    one, zero = torch.ones_like(rx), torch.zeros_like(rx)
    Rx = torch.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx], -1)
    Ry = torch.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1)
    Rz = torch.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one], -1)
    shape = r.shape[:-1] + (3, 3)
    return Rz.reshape(shape) @ Ry.reshape(shape) @ Rx.reshape(shape)


def rotation_matrix_np(r) -> np.ndarray:
    """:func:`rotation_matrix` in numpy for one pose, ``R = Rz @ Ry @ Rx`` (small per-frame
    helpers, where a torch call costs more than the arithmetic). (3,) -> (3, 3) float64"""
    rx, ry, rz = (float(v) for v in r)
    cx, sx, cy, sy, cz, sz = np.cos(rx), np.sin(rx), np.cos(ry), np.sin(ry), np.cos(rz), np.sin(rz)
    Rx = np.array([[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]])
    Ry = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
    Rz = np.array([[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]])
    return Rz @ Ry @ Rx


def transform(X: Tensor, H: Tensor) -> Tensor:
    """Rigidly place model-space points in the camera frame, scaled by f, translated by t.

    Returns ``(f * R X + (tx, ty, 0))`` so that ``[..., :2]`` is the projection and
    ``[..., 2]`` a depth (larger = further away) in pixel units.

    Shape:
        X: (..., N, 3), H: (..., 6) -> (..., N, 3)
    """
    f = H[..., 0:1].unsqueeze(-1)  # (..., 1, 1)
    R = rotation_matrix(H[..., 1:4])  # (..., 3, 3)
    Y = f * (X @ R.transpose(-1, -2))  # (..., N, 3)
    t = torch.cat([H[..., 4:6], torch.zeros_like(H[..., :1])], -1).unsqueeze(-2)  # (..., 1, 3)
    return Y + t


def project(X: Tensor, H: Tensor) -> Tensor:
    """Weak-perspective projection ``Pi H X`` into crop pixels (Eq. 3, 7, 9).

    Shape:
        X: (..., N, 3), H: (..., 6) -> (..., N, 2)
    """
    return transform(X, H)[..., :2]


def rotate_normals(n: Tensor, H: Tensor) -> Tensor:
    """Rotate model-space directions into the camera frame (no scale, no shift).

    Shape:
        n: (..., N, 3), H: (..., 6) -> (..., N, 3)
    """
    R = rotation_matrix(H[..., 1:4])
    return n @ R.transpose(-1, -2)


def view_direction(H: Tensor) -> Tensor:
    """Unit vector from the head towards the camera, in the head frame: ``R^T (0,0,-1)``.

    This is the DAM decoder's view input (a frontal view gives ``(0, 0, -1)``).

    Shape:
        H: (..., 6) -> (..., 3)
    """
    R = rotation_matrix(H[..., 1:4])  # (..., 3, 3)
    return -R[..., 2, :]  # row 2 of R == column 2 of R^T


def crop_to_frame(H: Tensor, box: Tensor, crop_size: int) -> Tensor:
    """Convert a pose in crop pixels to full-frame pixels.

    The crop is the square ``box = (x0, y0, side)`` of the frame resized to ``crop_size``;
    a frame point p maps to ``(p - (x0, y0)) * s`` with ``s = crop_size / side``.

    Shape:
        H: (..., 6), box: (..., 3) -> (..., 6)
    """
    s = crop_size / box[..., 2:3]  # (..., 1)
    f = H[..., 0:1] / s
    t = H[..., 4:6] / s + box[..., 0:2]
    return torch.cat([f, H[..., 1:4], t], -1)


def frame_to_crop(H: Tensor, box: Tensor, crop_size: int) -> Tensor:
    """Inverse of :func:`crop_to_frame`.

    Shape:
        H: (..., 6), box: (..., 3) -> (..., 6)
    """
    s = crop_size / box[..., 2:3]
    f = H[..., 0:1] * s
    t = (H[..., 4:6] - box[..., 0:2]) * s
    return torch.cat([f, H[..., 1:4], t], -1)


def euler_from_matrix(R: Tensor) -> Tensor:
    """Inverse of :func:`rotation_matrix` (``R = Rz @ Ry @ Rx``), valid for |ry| < 90 deg.

    Shape:
        R: (..., 3, 3) -> (..., 3) = (rx, ry, rz)
    """
    ry = -torch.asin(R[..., 2, 0].clamp(-1.0, 1.0))
    rx = torch.atan2(R[..., 2, 1], R[..., 2, 2])
    rz = torch.atan2(R[..., 1, 0], R[..., 0, 0])
    return torch.stack([rx, ry, rz], -1)
