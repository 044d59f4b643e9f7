"""The personal lab: the enrolled person's lab capture, DAM and I2ZNet (issue 17, item 4).

The paper builds a person-specific DAM from a multi-camera lab; here the lab is rendered from
the fitted person (:class:`studio.enroll.person.EnrolledPerson`) with the crowd performances.

Warm start that keeps the budget: the personal DAM shares the default avatar's code space.
For a lab frame with expression weights e and head rotation R, its code is fixed to the
default avatar's code for the same e and R, z* = E_X^default(G_0(e), T_0(e))
(:func:`studio.retarget.avatar_codes`, the crowd encoder's retargeting targets). The decoder
(warm-started from the default avatar's, its mean geometry and texture re-centred on the
person) learns D(z*, v) = (G_person(e), T_person(e, v)); the encoder E_X learns to give z*
back. So the crowd-trained I2ZNet, which reads anyone's face into that code space, already
drives the personal avatar; it is then fine-tuned on the person's lab images (Eq. 1-4) with
the same targets and its expression head.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from models import bundle as B
from models.data import load_capture
from models.train import LabData, TrainConfig, _save_ckpt, dam_batch, tex_tensor, train_i2z
from studio.retarget import avatar_codes


@dataclass(frozen=True)
class LabBudget:
    frames: int = 200
    views: int = 8
    dam_steps: int = 600
    i2z_steps: int = 300
    dam_batch: int = 8
    dam_lr: float = 3e-4
    i2z_lr: float = 1e-4
    image_size: int = 160


def render_lab(person, out: Path, budget: LabBudget, tex_size: int, progress=None) -> Path:
    """The person's lab capture (crowd performance: blinks, brows, smiles, visemes)."""
    from studio.capture import capture_lab

    if (Path(out) / "manifest.json").exists():
        return Path(out)
    return capture_lab(person, budget.views, budget.frames, out, size=budget.image_size, tex_size=tex_size,
                       seed=90210, kind="crowd", progress=progress, room="enroll_lab")


def default_person(bundle: B.AvatarBundle) -> int:
    prov = bundle.manifest.get("provenance", {})
    try:
        return int(prov.get("person", 0))
    except (TypeError, ValueError) as e:
        raise ValueError("enrollment warm-starts from a studio avatar (its manifest names a studio person); "
                         f"this bundle's person is {prov.get('person')!r}") from e


def shared_codes(bundle: B.AvatarBundle, data: LabData, cache: Path) -> torch.Tensor:
    """z* for every lab sample, in ``data.index`` order (cached in the work folder)."""
    if cache.exists():
        return torch.load(cache, weights_only=True)
    cap = data.caps[0]
    z = avatar_codes(bundle.dam, default_person(bundle), cap.gt["expr"], cap.gt["rot_world"], bundle.cfg.tex_size)
    z = torch.stack([z[t] for _, t in data.index])
    torch.save(z, cache)
    return z


def recentre(bundle: B.AvatarBundle, data: LabData) -> None:
    """Mean geometry and mean texture of the person (the decoder's offsets stay the default's)."""
    G_mean = torch.from_numpy(np.concatenate([c.gt["G"] for c in data.caps]).mean(0)).float()
    picks = np.linspace(0, len(data) - 1, min(48, len(data))).astype(int)
    T_mean = tex_tensor(np.stack([data.mean_texture(*data.index[i]) for i in picks]), bundle.cfg.tex_size).mean(0)
    bundle.dam.set_statistics(G_mean, float(bundle.dam.G_scale), T_mean)


def train_dam_shared(bundle: B.AvatarBundle, data: LabData, z_star: torch.Tensor, budget: LabBudget, work: Path,
                     on_step=None) -> dict:
    """Decoder: D(z* + noise, v) -> (G, T_v); encoder: E_X(G, T_avg) -> z*. Resumes from work/dam.pt."""
    dam = bundle.dam
    ckpt = work / "dam.pt"
    opt = torch.optim.Adam(dam.parameters(), lr=budget.dam_lr)
    hist = {"total": [], "geometry": [], "texture": [], "code": []}
    start = 0
    if ckpt.exists():
        st = torch.load(ckpt, weights_only=True)
        dam.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        hist, start = st["hist"], st["step"]
    else:
        recentre(bundle, data)
    rng = np.random.default_rng(7 + start)
    z_sd = z_star.std(0, keepdim=True)
    dam.train()
    for step in range(start, budget.dam_steps):
        rows = rng.integers(0, len(data), budget.dam_batch)
        G, T_avg, T_v, vd = dam_batch(data, rows, rng, bundle.cfg.tex_size)
        z = z_star[rows]
        G_rec, T_rec = dam.decode(z + 0.05 * z_sd * torch.randn_like(z), vd)
        mu, _ = dam.encode(G, T_avg)
        l_geo = (((G_rec - G) / dam.G_scale) ** 2).mean()
        l_tex = ((T_rec - T_v) ** 2).mean()
        l_code = ((mu - z) ** 2).mean()
        loss = l_geo + 100.0 * l_tex + l_code
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        for k, v in (("total", loss), ("geometry", l_geo), ("texture", l_tex), ("code", l_code)):
            hist[k].append(float(v.detach()))
        if (step + 1) % 50 == 0 or step + 1 == budget.dam_steps:
            _save_ckpt(ckpt, model=dam.state_dict(), opt=opt.state_dict(), hist=hist, step=step + 1)
        if on_step is not None:
            on_step(step + 1, budget.dam_steps)
    dam.eval()
    return hist


def train_personal(default_bundle: str | Path, lab: Path, work: Path, budget: LabBudget,
                   on_dam=None, on_i2z=None) -> tuple[B.AvatarBundle, dict]:
    """The personal bundle (DAM + I2ZNet + colour), warm-started from ``default_bundle``."""
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    bundle = B.load(default_bundle)
    if not bundle.manifest.get("has_encoder"):
        raise ValueError(f"{default_bundle} has no DAM encoder E_X: enrollment needs it for the shared codes")
    data = LabData([load_capture(lab)])
    z_star = shared_codes(bundle, data, work / "codes.pt")
    t1 = time.time()
    h_dam = train_dam_shared(bundle, data, z_star, budget, work, on_dam)
    t2 = time.time()
    e = torch.from_numpy(np.stack([data.caps[c].gt["expr"][t] for c, t in data.index])).float()
    cfg = TrainConfig(i2z_steps=budget.i2z_steps, i2z_lr=budget.i2z_lr, checkpoint_every=50)
    h_i2z = train_i2z(bundle, data, cfg, work, z_targets=z_star,
                      e_targets=e if bundle.i2znet.head_e is not None else None, on_step=on_i2z)
    info = {"codes_seconds": round(t1 - t0, 1), "dam_seconds": round(t2 - t1, 1),
            "i2z_seconds": round(time.time() - t2, 1), "dam_steps": budget.dam_steps, "i2z_steps": budget.i2z_steps,
            "final_losses": {"dam": {k: v[-1] for k, v in h_dam.items() if v},
                             "i2z": {k: v[-1] for k, v in h_i2z.items() if v}},
            "lab": load_capture(lab).manifest}
    return bundle, info


__all__ = ["LabBudget", "render_lab", "train_personal", "train_dam_shared", "shared_codes"]
