"""Refine the enrollment fit with multi-frame texture agreement (issue 17, item 2).

The paper's CFTC (Eq. 8) says consecutive frames must unwrap to the same texture; used for
enrollment it says more: with the right shape and poses, the textures unwrapped from *all*
frames agree. After the landmark fit (:mod:`studio.enroll.fit`) a few frames spread over the
head turns are unwrapped differentiably (Eq. 7) and the energy gains

    E_tex = sum_t sum_ij W_t W_bar (T~_t - T_bar)^2 / sum W_t W_bar,   T_bar = W-weighted mean

(W: Eq. 6 confidence with visibility, held fixed per step), which moves the identity knobs,
the corrective, the poses and the expressions of those frames. The landmark energy on every
frame keeps them anchored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from models.texels import TexelMap, confidence, observed_texture

from .fit import FitConfig, FramePoses, PersonModel, expression_prior, landmark_energy


@dataclass(frozen=True)
class TextureFitConfig:
    frames: int = 12
    T: int = 128
    steps: int = 40
    lr: float = 0.005
    l_tex: float = 0.1
    w_min: float = 0.3


def spread_frames(H: np.ndarray, n: int) -> np.ndarray:
    """n frames spread over the yaw range (sorted by yaw, evenly picked). H (N, 6) -> (n,) rows."""
    order = np.argsort(H[:, 2])
    return np.unique(order[np.linspace(0, len(order) - 1, min(n, len(order))).round().astype(int)])


def texture_energy(T_obs: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """E_tex of K unwrapped textures. T_obs (K, 3, T, T), W (K, T, T) -> ()"""
    mean = (W[:, None] * T_obs).sum(0) / W.sum(0).clamp(min=1e-6)[None]
    Wbar = (W.sum(0) > 0).to(W.dtype) * W.mean(0)
    ww = W * Wbar[None]
    return (ww[:, None] * (T_obs - mean[None]) ** 2).sum() / ww.sum().clamp(min=1e-6) / 3.0


def refine_with_texture(frames_rgb: np.ndarray, K2D: np.ndarray, person: PersonModel, poses: FramePoses,
                        topo, cfg: TextureFitConfig = TextureFitConfig(), fit_cfg: FitConfig = FitConfig(),
                        progress=None, cancel=None) -> dict:
    """Refine ``person`` and ``poses`` in place. frames_rgb (N, h, w, 3) uint8 RGB of the fitted
    frames (same order as K2D (N, 68, 2)). Returns the energies before and after."""
    tm = TexelMap(topo, cfg.T)
    rows = torch.from_numpy(spread_frames(poses.H().detach().numpy(), cfg.frames))
    imgs = torch.from_numpy(np.ascontiguousarray(frames_rgb[rows.numpy()])).permute(0, 3, 1, 2).float() / 255.0
    K = torch.from_numpy(np.asarray(K2D, np.float32))
    params = list(person.parameters()) + list(poses.parameters())
    opt = torch.optim.Adam(params, lr=cfg.lr)
    hist = {"tex": [], "landmarks": []}
    for step in range(cfg.steps):
        H = poses.H()[rows]
        G = person.geometry(poses.w()[rows])
        T_obs, inside = observed_texture(imgs, G, H, tm)
        with torch.no_grad():
            W = confidence(G, H, tm, threshold=cfg.w_min, occlusion=True) * inside.to(G.dtype)
        e_tex = texture_energy(T_obs, W)
        e_lmk, _ = landmark_energy(person, poses, K)
        loss = e_lmk + cfg.l_tex * e_tex + person.prior() + expression_prior(poses.w(), fit_cfg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        hist["tex"].append(float(e_tex.detach()))
        hist["landmarks"].append(float(e_lmk.detach()))
        if progress:
            progress(step + 1, cfg.steps)
        if cancel and cancel():
            raise KeyboardInterrupt("cancelled")
    return {"tex_before": hist["tex"][0], "tex_after": hist["tex"][-1],
            "landmarks_before": hist["landmarks"][0], "landmarks_after": hist["landmarks"][-1],
            "frames": rows.tolist()}


__all__ = ["TextureFitConfig", "refine_with_texture", "texture_energy", "spread_frames"]
