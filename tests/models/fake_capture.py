"""A small fabricated lab capture in the studio format (no GL needed), for fast tests."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import torch

from models.camera import project, view_direction
from models.data import CAPTURE_FORMAT, image_file, texture_file
from models.topology import make_test_mesh


def write_fake_lab(path: Path, frames: int = 24, views: int = 3, size: int = 96, T: int = 32, seed: int = 0) -> Path:
    topo = make_test_mesh()
    V0 = topo.vertices
    # two smooth "expressions": jaw drop below y>0.3 and brow raise above y<-0.4
    e1 = np.zeros_like(V0)
    e1[:, 1] = 0.25 * np.clip(V0[:, 1] - 0.3, 0, None)
    e2 = np.zeros_like(V0)
    e2[:, 1] = -0.15 * np.clip(-0.4 - V0[:, 1], 0, None) * 3
    expr = np.stack([0.5 + 0.5 * np.sin(np.arange(frames) / 3), 0.5 + 0.5 * np.cos(np.arange(frames) / 5)], 1)
    G = (V0[None] + expr[:, 0, None, None] * e1 + expr[:, 1, None, None] * e2).astype(np.float32)
    yaws = np.linspace(-0.5, 0.5, views)
    H = np.zeros((frames, views, 6), np.float32)
    H[..., 0] = size * 0.33
    H[..., 2] = yaws[None]
    H[..., 1] = 0.1 * np.sin(np.arange(frames) / 4)[:, None]
    H[..., 4:] = size / 2
    Gt = torch.from_numpy(G)
    lm = project(Gt[:, None, topo.landmark_ids], torch.from_numpy(H)).numpy()
    vd = view_direction(torch.from_numpy(H)).numpy()
    sal = project(torch.from_numpy(topo.salient_points(G))[:, None], torch.from_numpy(H)).numpy()
    u = np.linspace(0, 1, T)
    base = np.stack(np.meshgrid(u, u), -1)
    path.mkdir(parents=True, exist_ok=True)
    for v in range(views):
        imgs = np.full((frames, size, size, 3), 90, np.uint8)
        texs = np.zeros((frames, T, T, 3), np.uint8)
        for t in range(frames):
            for k, (x, y) in enumerate(lm[t, v]):
                cv2.circle(imgs[t], (int(round(x)), int(round(y))), 2, (200, 150 + k, 120), -1)
            shade = 0.6 + 0.3 * vd[t, v, 0] * (base[..., 0] - 0.5) + 0.2 * expr[t, 0] * base[..., 1]
            texs[t] = np.clip(np.stack([shade, shade * 0.8, shade * 0.7], -1) * 255, 0, 255).astype(np.uint8)
        np.save(path / image_file(v), imgs)
        np.save(path / texture_file(v), texs)
    np.savez(path / "gt.npz", H=H, expr=expr.astype(np.float32), G=G, landmarks=lm.astype(np.float32),
             salient=sal.astype(np.float32), salient_visible=np.ones(sal.shape[:-1], bool),
             view_dir=vd.astype(np.float32))
    manifest = dict(format_version=CAPTURE_FORMAT, kind="lab", seed=seed, person=seed, room="lab", views=views,
                    frames=frames, image_size=size, tex_size=T, fps=30, fabricated=True)
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path
