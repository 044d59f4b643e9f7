"""Tables 2 and 3 (I2ZNet ablations) and Fig. 10 (input resolution) on held-out lab data.

Variants (paper sec. 4.2.1; ours use the profile's backbone instead of VGG16):
``scratch`` deep features only, backbone trained from scratch; ``backbone`` deep features
only, a pretrained backbone kept frozen; ``backbone_skip`` + multi-level features;
``backbone_skip_keypoints`` + the 68-landmark keypoint stream. Without ImageNet weights for
the lite backbone, "pretrained" means the perceptual stream of the shipped avatar's I2ZNet,
frozen (documented in docs/results.md).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch

from models import bundle as B
from models import crop as C
from models.camera import project, view_direction
from models.data import load_capture
from models.i2znet import I2ZNet
from models.metrics import G_TEMPORAL_OFFSET, temporal_stability
from models.train import LabData, TrainConfig, tex_tensor, train_i2z
from studio import perturb

VARIANTS = {
    "scratch": dict(use_skip=False, keypoint_source="none", frozen=False),
    "backbone": dict(use_skip=False, keypoint_source="none", frozen=True),
    "backbone_skip": dict(use_skip=True, keypoint_source="none", frozen=True),
    "backbone_skip_keypoints": dict(use_skip=True, keypoint_source="detector", frozen=True),
}


def ensure_lab(cache: Path, person: int, frames: int, views: int, size: int, seed: int) -> Path:
    from studio.capture import capture_lab

    path = cache / f"lab_p{person}_s{seed}_{frames}x{views}_{size}"
    if not (path / "manifest.json").exists():
        capture_lab(person, views, frames, path, size=size, seed=seed)
    return path


def train_variant(bundle: B.AvatarBundle, name: str, train_lab: list[Path], steps: int, work: Path) -> I2ZNet:
    spec = VARIANTS[name]
    cfg = bundle.cfg.replace(use_skip=spec["use_skip"], keypoint_source=spec["keypoint_source"], pretrained=False)
    net = I2ZNet(cfg, load_pretrained=False)
    if spec["frozen"]:
        net.backbone.load_state_dict(bundle.i2znet.backbone.state_dict())
        net.backbone.requires_grad_(False)
    var = copy.copy(bundle)
    var.i2znet = net
    data = LabData([load_capture(p) for p in train_lab])
    w = work / name
    w.mkdir(parents=True, exist_ok=True)
    train_i2z(var, data, TrainConfig(i2z_steps=steps, checkpoint_every=max(steps, 1)), w)
    return net.eval()


def crops_of(cap, v: int, S: int, frames: np.ndarray, size: int | None = None, fn=None):
    """Canonical crops of view v (optionally perturbed). -> x (N, 3, S, S), K (N, 68, 2), boxes (N, 3)."""
    imgs = cap.images(v)
    xs, ks, boxes = [], [], []
    masks = cap.masks(v) if fn is not None and (cap.path / f"masks_v{v:02d}.npy").exists() else None
    for t in frames:
        lm = cap.gt["landmarks"][t, v]
        img = np.asarray(imgs[t])
        if fn is not None:
            img = fn(img, None if masks is None else masks[t])
        box = C.box_from_landmarks(lm)
        crop = C.crop(img, box, size or S)
        if size is not None:
            crop = perturb.downsample(crop, size, S) if size != S else crop
        xs.append(crop)
        ks.append(C.to_crop(lm, box, S))
        boxes.append(box)
    x = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).float() / 255.0
    return x, torch.from_numpy(np.stack(ks)).float(), np.stack(boxes)


@torch.no_grad()
def run_net(net: I2ZNet, dam, x, K, textures=True):
    z, H = net(x, K)
    G, T = dam.decode(z, view_direction(H)) if textures else (dam.decode_geometry(z), None)
    return G, H, T


def table2(bundle, nets: dict, cap, frames: np.ndarray) -> dict:
    S = bundle.cfg.crop_size
    out = {}
    for name, net in nets.items():
        geo, tex, temp = [], [], []
        for v in range(cap.views):
            x, K, _ = crops_of(cap, v, S, frames)
            G, H, T = run_net(net, bundle.dam, x, K)
            G_gt = torch.from_numpy(cap.gt["G"][frames])
            T_gt = tex_tensor(np.stack([cap.textures(v)[t] for t in frames]), bundle.cfg.tex_size)
            geo.append(float((G - G_gt).norm(dim=-1).mean()))
            tex.append(float((T - T_gt).abs().mean()))
            temp.append(temporal_stability(G, offset=G_TEMPORAL_OFFSET))
        out[name] = {"geometry": float(np.mean(geo)), "texture": float(np.mean(tex)), "temporal": float(np.mean(temp))}
    out["ground_truth_temporal"] = float(temporal_stability(cap.gt["G"][frames], offset=G_TEMPORAL_OFFSET))
    return out


def table3(bundle, nets: dict, cap, frames: np.ndarray, seed: int = 0) -> dict:
    S = bundle.cfg.crop_size
    lmk = torch.from_numpy(bundle.topology.landmark_ids)
    out = {}
    for name, net in nets.items():
        row = {}
        x0, K0, boxes = crops_of(cap, 0, S, frames)
        G0, H0, T0 = run_net(net, bundle.dam, x0, K0)
        # view: geometry from the central view vs every other view (texture/pose are view dependent)
        d = [float((run_net(net, bundle.dam, *crops_of(cap, v, S, frames)[:2], textures=False)[0] - G0)
                   .norm(dim=-1).mean()) for v in range(1, cap.views)]
        row["view"] = {"geometry": float(np.mean(d)), "headpose": None, "texture": None}
        for kind in ("color", "light", "jitter", "background"):
            rng = np.random.default_rng(seed)
            Ms = []

            def fn(img, mask, kind=kind, rng=rng, Ms=Ms):
                if kind == "color":
                    return perturb.color(img, rng)
                if kind == "light":
                    return perturb.light(img, rng)
                if kind == "background":
                    return perturb.background(img, mask if mask is not None else np.zeros(img.shape[:2], bool), rng)
                out, M = perturb.jitter(img, rng)
                Ms.append(M)
                return out

            xp, _, _ = crops_of(cap, 0, S, frames, fn=fn)
            G, H, T = run_net(net, bundle.dam, xp, K0)  # keypoints: the unperturbed detector input
            geo = float((G - G0).norm(dim=-1).mean())
            tex = float((T - T0).abs().mean())
            gt2d = torch.from_numpy(np.stack([C.to_crop(cap.gt["landmarks"][t, 0], b, S)
                                              for t, b in zip(frames, boxes)])).float()
            pose = float((project(G[:, lmk], H) - gt2d).norm(dim=-1).mean() * 256.0 / S)
            row[kind] = {"geometry": geo, "headpose": None if kind == "jitter" else pose,
                         "texture": None if kind == "view" else tex}
        out[name] = row
    return out


def fig10(bundle, cap, frames: np.ndarray, sizes=perturb.CROP_SIZES) -> dict:
    """Reprojection of all vertices at each input resolution relative to the 256 result, and
    of the salient points against ground truth, in pixels at the 256-crop scale."""
    S = bundle.cfg.crop_size
    net = bundle.i2znet.eval()
    res, ref = {}, None
    fid, bary = bundle.topology.locate_uv(cap.gt["salient_uv"])
    for size in sizes:
        x, K, boxes = crops_of(cap, 0, S, frames, size=size)
        G, H, _ = run_net(net, bundle.dam, x, K, textures=False)
        p = project(G, H) * (256.0 / S)
        P = (G[:, bundle.topology.faces[fid]] * torch.from_numpy(bary)[None, :, :, None]).sum(2)
        ps = project(P, H).numpy() * (256.0 / S)
        gt = np.stack([C.to_crop(cap.gt["salient"][t, 0], b, 256) for t, b in zip(frames, boxes)])
        vis = cap.gt["salient_visible"][frames, 0]
        sal = float(np.linalg.norm(ps - gt, axis=-1)[vis].mean())
        if ref is None:
            ref = p
        res[str(size)] = {"relative": float((p - ref).norm(dim=-1).mean()), "salient": sal}
    return res
