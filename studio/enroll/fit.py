"""Fit a studio person to a monocular clip (issue 17, item 2).

The person is the template head plus the studio's identity knobs plus a smooth corrective:

    G_t = Gbar + alpha . K + D(d) + w_t . B          (V, 3), rigid-free (as the DAM's G)
    D(d)(x) = sum_k phi_k(x) d_k / (sum_k phi_k(x) + tau),  phi_k(x) = exp(-|x - c_k|^2 / 2 sigma^2)

with ``Gbar`` the template, ``K`` (10, V, 3) the identity basis, ``d`` (68, 3) displacements
of control points ``c_k`` (the template's 68 landmark vertices; ``tau`` fades the field out
away from the face), ``B`` (E, V, 3) the expression basis with per-frame weights
``w_t = sigmoid(l_t)`` in [0, 1], and per-frame pose ``H_t = (f, rx, ry, rz, tx, ty)`` (weak
perspective, :mod:`models.camera`, Eq. 3).

Energy (all residuals divided by each frame's outer-eye-corner distance, so it is in units
of the face's size and the same for every camera):

    E = sum_t sum_k a_k |K2D_tk - Pi H_t K_k(G_t)|^2 / (68 N)           landmarks (Eq. 9, FLRC)
      + l_alpha |alpha|^2 + l_d (|d_xy|^2 + 4 |d_z|^2)                  shape priors
      + l_w mean(w) + l_rest sum_e q20_t(w_te)                          expression priors
      + l_tex E_CFTC                                                    texture agreement (fit_texture)

``a_k`` down-weights the jaw contour (a silhouette, not a fixed surface point). The texture
term is the paper's CFTC idea (Eq. 8) used for enrollment: with the right shape and poses,
the textures unwrapped from different frames agree; see :mod:`studio.enroll.fit_texture`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from models.camera import project
from models.topology import Topology

JAW = slice(0, 17)
JAW_WEIGHT = 0.3  # the contour points slide along the silhouette as the head turns


@dataclass(frozen=True)
class FitConfig:
    rigid_steps: int = 150
    steps: int = 400
    lr: float = 0.03
    l_alpha: float = 1e-6  # weak: many frames pin the knobs; stronger priors kept alpha near 0 (synthetic test)
    l_d: float = 2e-3  # per (model unit)^2 of control displacement
    l_w: float = 2e-3
    l_rest: float = 0.05  # per expression: its 20 % quantile over frames (a clip has neutral moments)
    sigma: float = 0.15  # corrective RBF width, model units (outer-eye-corner distance = 1.24; the
    # landmarks are 0.1-0.15 apart: a wider field cannot narrow a mouth without an expression)
    tau: float = 0.3
    max_d: float = 0.25  # |d| cap, model units


@dataclass
class FitResult:
    """alpha (K,), d (68, 3), H (N, 6) frame pixels, w (N, E) in [0, 1], residual (N,) NME per
    frame (mean landmark distance / outer-eye-corner distance), history of the energy."""

    alpha: np.ndarray
    d: np.ndarray
    H: np.ndarray
    w: np.ndarray
    residual: np.ndarray
    history: list = field(default_factory=list)

    def to_npz(self) -> dict:
        return {"alpha": self.alpha, "d": self.d, "H": self.H, "w": self.w, "residual": self.residual}

    @classmethod
    def from_npz(cls, z) -> FitResult:
        return cls(*(np.asarray(z[k]) for k in ("alpha", "d", "H", "w", "residual")))


class PersonModel(torch.nn.Module):
    """The differentiable person: parameters alpha (K,), d (68, 3) and the fixed bases."""

    def __init__(self, topo: Topology, cfg: FitConfig = FitConfig()) -> None:
        super().__init__()
        ex = topo.extras
        self.cfg = cfg
        self.register_buffer("Gbar", torch.from_numpy(topo.vertices).float())  # (V, 3)
        self.register_buffer("K", torch.from_numpy(ex["identity_basis"]).float())  # (K, V, 3)
        self.register_buffer("B", torch.from_numpy(ex["blendshapes"]).float())  # (E, V, 3)
        self.lm = torch.from_numpy(topo.landmark_ids.astype(np.int64))
        c = self.Gbar[self.lm]  # (68, 3) control points
        d2 = ((self.Gbar[:, None] - c[None]) ** 2).sum(-1)  # (V, 68)
        phi = torch.exp(-d2 / (2 * cfg.sigma**2))
        self.register_buffer("Phi", phi / (phi.sum(1, keepdim=True) + cfg.tau))  # (V, 68)
        self.alpha = torch.nn.Parameter(torch.zeros(self.K.shape[0]))
        self.d = torch.nn.Parameter(torch.zeros(68, 3))

    def neutral(self, idx: torch.Tensor | None = None) -> torch.Tensor:
        """Rest geometry (V, 3), or its rows ``idx`` (M, 3)."""
        d = self.d.clamp(-self.cfg.max_d, self.cfg.max_d)
        if idx is None:
            return self.Gbar + torch.tensordot(self.alpha, self.K, 1) + self.Phi @ d
        return self.Gbar[idx] + torch.tensordot(self.alpha, self.K[:, idx], 1) + self.Phi[idx] @ d

    def geometry(self, w: torch.Tensor, idx: torch.Tensor | None = None) -> torch.Tensor:
        """(N, E) weights -> (N, V, 3) or (N, M, 3) for rows idx."""
        B = self.B if idx is None else self.B[:, idx]
        return self.neutral(idx)[None] + torch.einsum("ne,evc->nvc", w, B)

    def prior(self) -> torch.Tensor:
        c = self.cfg
        return c.l_alpha * (self.alpha**2).sum() + c.l_d * ((self.d[:, :2] ** 2).sum() + 4 * (self.d[:, 2] ** 2).sum())


class FramePoses(torch.nn.Module):
    """Per-frame pose and expression, scaled so that every parameter moves by ~1 per unit step:
    H = (f0 exp(s), r, t0 + f0 u), w = sigmoid(l)."""

    def __init__(self, H0: np.ndarray, n_expr: int) -> None:
        super().__init__()
        H0 = torch.as_tensor(H0, dtype=torch.float32)
        self.register_buffer("f0", H0[:, :1].clone())
        self.register_buffer("t0", H0[:, 4:6].clone())
        self.s = torch.nn.Parameter(torch.zeros(len(H0), 1))
        self.r = torch.nn.Parameter(H0[:, 1:4].clone())
        self.u = torch.nn.Parameter(torch.zeros(len(H0), 2))
        self.l = torch.nn.Parameter(torch.full((len(H0), n_expr), -4.0))

    def H(self) -> torch.Tensor:
        return torch.cat([self.f0 * self.s.exp(), self.r, self.t0 + self.f0 * self.u], 1)

    def w(self) -> torch.Tensor:
        return torch.sigmoid(self.l)


def initial_poses(K2D: np.ndarray, topo: Topology) -> np.ndarray:
    """Scale and shift from the eye corners and the landmark centroid; no rotation.
    K2D (N, 68, 2) -> H0 (N, 6)."""
    L = topo.vertices[topo.landmark_ids]
    iod_model = np.linalg.norm(L[36, :2] - L[45, :2])
    iod = np.linalg.norm(K2D[:, 36] - K2D[:, 45], axis=1)
    f = iod / iod_model
    t = K2D[:, 17:].mean(1) - f[:, None] * L[17:, :2].mean(0)
    return np.concatenate([f[:, None], np.zeros((len(f), 3)), t], 1).astype(np.float32)


def expression_prior(w: torch.Tensor, cfg: FitConfig) -> torch.Tensor:
    """Sparse weights, and no expression held through the whole clip: what every frame shares
    is the person's shape (identity), not an expression. (N, E) -> ()"""
    rest = torch.quantile(w, 0.2, dim=0).sum() if len(w) >= 5 else w.new_zeros(())
    return cfg.l_w * w.mean() + cfg.l_rest * rest


def landmark_weights() -> torch.Tensor:
    a = torch.ones(68)
    a[JAW] = JAW_WEIGHT
    return a


def interocular(K2D: torch.Tensor) -> torch.Tensor:
    """Outer-eye-corner distance of each frame's landmarks, at least 1 px. (N, 68, 2) -> (N,)"""
    return (K2D[:, 36] - K2D[:, 45]).norm(dim=-1).clamp(min=1.0)


def landmark_energy(person: PersonModel, poses: FramePoses, K2D: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean weighted squared landmark residual (units of the interocular distance squared) and
    per-frame NME. K2D (N, 68, 2) -> (), (N,)"""
    H, w = poses.H(), poses.w()
    iod = interocular(K2D)
    P = project(person.geometry(w, person.lm), H)  # (N, 68, 2)
    r = (P - K2D) / iod[:, None, None]
    e = (landmark_weights() * (r**2).sum(-1)).mean()
    nme = r.norm(dim=-1).mean(1)
    return e, nme


def fit_landmarks(K2D: np.ndarray, topo: Topology, cfg: FitConfig = FitConfig(),
                  progress=None, cancel=None) -> tuple[FitResult, PersonModel, FramePoses]:
    """Multi-frame fit of identity (alpha, d), pose H_t and expression w_t to 68 landmarks.

    K2D (N, 68, 2) frame pixels -> FitResult (+ the torch modules, for the texture stage).
    ``progress(done, total)`` and ``cancel() -> bool`` are polled every 10 steps."""
    K = torch.from_numpy(np.asarray(K2D, np.float32))
    person = PersonModel(topo, cfg)
    poses = FramePoses(initial_poses(K2D, topo), person.B.shape[0])
    hist = []
    total = cfg.rigid_steps + cfg.steps
    everything = list(person.parameters()) + list(poses.parameters())
    stages = ((cfg.rigid_steps, [poses.s, poses.r, poses.u]), (cfg.steps, everything))
    done = 0
    for steps, params in stages:
        opt = torch.optim.Adam(params, lr=cfg.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1), eta_min=cfg.lr * 0.05)
        for _ in range(steps):
            e, _ = landmark_energy(person, poses, K)
            loss = e + person.prior() + expression_prior(poses.w(), cfg)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            done += 1
            hist.append(float(loss.detach()))
            if done % 10 == 0:
                if progress:
                    progress(done, total)
                if cancel and cancel():
                    raise KeyboardInterrupt("cancelled")
    return result_of(person, poses, K2D, hist), person, poses


@torch.no_grad()
def result_of(person: PersonModel, poses: FramePoses, K2D: np.ndarray, hist: list) -> FitResult:
    """The fit's numbers (copies). K2D (N, 68, 2) the landmarks the poses were fitted to."""
    _, nme = landmark_energy(person, poses, torch.from_numpy(np.asarray(K2D, np.float32)))
    return FitResult(person.alpha.detach().numpy().copy(),
                     person.d.detach().clamp(-person.cfg.max_d, person.cfg.max_d).numpy().copy(),
                     poses.H().numpy().copy(), poses.w().numpy().copy(), nme.numpy().copy(), hist)


def neutral_geometry(topo: Topology, fit: FitResult, cfg: FitConfig = FitConfig()) -> np.ndarray:
    """The fitted person's rest geometry. -> (V, 3) float32"""
    person = PersonModel(topo, cfg)
    with torch.no_grad():
        person.alpha.copy_(torch.from_numpy(fit.alpha))
        person.d.copy_(torch.from_numpy(fit.d))
        return person.neutral().numpy().astype(np.float32)


__all__ = ["FitConfig", "FitResult", "PersonModel", "FramePoses", "fit_landmarks", "initial_poses",
           "landmark_energy", "neutral_geometry"]
