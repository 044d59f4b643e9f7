"""Self-supervised domain adaptation (paper sec. 3.2, Eq. 5-9).

:func:`adapt` fine-tunes copies of the encoder E_I and the colour correction C on
consecutive-frame pairs of a recording with

    L_DA = l_CFTC L_CFTC + l_MOTC L_MOTC + l_FLRC L_FLRC        (Eq. 5)

keeping the DAM decoder D frozen. Beyond the paper, training batches are short windows of
consecutive frames (``window``; 2 = the paper's pairs) and a second-order temporal term
L_TEMP (:func:`models.losses.temporal_loss`: a robust, Charbonnier penalty on the
acceleration ``(G_{t+1} - 2 G_t + G_{t-1}) / s_G`` of every vertex, s_G the DAM's geometry
scale) weighted by ``temporal_weight`` (0 = none) penalises frame-to-frame
jitter of the decoded geometry, not steady motion, and large real accelerations only
linearly. Every pair term of Eq. 5 is computed on the consecutive pairs inside the windows.
Also beyond the paper, a jitter augmentation: a landmark detector's per-frame jitter enters
E_I through its keypoint heatmaps and makes z (and so G) shake. During training the heatmaps
that feed z are drawn from the detected points plus Gaussian noise of ``z_keypoint_noise``
times the recording's own jitter (:func:`keypoint_jitter`, measured from the points' second
differences), while H keeps the raw points, so the expression learns to ignore the jitter
without the head pose losing the keypoints' precision (detector keypoint source only: an
encoder with its own hourglass has no input points to perturb).
``AdaptConfig().paper()`` is the paper's Eq. 5 alone.
The live models are never modified: the result carries new state dicts. The last
``holdout`` fraction of the recording (moved earlier when it has no frame pair with a face,
:func:`holdout_split`) is never trained on; the before/after figures on it decide the verdict
(accepted only when the adapted model is better there).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F

from .camera import project, view_direction
from .color import ColorCorrection
from .dam import DeepAppearanceModel
from .face_signals import AGREEMENT_SIGNALS, expression_agreement, second_difference_sigma
from .i2znet import I2ZNet
from .losses import DAWeights, cftc_loss, da_loss, flrc_loss, motc_loss, temporal_loss
from .metrics import G_TEMPORAL_OFFSET, temporal_stability
from .texels import TexelMap, confidence, observed_texture, texel_positions
from .topology import Topology

Tensor = torch.Tensor


@dataclass(frozen=True)
class Recording:
    """Crops of consecutive frames and their detected landmarks (crop pixels).

    crops (N, 3, S, S) float in [0, 1]; keypoints (N, 68, 2) (NaN where no face); valid (N,)
    bool (a face was detected). Consecutive indices are consecutive camera frames.
    """

    crops: Tensor
    keypoints: Tensor
    valid: Tensor

    def __len__(self) -> int:
        return self.crops.shape[0]

    def subset(self, idx: slice) -> Recording:
        return Recording(self.crops[idx], self.keypoints[idx], self.valid[idx])


@dataclass(frozen=True)
class AdaptConfig:
    steps: int = 200
    lr: float = 5e-5  # encoder learning rate (Adam)
    color_lr: float = 2e-3
    window: int = 4  # consecutive frames per training window (2: the paper's pairs)
    windows_per_step: int = 2  # windows per step (2 x 4 frames: 6 pairs, 4 accelerations)
    weights: DAWeights = DAWeights()  # Eq. 5 weights, paper 100 / 100 / 1
    temporal_weight: float = 50.0  # L_TEMP (beyond the paper; needs window >= 3; 0 = none)
    threshold: float = 0.3  # texture-confidence threshold on W (Eq. 6, 8)
    occlusion: bool = True  # z-buffer visibility in W (beyond the paper)
    holdout: float = 0.2  # last fraction of the recording kept for validation (see holdout_split)
    min_gain: float = 0.01  # accept only if held-out L_DA drops by at least 1 %
    max_landmark_worsening: float = 0.05  # ... and landmark error grows by at most 5 %
    max_expression_drop: float = 0.15  # ... and no expression group's r with the detector drops by more
    seed: int = 0
    grad_clip: float = 5.0
    keep_rejected: bool = False  # benchmarks: return the weights even when the verdict rejects them
    tex_size: int | None = None  # texel grid of the DA losses; None: min(decoder texture, crop size)
    # z sees the detector's points plus Gaussian noise of z_keypoint_noise x the recording's own
    # measured jitter (:func:`keypoint_jitter`), H the raw points (beyond the paper; 0 = off)
    z_keypoint_noise: float = 4.0
    # learning-rate factor of the pose head E_I's head_h (beyond the paper): the room's
    # systematic pose error is still learned, by the shared layers and slowly by the head, while
    # longer adaptation for stability no longer costs pose precision (docs/results.md)
    head_h_lr_scale: float = 0.2

    def paper(self) -> AdaptConfig:
        """The paper's adaptation: Eq. 5 on frame pairs, none of our additions."""
        return replace(self, temporal_weight=0.0, z_keypoint_noise=0.0, head_h_lr_scale=1.0)


@dataclass(frozen=True)
class AdaptResult:
    accepted: bool
    verdict: str  # "accepted" | "kept the current model" | "cancelled"
    reason: str
    weights: dict | None  # {"i2z": state_dict, "color": state_dict} or None
    before: dict = field(default_factory=dict)  # held-out figures before adaptation
    after: dict = field(default_factory=dict)
    steps: int = 0
    seconds: float = 0.0
    history: list = field(default_factory=list)  # per-step training loss (L_DA + l_TEMP L_TEMP)
    keypoint_jitter: float = 0.0  # the detector's per-frame jitter on the training frames (crop px)

    def summary(self) -> dict:
        d = asdict(self)
        d.pop("weights")
        return d


ProgressFn = Callable[[int, int, dict], None]


def loss_tex_size(cfg: AdaptConfig, model_cfg) -> int:
    """Side of the texel grid the DA losses use (``cfg.tex_size`` or min(texture, crop))."""
    return int(cfg.tex_size or min(model_cfg.tex_size, model_cfg.crop_size))


class _DAModel:
    """Bundles the three networks for the loss computations (E_I, C trainable; D frozen)."""

    def __init__(self, i2znet: I2ZNet, color: ColorCorrection, dam: DeepAppearanceModel,
                 topology: Topology, cfg: AdaptConfig) -> None:
        self.i2znet, self.color, self.dam, self.cfg = i2znet, color, dam, cfg
        dev = next(dam.parameters()).device
        # The observed texture cannot hold more detail than the crop's pixels: by default the
        # losses use a texel grid at crop resolution and the decoded texture is area-averaged to it.
        self.tm = TexelMap(topology, loss_tex_size(cfg, dam.cfg), dev)
        self.lmk = torch.from_numpy(topology.landmark_ids).to(dev)

    def forward(self, crops: Tensor, K: Tensor, K_z: Tensor | None = None):
        z, H = self.i2znet(crops, K, keypoints_z=K_z)  # NaN keypoints (no face) give empty heatmaps
        G, T = self.dam.decode(z, view_direction(H))  # T (B, 3, T_dec, T_dec)
        if T.shape[-1] != self.tm.T:  # (B, 3, T_loss, T_loss); strided pool when the sizes divide
            k, r = divmod(T.shape[-1], self.tm.T)
            T = F.avg_pool2d(T, k) if r == 0 else F.adaptive_avg_pool2d(T, self.tm.T)
        X = texel_positions(G, self.tm)  # (B, N, 3)
        T_obs, inside = observed_texture(crops, G, H, self.tm, X)
        with torch.no_grad():
            W = confidence(G, H, self.tm, occlusion=self.cfg.occlusion, image_size=crops.shape[-1], X=X.detach())
            W = W * inside
        return G, H, T, T_obs, W

    @staticmethod
    def _pairs(n: int, window: int) -> tuple[Tensor, Tensor]:
        """Indices (t-1, t) of every consecutive pair inside n windows of ``window`` frames."""
        first = (torch.arange(n)[:, None] * window + torch.arange(window - 1)).flatten()  # (n (window - 1),)
        return first, first + 1

    def losses(self, crops: Tensor, K: Tensor, valid: Tensor, window: int = 2,
               sigma: float = 0.0) -> dict[str, Tensor]:
        """Eq. 5-9 on every consecutive pair of a batch of windows: crops (n * window, ...),
        each window ``window`` consecutive frames (2: (t-1, t) pairs). With window >= 3 also
        L_TEMP, and "da" includes it with ``temporal_weight``. ``sigma`` > 0 (training only: the
        recording's keypoint jitter, crop px) turns on the z keypoint-noise augmentation."""
        K_z = None  # (B, 68, 2) the keypoints z is computed from; None: K
        if sigma > 0 and self.cfg.z_keypoint_noise > 0:
            K_z = K + self.cfg.z_keypoint_noise * sigma * torch.randn_like(K)
        G, H, T, T_obs, W = self.forward(crops, K, K_z)
        n = crops.shape[0] // window
        prev, cur = self._pairs(n, window)
        thr = self.cfg.threshold
        l_cftc = cftc_loss(T_obs[prev], T_obs[cur], W[prev], W[cur], thr)
        l_motc = motc_loss(T_obs[cur], self.color(T[cur]), W[cur], thr)
        Kv = torch.nan_to_num(K[cur])
        l_flrc = flrc_loss(Kv, G[cur][:, self.lmk], H[cur], valid[cur])
        total = da_loss(l_cftc, l_motc, l_flrc, self.cfg.weights)
        out = {"da": total, "cftc": l_cftc, "motc": l_motc, "flrc": l_flrc}
        if window >= 3:
            out["temporal"] = l_temp = temporal_loss(G.view(n, window, *G.shape[1:]) / self.dam.G_scale)
            out["da"] = total + self.cfg.temporal_weight * l_temp
        return out


def keypoint_jitter(rec: Recording) -> float:
    """Per-frame jitter sigma (crop px) of the detector's points in a recording, from the
    robust spread of their second differences (white noise of sigma gives var 6 sigma^2)."""
    K = rec.keypoints.detach().float().cpu().numpy()  # (N, 68, 2)
    ok = rec.valid.cpu().numpy()
    tri = ok[:-2] & ok[1:-1] & ok[2:]
    d2 = (K[2:] - 2 * K[1:-1] + K[:-2])[tri]
    d2 = d2[np.isfinite(d2)]  # a point the detector lost (NaN) in a frame marked as a face
    if d2.size < 3 * 68 * 2:
        return 0.0
    return float(second_difference_sigma(d2))


def _pair_starts(valid: np.ndarray, window: int = 2) -> np.ndarray:
    """Indices t such that frames t .. t + window - 1 all have a face."""
    ok = np.ones(max(len(valid) - window + 1, 0), bool)
    for k in range(window):
        ok &= valid[k:len(valid) - window + 1 + k]
    return np.where(ok)[0]


def holdout_split(valid: np.ndarray, holdout: float) -> int:
    """First frame of the held-back part: the last ``holdout`` fraction of the recording; when
    that part holds no frame pair with a face (the face left the view or the detector missed at
    the end of the recording), it moves earlier to hold ``holdout`` of the usable pairs (at least
    one), so there is still something to check the adapted model on - as long as training keeps a
    pair of its own. valid (N,) bool."""
    n_train = int(round(len(valid) * (1 - holdout)))
    starts = _pair_starts(valid)
    if holdout <= 0 or len(starts) == 0 or (starts >= n_train).any():
        return n_train
    moved = int(starts[-max(1, int(round(len(starts) * holdout)))])
    return moved if starts[0] + 1 < moved else n_train


@torch.no_grad()
def _pair_means(model: _DAModel, rec: Recording, starts: np.ndarray, batch: int = 16) -> dict[str, float]:
    """Mean of each loss term (da, cftc, motc, flrc) over the consecutive pairs ``starts``."""
    sums: dict[str, float] = {}
    for k in range(0, len(starts), batch // 2):
        s = torch.as_tensor(starts[k:k + batch // 2])
        idx = torch.stack([s, s + 1], 1).flatten()
        for n, v in model.losses(rec.crops[idx], rec.keypoints[idx], rec.valid[idx]).items():
            sums[n] = sums.get(n, 0.0) + float(v) * len(s)
    return {n: v / max(len(starts), 1) for n, v in sums.items()}


def image_fit_losses(i2znet: I2ZNet, color: ColorCorrection, dam: DeepAppearanceModel, topology: Topology,
                     rec: Recording, cfg: AdaptConfig = AdaptConfig()) -> dict[str, float]:
    """Mean L_DA and its terms (Eq. 5-9) of a model on a recording, without training."""
    model = _DAModel(i2znet.eval(), color, dam.eval(), topology, cfg)
    return _pair_means(model, rec, _pair_starts(rec.valid.cpu().numpy()))


@torch.no_grad()
def evaluate(model: _DAModel, rec: Recording, batch: int = 16) -> dict:
    """Held-out figures: mean L_DA over pairs, temporal stability of G (Eq. 10), landmark
    error (px, crop) of the projected model landmarks against the detector."""
    starts = _pair_starts(rec.valid.cpu().numpy())
    if len(starts) == 0:
        return {"da": math.nan, "temporal": math.nan, "landmark_error": math.nan, "pairs": 0}
    da = _pair_means(model, rec, starts, batch)["da"]
    Gs, errs, Ls = [], [], []
    for k in range(0, len(rec), batch):
        crops, K = rec.crops[k:k + batch], rec.keypoints[k:k + batch]
        G, H, *_ = model.forward(crops, K)
        v = rec.valid[k:k + batch]
        L = project(G[:, model.lmk], H)  # (b, 68, 2) crop px
        e = (L - torch.nan_to_num(K)).norm(dim=-1).mean(-1)
        errs += e[v].tolist()
        Gs.append(G.cpu())
        Ls.append(torch.where(v[:, None, None], L, torch.nan).detach().cpu())
    G_all = torch.cat(Gs)[rec.valid.cpu()]
    temporal = temporal_stability(G_all, offset=G_TEMPORAL_OFFSET) if len(G_all) >= 3 else math.nan
    agree = expression_agreement(torch.cat(Ls).numpy(), rec.keypoints.cpu().numpy())
    return {"da": da, "temporal": temporal, "landmark_error": float(np.mean(errs)),
            "pairs": int(len(starts)), **{f"r_{g}": r for g, r in agree.items()}}


def verdict(before: dict, after: dict, cfg: AdaptConfig) -> tuple[bool, str]:
    """Accept only if the held-out L_DA drops by ``min_gain``, landmarks do not get worse and no
    expression group (eyes, mouth, brows: r of the model's signals with the detector's, where the
    detector's vary) loses more than ``max_expression_drop``."""
    if not math.isfinite(after.get("da", math.nan)):
        return False, "no held-back frame pair with a face to check the adapted model on"
    gain = (before["da"] - after["da"]) / max(before["da"], 1e-12)
    if gain < cfg.min_gain:
        return False, (f"the held-back DA loss did not improve enough ({before['da']:.4g} -> {after['da']:.4g}, "
                       f"{100 * gain:+.1f} %, needs {100 * cfg.min_gain:.0f} %)")
    worse = after["landmark_error"] / max(before["landmark_error"], 1e-12) - 1
    if worse > cfg.max_landmark_worsening:
        return False, (f"landmark error on held-back frames got worse ({before['landmark_error']:.2f} -> "
                       f"{after['landmark_error']:.2f} px)")
    for g in AGREEMENT_SIGNALS:
        b, a = before.get(f"r_{g}", math.nan), after.get(f"r_{g}", math.nan)
        if math.isfinite(b) and (not math.isfinite(a) or a < b - cfg.max_expression_drop):
            return False, (f"the adapted model follows the {g} less well on held-back frames (agreement with "
                           f"the detector r {b:.2f} -> {a:.2f})")
    return True, (f"held-back DA loss {before['da']:.4g} -> {after['da']:.4g} ({100 * gain:.1f} % better), "
                  f"landmark error {before['landmark_error']:.2f} -> {after['landmark_error']:.2f} px")


def adapt(i2znet: I2ZNet, color: ColorCorrection, dam: DeepAppearanceModel, topology: Topology,
          recording: Recording, cfg: AdaptConfig = AdaptConfig(), progress: ProgressFn | None = None,
          cancel: Callable[[], bool] | None = None) -> AdaptResult:
    """Adapt copies of E_I and C to a recording (Eq. 5-9); the inputs stay untouched.

    ``progress(step, steps, info)`` is called after every step (info: losses, elapsed,
    remaining seconds); ``cancel()`` returning True stops at the next step and returns a
    "cancelled" result with no weights.
    """
    t_start = time.perf_counter()
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    dev = next(dam.parameters()).device
    enc, col, dec = copy.deepcopy(i2znet).eval(), copy.deepcopy(color).eval(), copy.deepcopy(dam).eval()
    dec.requires_grad_(False)
    for m in enc.frozen_modules():
        m.requires_grad_(False)
    model = _DAModel(enc, col, dec, topology, cfg)
    rec = Recording(recording.crops.to(dev), recording.keypoints.to(dev).float(), recording.valid.to(dev))
    n_train = holdout_split(rec.valid.cpu().numpy(), cfg.holdout)
    train, held = rec.subset(slice(0, n_train)), rec.subset(slice(n_train, None))
    valid = train.valid.cpu().numpy()
    L = cfg.window if cfg.temporal_weight > 0 else 2  # without L_TEMP: the paper's pairs
    starts = _pair_starts(valid, L)
    if L > 2 and len(starts) == 0:  # too few consecutive faces for a window: pairs, as in the paper
        L, starts = 2, _pair_starts(valid, 2)
    n_win = max(1, cfg.windows_per_step * cfg.window // L)  # the same number of frames per step
    sigma = keypoint_jitter(train)  # crop px; the augmentation needs input points (detector source)
    sigma_z = sigma if enc.reads_keypoints else 0.0
    before = evaluate(model, held)
    if len(starts) == 0:
        return AdaptResult(False, "kept the current model", "no pair of consecutive frames with a face to learn from",
                           None, before, before, 0, time.perf_counter() - t_start, keypoint_jitter=sigma)
    params = [p for p in enc.parameters() if p.requires_grad]
    head_h = {id(p) for p in enc.head_h.parameters()}
    groups = [{"params": [p for p in params if id(p) not in head_h], "lr": cfg.lr},
              {"params": [p for p in params if id(p) in head_h], "lr": cfg.lr * cfg.head_h_lr_scale},
              {"params": col.parameters(), "lr": cfg.color_lr}]
    opt = torch.optim.Adam(groups)
    history = []
    for step in range(cfg.steps):
        if cancel is not None and cancel():
            return AdaptResult(False, "cancelled", f"cancelled after {step} of {cfg.steps} steps; "
                               "the live model is unchanged", None, before, {}, step,
                               time.perf_counter() - t_start, history, sigma)
        s = torch.as_tensor(rng.choice(starts, size=min(n_win, len(starts)), replace=False))
        idx = (s[:, None] + torch.arange(L)).flatten().to(dev)  # windows of L consecutive frames
        loss = model.losses(train.crops[idx], train.keypoints[idx], train.valid[idx], L, sigma_z)
        opt.zero_grad(set_to_none=True)
        loss["da"].backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        opt.step()
        info = {k: float(v.detach()) for k, v in loss.items()}
        history.append(info["da"])
        if progress is not None:
            elapsed = time.perf_counter() - t_start
            info.update(elapsed=elapsed, remaining=elapsed / (step + 1) * (cfg.steps - step - 1))
            progress(step + 1, cfg.steps, info)
    after = evaluate(model, held)
    ok, reason = verdict(before, after, cfg)
    weights = {"i2z": {k: v.detach().cpu().clone() for k, v in enc.state_dict().items()},
               "color": {k: v.detach().cpu().clone() for k, v in col.state_dict().items()}} \
        if ok or cfg.keep_rejected else None
    return AdaptResult(ok, "accepted" if ok else "kept the current model", reason, weights, before, after,
                       cfg.steps, time.perf_counter() - t_start, history, sigma)
