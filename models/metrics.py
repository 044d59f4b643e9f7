"""Evaluation metrics (paper sec. 4): temporal stability (Eq. 10) and reprojection error."""

from __future__ import annotations

import numpy as np
import torch

ArrayLike = np.ndarray | torch.Tensor

# Eq. 10 on rigid-free geometry is 0/0 for vertices that do not move (a closed eye, a still
# forehead); like the 2D variant (+0.1 px), add a small offset to numerator and denominator:
# 1e-3 model units (the face is ~2 units wide, so about 0.07 mm on a real face).
G_TEMPORAL_OFFSET = 1e-3
# Eq. 10 on 2D landmark tracks in frame pixels (issue 5's measure): +0.1 px, so that an
# integer-pixel detector's still points stay finite
LANDMARK_2D_OFFSET = 0.1


def _as_tensor(x: ArrayLike) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x), dtype=torch.float64)


def temporal_stability_per_frame(G: ArrayLike, eps: float = 1e-8, offset: float = 0.0) -> torch.Tensor:
    """Eq. 10 for each inner frame t = 1..F-2, averaged over vertices.

    ``s_t = mean_i (|G_{t+1,i} - G_{t,i}| + |G_{t,i} - G_{t-1,i}| + offset)
                   / (|G_{t+1,i} - G_{t-1,i}| + offset + eps)``

    ``offset`` (e.g. 0.1 px) is added to numerator and denominator for integer-pixel
    2D tracks so that still points stay finite; the paper uses 0.

    Shape:
        G: (F, N, D) with D = 3 (vertices) or 2 (image tracks) -> (F - 2,)
    """
    G = _as_tensor(G)
    if G.ndim != 3 or G.shape[0] < 3:
        raise ValueError(f"temporal_stability needs (F>=3, N, D) points, got {tuple(G.shape)}")
    fwd = (G[2:] - G[1:-1]).norm(dim=-1)  # (F-2, N)
    bwd = (G[1:-1] - G[:-2]).norm(dim=-1)
    span = (G[2:] - G[:-2]).norm(dim=-1)
    return ((fwd + bwd + offset) / (span + offset + eps)).mean(-1)


def temporal_stability(G: ArrayLike, eps: float = 1e-8, offset: float = 0.0) -> float:
    """Temporal stability (Eq. 10), mean over vertices and frames 1..F-2; 1.0 is perfect
    (constant-velocity motion), jitter gives > 1.

    Shape:
        G: (F, V, 3) -> float
    """
    return float(temporal_stability_per_frame(G, eps, offset).mean())


def reprojection_error(pred: ArrayLike, gt: ArrayLike, visible: ArrayLike | None = None) -> float:
    """Mean pixel distance between predicted and ground-truth 2D points.

    Shape:
        pred, gt: (..., N, 2); visible: (..., N) bool or None -> float
    """
    d = (_as_tensor(pred) - _as_tensor(gt)).norm(dim=-1)
    if visible is not None:
        m = _as_tensor(visible).bool()
        if not bool(m.any()):
            return float("nan")
        return float(d[m].mean())
    return float(d.mean())
