"""Training and adaptation losses as pure functions (paper Eq. 1-9).

Supervised I2ZNet training (sec. 3.1): ``L = l_z L_z + l_H L_H + l_view L_view`` (Eq. 1).
Self-supervised domain adaptation (sec. 3.2): ``L_DA = 100 L_CFTC + 100 L_MOTC + 1 L_FLRC`` (Eq. 5).

Texture shapes are ``(B, 3, T, T)``, confidence masks ``(B, T, T)``. Eq. 6 and 8 are
followed literally: the mask multiplies the difference before squaring, the squared
Frobenius norm sums over texels and the 3 channels, and the divisor is the number of
non-zero texels of the thresholded mask. Batched losses are averaged over the batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .camera import project

Tensor = torch.Tensor


def z_loss(z_pred: Tensor, z_gt: Tensor) -> Tensor:
    """Eq. 2: ``sum ||z_I - z_gt||^2`` (sum over the code, mean over the batch).

    Shape: z_pred, z_gt: (B, Z) -> ()
    """
    return ((z_pred - z_gt) ** 2).sum(-1).mean()


def pose_loss(H: Tensor, K3d: Tensor, K_gt: Tensor) -> Tensor:
    """Eq. 3: ``1/K sum_k ||Pi H K_k(G_I) - K_gt^k||^2`` (mean over the batch).

    ``K3d`` are the 3D landmark vertices of the geometry decoded from z_I.

    Shape: H (B, 6), K3d (B, K, 3), K_gt (B, K, 2) -> ()
    """
    return ((project(K3d, H) - K_gt) ** 2).sum(-1).mean()


def view_loss(z_v: Tensor, z_w: Tensor) -> Tensor:
    """Eq. 4: ``sum ||z_I^v - z_I^w||^2`` for two synchronised views (mean over the batch).

    Shape: z_v, z_w: (B, Z) -> ()
    """
    return ((z_v - z_w) ** 2).sum(-1).mean()


def _threshold(W: Tensor, threshold: float) -> Tensor:
    return torch.where(W >= threshold, W, torch.zeros_like(W)) if threshold > 0 else W


def masked_texture_loss(diff: Tensor, W: Tensor) -> Tensor:
    """``||W * diff||_F^2 / nnz(W)`` per sample, mean over the batch (0 when W is empty).

    Shape: diff (B, 3, T, T), W (B, T, T) -> ()
    """
    num = ((W[:, None] * diff) ** 2).flatten(1).sum(-1)  # (B,)
    nnz = (W != 0).flatten(1).sum(-1).to(num.dtype)  # (B,)
    return (num / nnz.clamp(min=1.0)).mean()


def cftc_loss(T_prev: Tensor, T_cur: Tensor, W_prev: Tensor, W_cur: Tensor, threshold: float = 0.0) -> Tensor:
    """Eq. 6, consecutive frame texture consistency:
    ``||(W_t * W_{t-1}) * (T~_t - T~_{t-1})||_F^2 / nnz(W_t * W_{t-1})``; elements of
    ``W_t * W_{t-1}`` below ``threshold`` are set to 0.

    Shape: T_prev, T_cur (B, 3, T, T); W_prev, W_cur (B, T, T) -> ()
    """
    return masked_texture_loss(T_cur - T_prev, _threshold(W_cur * W_prev, threshold))


def motc_loss(T_obs: Tensor, T_corrected: Tensor, W: Tensor, threshold: float = 0.0) -> Tensor:
    """Eq. 8, model-to-observation texture consistency: ``||W * (T~ - C(T))||_F^2 / nnz(W)``.

    Shape: T_obs, T_corrected (B, 3, T, T); W (B, T, T) -> ()
    """
    return masked_texture_loss(T_obs - T_corrected, _threshold(W, threshold))


def flrc_loss(K2d: Tensor, K3d: Tensor, H: Tensor, valid: Tensor | None = None) -> Tensor:
    """Eq. 9, facial landmark reprojection consistency:
    ``1/K sum_k ||K2D^k - Pi H K^k(G)||^2`` (mean over the batch; ``valid`` (B,) drops
    frames where the detector found no face).

    Shape: K2d (B, K, 2), K3d (B, K, 3), H (B, 6) -> ()
    """
    per = ((K2d - project(K3d, H)) ** 2).sum(-1).mean(-1)  # (B,)
    if valid is None:
        return per.mean()
    v = valid.to(per.dtype)
    return (per * v).sum() / v.sum().clamp(min=1.0)


@dataclass(frozen=True)
class DAWeights:
    """Weights of Eq. 5 (paper: 100 / 100 / 1)."""

    cftc: float = 100.0
    motc: float = 100.0
    flrc: float = 1.0


def da_loss(l_cftc: Tensor, l_motc: Tensor, l_flrc: Tensor, weights: DAWeights = DAWeights()) -> Tensor:
    """Eq. 5: ``L_DA = l_CFTC L_CFTC + l_MOTC L_MOTC + l_FLRC L_FLRC``."""
    return weights.cftc * l_cftc + weights.motc * l_motc + weights.flrc * l_flrc


def temporal_loss(G: Tensor, eps: float = 0.3) -> Tensor:
    """L_TEMP (beyond the paper): a robust penalty on the second difference of geometry over
    time, per vertex ``a = ||G_{t+1} - 2 G_t + G_{t-1}||`` and

        L_TEMP = mean 2 eps (sqrt(a^2 + eps^2) - eps)       (Charbonnier)

    ~ a^2 for a << eps (jitter: punished like a squared error) and ~ 2 eps a for a >> eps (a
    real expression change: punished only linearly, so it is not smoothed away). Zero for
    steady motion. On the lite avatars (G in units of the DAM's geometry scale) the predicted
    jitter of still vertices is ~0.1 and real accelerations reach 1-4, hence eps = 0.3; a
    squared penalty (eps -> inf) smoothed real motion too and cost reprojection accuracy
    (measured, docs/results.md).

    Shape: G (n, L, V, 3), n windows of L >= 3 consecutive frames -> ()
    """
    if G.shape[1] < 3:
        raise ValueError(f"temporal_loss needs windows of >= 3 frames, got {G.shape[1]}")
    a2 = (G[:, 2:] - 2 * G[:, 1:-1] + G[:, :-2]).pow(2).sum(-1)  # (n, L - 2, V) squared accelerations
    return (2 * eps * ((a2 + eps * eps).sqrt() - eps)).mean()


def kl_loss(mu: Tensor, logstd: Tensor) -> Tensor:
    """KL(N(mu, std^2) || N(0, 1)) of the DAM's variational encoder, mean over the batch.

    Shape: mu, logstd (B, Z) -> ()
    """
    return 0.5 * (mu**2 + torch.exp(2 * logstd) - 2 * logstd - 1).sum(-1).mean()
