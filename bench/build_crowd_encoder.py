"""Crowd-train the avatar's I2ZNet so that any face drives it (issue 15, items 3-5).

Lab captures of crowd persons (``python -m studio capture --kind lab --person P --performance
crowd ...``) are the inputs; each frame's target code is the *avatar person's* DAM code for the
same expression weights and head rotation (:func:`studio.retarget.avatar_codes`), its pose target
is the crowd frame's own H (Eq. 3, landmark reprojection), and a new expression head learns the
named weights e (binary cross-entropy). The encoder is warm-started from the bundle's; the DAM and the colour
correction are kept bit for bit. Keypoint noise per region is the real detector's, measured by
``bench.detector_jitter`` (``--jitter JSON``).

    python -m bench.build_crowd_encoder --bundle models/assets/default_avatar --crowd CAP [CAP ...] \\
        --jitter runs/jitter/detector_jitter.json --out OUT --work WORK --steps 2000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time
from pathlib import Path

import torch

from models import bundle as B
from models.data import load_capture
from models.i2znet import I2ZNet
from models.train import LabData, TrainConfig, train_i2z
from studio.expressions import EXPRESSION_NAMES
from studio.retarget import arkit_names, avatar_codes

from .common import git_commit, machine


def with_expression_head(bundle: B.AvatarBundle, n_expr: int) -> B.AvatarBundle:
    """Replace the bundle's I2ZNet by one with an expression head, every other weight kept."""
    cfg = bundle.cfg.replace(expr_dim=n_expr)
    net = I2ZNet(cfg, load_pretrained=False)
    missing, unexpected = net.load_state_dict(bundle.i2znet.state_dict(), strict=False)
    if unexpected or any(not k.startswith("head_e.") for k in missing):
        raise ValueError(f"encoder weights do not carry over: missing {missing[:3]}, unexpected {unexpected[:3]}")
    bundle.cfg, bundle.i2znet = cfg, net
    return bundle


def crowd_targets(bundle: B.AvatarBundle, data: LabData, avatar_person: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Retargeted z* (len(data), Z) and expression weights e (len(data), E) for every crowd sample."""
    z_all, e_all = [], []
    for cap in data.caps:
        expr, rot = cap.gt["expr"], cap.gt["rot_world"]
        z_all.append(avatar_codes(bundle.dam, avatar_person, expr, rot, bundle.cfg.tex_size))
        e_all.append(torch.from_numpy(expr).float())
    by_cap = {(c, t): (z_all[c][t], e_all[c][t]) for c, t in data.index}
    z = torch.stack([by_cap[i][0] for i in data.index])
    e = torch.stack([by_cap[i][1] for i in data.index])
    return z, e


def dam_digest(dam: torch.nn.Module) -> str:
    """sha256 of the DAM's tensors (names, shapes, float32 bytes)."""
    h = hashlib.sha256()
    for k, v in sorted(dam.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


def cached_targets(bundle: B.AvatarBundle, data: LabData, person: int, path: Path,
                   key: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`crowd_targets`, kept in the work folder for a resumed run on the same captures and
    avatar (the key is the capture list, the avatar person and a digest of the DAM's weights, the
    only network the targets depend on)."""
    key = [*key, dam_digest(bundle.dam), str(person)]
    if path.exists():
        saved = torch.load(path, weights_only=True)
        if saved.get("key") == key:
            return saved["z"], saved["e"]
    z, e = crowd_targets(bundle, data, person)
    torch.save({"key": key, "z": z, "e": e}, path)
    return z, e


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.build_crowd_encoder", description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", required=True, help="the avatar bundle (with its DAM encoder E_X)")
    p.add_argument("--crowd", nargs="+", required=True, help="lab captures of crowd persons")
    p.add_argument("--out", required=True)
    p.add_argument("--work", required=True, help="checkpoints and curves (resumes from here)")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--jitter", default=None, help="bench.detector_jitter JSON: per-region keypoint noise")
    p.add_argument("--avatar-person", type=int, default=None, help="studio person of the avatar (manifest)")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    t0 = time.time()
    bundle = B.load(a.bundle)
    if not bundle.manifest.get("has_encoder"):
        raise SystemExit(f"{a.bundle} has no DAM encoder E_X: the retargeted targets need it")
    person = a.avatar_person if a.avatar_person is not None else int(bundle.manifest["provenance"]["person"])
    if bundle.cfg.expr_dim != len(EXPRESSION_NAMES):  # else: continue training a crowd encoder's head
        with_expression_head(bundle, len(EXPRESSION_NAMES))
    bundle.manifest["expression_names"] = list(arkit_names(EXPRESSION_NAMES))
    regions = ()
    if a.jitter:
        regions = tuple(sorted(json.loads(Path(a.jitter).read_text())["median"].items()))
    cfg = TrainConfig(i2z_steps=a.steps, i2z_lr=a.lr, keypoint_noise_regions=regions)
    data = LabData([load_capture(c) for c in a.crowd])
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    t1 = time.time()
    z_t, e_t = cached_targets(bundle, data, person, work / "targets.pt", [str(c) for c in a.crowd])
    t_targets = time.time() - t1
    hist = train_i2z(bundle, data, cfg, work, z_targets=z_t, e_targets=e_t)
    prov = dict(bundle.manifest.get("provenance", {}))
    prov["crowd_encoder"] = {
        "command": "python -m bench.build_crowd_encoder " + " ".join(argv or sys.argv[1:]),
        "crowd": [c.manifest for c in data.caps], "crowd_persons": sorted({c.manifest["person"] for c in data.caps}),
        "samples": len(data), "train_config": {k: v for k, v in cfg.__dict__.items()},
        "final_losses": {k: v[-1] for k, v in hist.items() if v}, "targets_seconds": round(t_targets, 1),
        "wall_seconds": round(time.time() - t0, 1), "machine": machine(), "git_commit": git_commit(),
    }
    B.save(bundle, a.out, provenance=prov, include_encoder=True,
           dtype="float16" if bundle.cfg.name == "lite" else "float32")
    print(f"[crowd] bundle written to {a.out} in {time.time() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
