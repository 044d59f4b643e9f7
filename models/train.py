"""Supervised training (paper sec. 3.1): the DAM on lab captures, then I2ZNet.

DAM: a VAE on rigid-free geometry G and view-dependent UV textures; the encoder sees the
view-averaged texture of a frame, the decoder is conditioned on the view direction and
reconstructs that view's texture (as in Deep Appearance Models).

I2ZNet: ``L = l_z L_z + l_H L_H + l_view L_view`` (Eq. 1-4) on lab images cropped around
their landmarks, ``z_gt`` from the trained DAM encoder, two random synchronised views per
frame per step.

CLI: ``python -m models.train --profile lite --lab CAPTURE [--lab ...] --work DIR --out BUNDLE``
(resumes from ``DIR`` after an interruption).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from . import bundle as B
from . import crop as C
from .backbones import keypoints_to_heatmaps
from .config import profile
from .data import Capture, load_capture
from .losses import kl_loss, pose_loss, view_loss, z_loss

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    dam_steps: int = 3000
    i2z_steps: int = 4000
    batch: int = 12  # DAM samples per step
    i2z_batch: int = 8  # I2ZNet frames per step (x 2 synchronised views)
    dam_lr: float = 1e-3
    i2z_lr: float = 5e-4
    kl_weight: float = 1e-3
    tex_weight: float = 100.0
    l_z: float = 1.0
    l_H: float = 0.05
    l_view: float = 0.5
    l_heat: float = 1.0  # heatmap supervision of a learned (not pretrained) hourglass stream
    keypoint_noise: float = 0.01  # detector noise, fraction of the crop box side
    # per-region detector noise (jaw, brows, nose, eyes, mouth as models.face_signals.REGIONS),
    # fractions of the box side; empty = keypoint_noise everywhere. bench.detector_jitter measures it
    keypoint_noise_regions: tuple[tuple[str, float], ...] = ()
    l_e: float = 5.0  # named expression weights (binary cross-entropy), when the I2ZNet has an expression head
    box_jitter: float = 0.04  # crop box shift/scale jitter, fraction of the side
    colour_jitter: float = 0.1  # mild gain/offset augmentation per channel
    seed: int = 0
    checkpoint_every: int = 250


class LabData:
    """Random access to (frame, view) samples across lab captures (memory-mapped)."""

    def __init__(self, captures: list[Capture]) -> None:
        self.caps = captures
        self.index = [(c, t) for c in range(len(captures)) for t in range(captures[c].frames)]
        self._img = [[cap.images(v) for v in range(cap.views)] for cap in captures]
        self._tex = [[cap.textures(v) for v in range(cap.views)] for cap in captures]
        self._mean: dict[tuple[int, int], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.index)

    def views(self, c: int) -> int:
        return self.caps[c].views

    def G(self, c: int, t: int) -> np.ndarray:
        return self.caps[c].gt["G"][t]

    def texture(self, c: int, t: int, v: int) -> np.ndarray:
        return np.asarray(self._tex[c][v][t])

    def mean_texture(self, c: int, t: int) -> np.ndarray:
        """View-averaged texture (what the DAM encoder sees), cached as uint8."""
        if (c, t) not in self._mean:
            m = np.mean([self._tex[c][v][t] for v in range(self.views(c))], 0)
            self._mean[(c, t)] = np.clip(m + 0.5, 0, 255).astype(np.uint8)
        return self._mean[(c, t)]

    def image(self, c: int, t: int, v: int) -> np.ndarray:
        return np.asarray(self._img[c][v][t])


def tex_tensor(a: np.ndarray, size: int | None = None) -> torch.Tensor:
    """(B, T, T, 3) uint8/float -> (B, 3, size, size) float in [0, 1] (area-resampled when the
    capture's texture size differs from the model's)."""
    t = torch.from_numpy(np.ascontiguousarray(a)).float()
    if a.dtype == np.uint8 or t.max() > 1.5:
        t = t / 255.0
    t = t.movedim(-1, -3)
    if size is not None and t.shape[-1] != size:
        t = torch.nn.functional.interpolate(t, size=(size, size), mode="area")
    return t


def _save_ckpt(path: Path, **state) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def _resume(ckpt: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, hist: dict, seed: int, name: str):
    """Continue from ``ckpt`` when it exists. -> (history, start step, rng)."""
    if not ckpt.exists():
        return hist, 0, np.random.default_rng(seed)
    st = torch.load(ckpt, weights_only=True)
    model.load_state_dict(st["model"])
    opt.load_state_dict(st["opt"])
    log.info("%s: resumed at step %d", name, st["step"])
    return st["hist"], st["step"], np.random.default_rng(seed + st["step"])


def _plot(history: dict[str, list[float]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for k, v in history.items():
        if v and k != "step":
            ax.plot(v, label=k)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _set_dam_statistics(bundle: B.AvatarBundle, data: LabData, rng: np.random.Generator) -> None:
    Gs = np.concatenate([c.gt["G"] for c in data.caps])  # (N, V, 3)
    G_mean = torch.from_numpy(Gs.mean(0)).float()
    G_std = float((Gs - Gs.mean(0)).std())
    picks = rng.choice(len(data), size=min(64, len(data)), replace=False)
    T = bundle.cfg.tex_size
    T_mean = tex_tensor(np.stack([data.mean_texture(*data.index[i]) for i in picks]), T).mean(0)
    bundle.dam.set_statistics(G_mean, G_std, T_mean)


def dam_batch(data: LabData, rows: np.ndarray, rng: np.random.Generator, tex_size: int):
    """One DAM training batch for samples ``rows`` of ``data``, each seen from a random lab view:
    G (B, V, 3), the view-averaged texture T_avg and the view's texture T_v (B, 3, T, T), and
    the view direction (B, 3)."""
    picks = [data.index[i] for i in rows]
    views = [int(rng.integers(0, data.views(c))) for c, _ in picks]
    G = torch.from_numpy(np.stack([data.G(c, t) for c, t in picks])).float()
    T_avg = tex_tensor(np.stack([data.mean_texture(c, t) for c, t in picks]), tex_size)
    T_v = tex_tensor(np.stack([data.texture(c, t, v) for (c, t), v in zip(picks, views)]), tex_size)
    vd = torch.from_numpy(np.stack([data.caps[c].gt["view_dir"][t, v] for (c, t), v in zip(picks, views)])).float()
    return G, T_avg, T_v, vd


def train_dam(bundle: B.AvatarBundle, data: LabData, cfg: TrainConfig, work: Path) -> dict:
    """VAE training of the DAM; resumes from ``work/dam.pt``. Returns the loss history."""
    dam = bundle.dam
    torch.manual_seed(cfg.seed)
    opt = torch.optim.Adam(dam.parameters(), lr=cfg.dam_lr)
    ckpt = work / "dam.pt"
    hist, start, rng = _resume(ckpt, dam, opt, {"total": [], "geometry": [], "texture": [], "kl": []}, cfg.seed, "DAM")
    if start == 0:
        _set_dam_statistics(bundle, data, rng)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.dam_steps, eta_min=cfg.dam_lr * 0.05,
                                                       last_epoch=start - 1 if start else -1)
    dam.train()
    bar = tqdm(range(start, cfg.dam_steps), initial=start, total=cfg.dam_steps, desc="DAM", unit="step")
    for step in bar:
        G, T_avg, T_v, vd = dam_batch(data, rng.integers(0, len(data), cfg.batch), rng, bundle.cfg.tex_size)
        mu, logstd = dam.encode(G, T_avg)
        z = mu + torch.randn_like(mu) * logstd.exp()
        G_rec, T_rec = dam.decode(z, vd)
        l_geo = (((G_rec - G) / dam.G_scale) ** 2).mean()
        l_tex = ((T_rec - T_v) ** 2).mean()
        l_kl = kl_loss(mu, logstd)
        loss = l_geo + cfg.tex_weight * l_tex + cfg.kl_weight * l_kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        for k, v in (("total", loss), ("geometry", l_geo), ("texture", l_tex), ("kl", l_kl)):
            hist[k].append(float(v.detach()))
        bar.set_postfix(loss=f"{hist['total'][-1]:.4f}", geo=f"{hist['geometry'][-1]:.4f}",
                        tex=f"{hist['texture'][-1]:.5f}")
        if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == cfg.dam_steps:
            _save_ckpt(ckpt, model=dam.state_dict(), opt=opt.state_dict(), hist=hist, step=step + 1)
    dam.eval()
    _plot(hist, work / "dam_curves.png", "DAM training")
    return hist


@torch.no_grad()
def dam_codes(bundle: B.AvatarBundle, data: LabData) -> torch.Tensor:
    """z_gt for every (capture, frame): the DAM encoder's mean. -> (len(data), Z)."""
    bundle.dam.eval()
    zs = []
    for k in range(0, len(data), 32):
        picks = data.index[k:k + 32]
        G = torch.from_numpy(np.stack([data.G(c, t) for c, t in picks])).float()
        T_avg = tex_tensor(np.stack([data.mean_texture(c, t) for c, t in picks]), bundle.cfg.tex_size)
        zs.append(bundle.dam.encode(G, T_avg)[0])
    return torch.cat(zs)


def make_crop(image: np.ndarray, landmarks: np.ndarray, S: int, rng: np.random.Generator | None,
              cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Crop a lab image around its landmarks as the tracker would (with jitter/noise when
    training). -> crop (S, S, 3) uint8 RGB, keypoints (68, 2) crop px, true landmarks crop px."""
    box = C.box_from_landmarks(landmarks)
    kp = landmarks
    if rng is not None:
        side = box[2]
        box = box + np.array([*rng.normal(0, cfg.box_jitter * side, 2), 0.0])
        box[2] *= float(np.exp(rng.normal(0, cfg.box_jitter)))
        kp = landmarks + rng.normal(0, 1, landmarks.shape) * (keypoint_sigma(cfg) * side)[:, None]
    img = C.crop(image, box, S)
    return img, C.to_crop(kp, box, S), C.to_crop(landmarks, box, S)


def keypoint_sigma(cfg: TrainConfig) -> np.ndarray:
    """Per-point training noise std as a fraction of the box side. -> (68,)"""
    from .face_signals import REGIONS

    sig = np.full(68, cfg.keypoint_noise, np.float64)
    for region, s in cfg.keypoint_noise_regions:
        sig[list(REGIONS[region])] = s
    return sig


def load_dam_checkpoint(bundle: B.AvatarBundle, path: str | Path) -> B.AvatarBundle:
    """Put the full DAM of a training checkpoint (``WORK/dam.pt``, encoder E_X included) into a
    bundle that was saved without E_X, so that I2ZNet can be (re)trained on it."""
    state = torch.load(path, weights_only=True)["model"]
    bundle.dam.load_state_dict(state)
    bundle.manifest["has_encoder"] = True
    return bundle


def require_encoder(bundle: B.AvatarBundle) -> None:
    """ValueError unless the bundle's DAM has its trained encoder E_X (the source of z_gt)."""
    if not bundle.manifest.get("has_encoder", True):
        raise ValueError("this avatar bundle ships without the DAM encoder E_X that gives I2ZNet its targets "
                         "z_gt (Eq. 2): load the DAM training checkpoint first (models.train.load_dam_checkpoint, "
                         "or --dam-checkpoint WORK/dam.pt on the command line)")


def train_i2z(bundle: B.AvatarBundle, data: LabData, cfg: TrainConfig, work: Path,
              z_targets: torch.Tensor | None = None, e_targets: torch.Tensor | None = None,
              on_step=None) -> dict:
    """I2ZNet with Eq. 1-4; resumes from ``work/i2z.pt``. Returns the loss history.

    ``z_targets`` (len(data), Z) replace the DAM codes of the captured person (the crowd's
    retargeted codes, :mod:`studio.retarget`); ``e_targets`` (len(data), expr_dim) in [0, 1]
    supervise the expression head with a binary cross-entropy weighted ``cfg.l_e``.
    ``on_step(done, total)`` is called after every step (it may raise to cancel; the run resumes
    from the last checkpoint)."""
    require_encoder(bundle)
    net, dam = bundle.i2znet, bundle.dam
    S = bundle.cfg.crop_size
    dam.eval().requires_grad_(False)
    z_gt_all = dam_codes(bundle, data) if z_targets is None else z_targets
    learn_e = e_targets is not None and net.head_e is not None
    torch.manual_seed(cfg.seed + 1)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=cfg.i2z_lr)
    ckpt = work / "i2z.pt"
    hist, start, rng = _resume(ckpt, net, opt, {"total": [], "z": [], "H": [], "view": []}, cfg.seed + 1, "I2ZNet")
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.i2z_steps, eta_min=cfg.i2z_lr * 0.05,
                                                       last_epoch=start - 1 if start else -1)
    lmk = torch.from_numpy(bundle.topology.landmark_ids)
    # an hourglass without pretrained weights learns to be a landmark detector on the studio's
    # ground-truth landmarks (FAN-style heatmap regression) besides the Eq. 1-4 losses
    learn_heat = net.hourglass is not None and any(p.requires_grad for p in net.hourglass.parameters())
    if learn_heat:
        hist.setdefault("heat", [])
    if learn_e:
        hist.setdefault("expr", [])
    net.train()
    bar = tqdm(range(start, cfg.i2z_steps), initial=start, total=cfg.i2z_steps, desc="I2ZNet", unit="step")
    for step in bar:
        rows = rng.integers(0, len(data), cfg.i2z_batch)
        crops, kps, gts, zgt, egt = [], [], [], [], []
        for r in rows:
            c, t = data.index[r]
            for v in rng.choice(data.views(c), size=2, replace=data.views(c) < 2):
                img, kp, gt = make_crop(data.image(c, t, v), data.caps[c].gt["landmarks"][t, v], S, rng, cfg)
                gain = 1.0 + rng.normal(0, cfg.colour_jitter, 3)
                crops.append(np.clip(img.astype(np.float32) * gain / 255.0, 0, 1))
                kps.append(kp)
                gts.append(gt)
                zgt.append(z_gt_all[r])
                if learn_e:
                    egt.append(e_targets[r])
        x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float().contiguous()
        K = torch.from_numpy(np.stack(kps)).float()
        K_gt = torch.from_numpy(np.stack(gts)).float()
        z_gt = torch.stack(zgt)
        z, H, e, heat = net(x, K, return_heatmaps=True, return_expr=True)
        G = dam.decode_geometry(z)
        l_z = z_loss(z, z_gt)
        l_H = pose_loss(H, G[:, lmk], K_gt)
        l_view = view_loss(z[0::2], z[1::2])
        loss = cfg.l_z * l_z + cfg.l_H * l_H + cfg.l_view * l_view
        if learn_e:
            # weights in [0, 1]: BCE (an L1 loss would pull the mostly-zero weights to their median, 0)
            l_e = F.binary_cross_entropy(e.clamp(1e-6, 1 - 1e-6), torch.stack(egt).float())
            loss = loss + cfg.l_e * l_e
            hist["expr"].append(float(l_e.detach()))
        if learn_heat:
            target = keypoints_to_heatmaps(K_gt, heat.shape[-1], S / heat.shape[-1], bundle.cfg.heatmap_sigma)
            l_heat = (heat - target).square().sum((2, 3)).mean()  # per-map squared error, mean over maps
            loss = loss + cfg.l_heat * l_heat
            hist["heat"].append(float(l_heat.detach()))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 10.0)
        opt.step()
        sched.step()
        for k, v in (("total", loss), ("z", l_z), ("H", l_H), ("view", l_view)):
            hist[k].append(float(v.detach()))
        bar.set_postfix(loss=f"{hist['total'][-1]:.3f}", z=f"{hist['z'][-1]:.3f}", H=f"{hist['H'][-1]:.2f}",
                        **({"e": f"{hist['expr'][-1]:.3f}"} if learn_e else {}))
        if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == cfg.i2z_steps:
            _save_ckpt(ckpt, model=net.state_dict(), opt=opt.state_dict(), hist=hist, step=step + 1)
        if on_step is not None:
            on_step(step + 1, cfg.i2z_steps)
    net.eval()
    _plot(hist, work / "i2z_curves.png", "I2ZNet training")
    return hist


def train(profile_name: str, lab: list[str | Path], work: str | Path, out: str | Path | None,
          cfg: TrainConfig = TrainConfig(), provenance: dict | None = None, model_cfg=None) -> B.AvatarBundle:
    """DAM then I2ZNet on lab captures; writes a bundle to ``out``."""
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    mcfg = model_cfg or profile(profile_name)
    data = LabData([load_capture(p) for p in lab])
    bundle = B.build(mcfg)
    if bundle.topology.n_vertices != data.caps[0].gt["G"].shape[1]:
        raise ValueError(f"captures have {data.caps[0].gt['G'].shape[1]} vertices, profile topology "
                         f"{mcfg.topology!r} has {bundle.topology.n_vertices}")
    h_dam = train_dam(bundle, data, cfg, work)
    h_i2z = train_i2z(bundle, data, cfg, work)
    prov = {
        "trained_on": [str(p) for p in lab],
        "captures": [c.manifest for c in data.caps],
        "train_config": cfg.__dict__,
        "final_losses": {"dam": {k: v[-1] for k, v in h_dam.items() if v},
                         "i2z": {k: v[-1] for k, v in h_i2z.items() if v}},
        "pretrained": [s.message for s in bundle.i2znet.status],
        "wall_seconds": round(time.time() - t0, 1),
        **(provenance or {}),
    }
    bundle.manifest["provenance"] = prov
    if out is not None:
        # E_X ships too (lite fp16: +11 MB): Table 2/3 train their variants on its codes z_gt
        B.save(bundle, out, provenance=prov, include_encoder=True,
               dtype="float16" if mcfg.name == "lite" else "float32")
        (work / "provenance.json").write_text(json.dumps(prov, indent=2, default=str))
    return bundle


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", default="lite", choices=["tiny", "lite", "paper"])
    p.add_argument("--lab", action="append", required=True, help="lab capture folder (repeatable)")
    p.add_argument("--work", required=True, help="folder for checkpoints and curves (resume from here)")
    p.add_argument("--out", required=True, help="bundle folder to write")
    p.add_argument("--dam-steps", type=int, default=TrainConfig.dam_steps)
    p.add_argument("--i2z-steps", type=int, default=TrainConfig.i2z_steps)
    p.add_argument("--batch", type=int, default=TrainConfig.batch, help="DAM batch")
    p.add_argument("--i2z-batch", type=int, default=TrainConfig.i2z_batch, help="I2ZNet frames per step")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(max(1, torch.get_num_threads()))
    cfg = TrainConfig(dam_steps=a.dam_steps, i2z_steps=a.i2z_steps, batch=a.batch, i2z_batch=a.i2z_batch,
                      seed=a.seed)
    train(a.profile, a.lab, a.work, a.out, cfg)
    print(f"bundle written to {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
