"""All 34 ARKit weights from the detector's 68 points by fitting the template's blendshapes (beyond the paper).

The landmark rule (:mod:`models.landmark_expressions`) reads one signal per weight, so it cannot
tell a smile from a jaw drop that also widens the mouth, and it has no signal at all for a funnel,
a cheek puff or a jaw slide. This module fits the studio's 34 ARKit shapes (``studio.arkit_basis``,
stored in the topology asset) to all 68 points at once, with the weak-perspective camera of Eq. 3:

    d  ~  s R[:2] (N0 + delta + sum_k w_k D_k) + t          d (68, 2) detector points, frame px
    w  = argmin_{0 <= w <= 1} | A w - r |^2 + lam |w|^2 + 2 mu^T w
    A  = s R[:2] D (136, K),   r = d - s R[:2] (N0 + delta) - t (136,)

N0 (68, 3) and D_k (68, 3) are the template's landmark vertices and the shapes' landmark offsets.
Per frame: the pose (s, R, t) by an affine least-squares fit of the current shape, made orthonormal;
then w by projected gradient (FISTA) with the box constraint, twice. ``mu_k = NOISE_K sigma |A_k|``
is the noise dead zone (a shape starts only where the points move beyond what their own jitter,
sigma px from second differences over the window, would give it at 2 standard deviations), and the
weights that survive it are re-fitted without it and with a 10x smaller ridge (the dead zone and the
ridge decide *which* shapes, not *how much*: a lip roll moves only a few points by a little).

**The person's face** delta (68, 2) (head x, y, model units) is what differs from the template at rest:
the median over the window of each frame's residual once its expression is removed. An expression the
person never relaxes in the window (its 10th percentile weight) is taken as part of the face, as the
rule takes a percentile for its neutral levels. It is recomputed every ``refresh`` frames. It has no
depth: a person's face learned near frontal and then held turned away reads small false weights
(studio person 12 at rest: the largest weight 0.03 at 20 degrees of yaw, 0.13 at 35, mouthRight).

Measured (docs/expression_fit.md): on held-out studio persons the expression MAE over all 17 studio
channels is about half the rule's; on the real clips the rule follows dlib's eye, mouth and brow signals
better, and big real smiles read as cheek puff and funnel too (the studio's smile shape is smaller than
a real grin). So it is an option (``Tracker(expression_source="fit")``, ``--expressions fit``), not the
default.
"""

from __future__ import annotations

import numpy as np

from .face_signals import second_difference_sigma
from .landmark_expressions import NOISE_K
from .topology import Topology, arkit_template

ITERS = 2  # pose / weights alternations per frame
STEPS = 25  # FISTA steps per weights fit
LAM = 1e-3  # ridge of the first fit, in model units^2 (scaled by s^2 into pixels)
LAM_REFIT = 1e-4  # ridge of the re-fit (conditioning only: it must not shrink shapes that move few points)
FLOOR = 10.0  # percentile of a weight over the window that counts as the person's face
# weight of the 17 face-contour points (iBUG 0-16) in the fit, the others 1: the outline of a smooth
# cheek is the least fixed by the image; tracked dlib against per-frame dlib on the shared real clips,
# the contour's NME is ~2x the eyes' and mouth's (0.015 against 0.0065 / 0.008, docs/expression_layer.md),
# so (1/2)^2
CONTOUR_WEIGHT = 0.25


def has_arkit(topology: Topology) -> bool:
    """Whether the topology's template has the studio's ARKit shapes (the template head does, the test mesh not)."""
    return arkit_template(topology) is not None


def pose_fit(d: np.ndarray, X: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Weak perspective d ~ s R[:2] X + t. d (N, 2) px, X (N, 3) -> s, R (3, 3), t (2,)."""
    dc, Xc = d - d.mean(0), X - X.mean(0)
    M = np.linalg.lstsq(Xc, dc, rcond=None)[0].T  # (2, 3) affine camera
    U, S, Vt = np.linalg.svd(M, full_matrices=False)
    R2 = U @ Vt  # the nearest two orthonormal rows
    R = np.vstack([R2, np.cross(R2[0], R2[1])])
    s = float(S.mean())
    return s, R, d.mean(0) - s * (R2 @ X.mean(0))


def box_ridge(A: np.ndarray, b: np.ndarray, lam: float, w0: np.ndarray, mu: np.ndarray | float = 0.0,
              steps: int = STEPS) -> np.ndarray:
    """min |A w - b|^2 + lam |w|^2 + 2 mu^T w over 0 <= w <= 1 (FISTA from w0). A (M, K), b (M,) -> (K,)"""
    G = A.T @ A + lam * np.eye(A.shape[1])
    L = max(float(np.linalg.eigvalsh(G)[-1]), 1e-12)
    Gi = np.eye(len(G)) - G / L  # a step: w <- clip(Gi y + c / L)
    cL = (A.T @ b - mu) / L
    w, y, tk = w0.copy(), w0.copy(), 1.0
    for _ in range(steps):
        wn = Gi @ y
        wn += cL
        np.maximum(wn, 0.0, out=wn)
        np.minimum(wn, 1.0, out=wn)
        tn = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * tk * tk))
        y = wn + ((tk - 1.0) / tn) * (wn - w)
        w, tk = wn, tn
    return w


class LandmarkFit:
    """Running fit: ``update(points (68, 2), t seconds) -> (K,) float32`` in the order :attr:`names`
    (the topology's ``arkit_names``). Time going backwards starts afresh, as does :meth:`reset`."""

    def __init__(self, topology: Topology, window_s: float = 30.0, capacity: int = 2048, refresh: int = 5,
                 kappa: float = NOISE_K) -> None:
        template = arkit_template(topology)
        if template is None:
            raise ValueError(f"topology {topology.name!r} has no ARKit shapes (arkit_blendshapes)")
        ex, ids = template.extras, template.landmark_ids
        self.names: tuple[str, ...] = tuple(str(n) for n in ex["arkit_names"])
        self.N0 = template.vertices[ids].astype(np.float64)  # (68, 3)
        self.D = np.asarray(ex["arkit_blendshapes"], np.float64)[:, ids]  # (K, 68, 3)
        self.Dxy = self.D[..., :2].reshape(len(self.names), -1)  # (K, 136) head x, y
        rw = np.ones(68)
        rw[:17] = CONTOUR_WEIGHT
        self.sqrt_w = np.repeat(np.sqrt(rw), 2)  # (136,) on the rows of A and r
        self.window_s, self.capacity, self.refresh, self.kappa = float(window_s), int(capacity), int(refresh), kappa
        self.reset()

    def reset(self) -> None:
        K = len(self.names)
        self.delta = np.zeros((68, 2))  # the person's face, head x, y (model units)
        self.w = np.zeros(K)
        self.sigma = 0.0  # the points' jitter, px
        self._q = np.zeros((self.capacity, 136))  # per frame: delta + residual, head x, y
        self._W = np.zeros((self.capacity, K))
        self._d = np.zeros((self.capacity, 136))  # the points, for their jitter
        self._t = np.full(self.capacity, -np.inf)
        self._n, self._t_last = 0, -np.inf

    def fit(self, d: np.ndarray, w0: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
        """One frame's weights for the current face. d (68, 2) px -> w (K,), s, R[:2] (2, 3), residual r (68, 2)"""
        X = self.N0 + np.c_[self.delta, np.zeros(68)]
        w = w0
        for _ in range(ITERS):
            s, R, t = pose_fit(d, X + np.tensordot(w, self.D, 1))
            P = s * R[:2]  # (2, 3)
            r = d - (X @ P.T + t)  # (68, 2)
            A = np.einsum("kjc,dc->jdk", self.D, P).reshape(136, -1)  # (136, K)
            Aw, rw = A * self.sqrt_w[:, None], r.ravel() * self.sqrt_w  # weighted least squares
            w = box_ridge(Aw, rw, LAM * s * s, w, self.kappa * self.sigma * np.linalg.norm(Aw, axis=0))
            on = w > 0
            if on.any():  # the dead zone chose the shapes; their size without it
                w2 = np.zeros_like(w)
                w2[on] = box_ridge(Aw[:, on], rw, LAM_REFIT * s * s, w[on])
                w = w2
        return w, s, P, r

    def update(self, points: np.ndarray, t: float) -> np.ndarray:
        d = np.asarray(points, np.float64)
        if d.shape != (68, 2) or not np.isfinite(d).all() or not np.isfinite(t):
            return np.zeros(len(self.names), np.float32)
        if t < self._t_last:
            self.reset()
        w, s, P, r = self.fit(d, self.w)
        self.w = w
        i = self._n % self.capacity
        # this frame's face: the current one plus the residual, back in head x, y
        self._q[i] = (self.delta + r @ np.linalg.pinv(P[:, :2]).T).ravel()
        self._W[i], self._d[i], self._t[i] = w, d.ravel(), float(t)
        self._n += 1
        self._t_last = float(t)
        if self._n < 30 or self._n % self.refresh == 0:
            self._relevel()
        return w.astype(np.float32)

    def _relevel(self) -> None:
        """The person's face and the points' jitter from the window (module docstring)."""
        keep = self._t >= self._t_last - self.window_s
        order = np.argsort(self._t[keep], kind="stable")
        Dt = self._d[keep][order]
        if len(Dt) >= 8:
            d2 = Dt[2:] - 2 * Dt[1:-1] + Dt[:-2]
            self.sigma = float(second_difference_sigma(d2))
        W = self._W[keep]
        floor = np.percentile(W, FLOOR, axis=0)  # (K,)
        faces = self._q[keep] - (W - floor) @ self.Dxy  # (M, 136): each frame's face, its expression removed
        self.delta = np.median(faces, axis=0).reshape(68, 2)
