"""Synthetic enrollment clips of studio persons (rendered with the studio's GL renderer)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from models.camera import view_direction


def render_clip(path: Path, person: int = 3, seconds: float = 7.0, fps: float = 20.0, size: int = 256,
                yaw_deg: float = 25.0, gain: float = 1.0, faces: int = 1) -> dict:
    """An mp4 of a studio person turning the head +-yaw_deg, blinking and opening the mouth.
    Returns the ground truth: expr (N, E), H (N, 6) (of the first face), person."""
    from studio.capture import make_stage
    from studio.rooms import get_room, lighting_for_pose

    st = make_stage(person, 128)
    room = get_room("lab")
    n = int(seconds * fps)
    t = np.arange(n) / fps
    names = st.person.expression_names
    expr = np.zeros((n, len(names)), np.float32)
    blink = (np.abs((t % 2.0) - 1.0) < 0.08).astype(np.float32)
    expr[:, names.index("blink_L")] = blink
    expr[:, names.index("blink_R")] = blink
    expr[:, names.index("jaw_open")] = 0.4 * np.clip(np.sin(2 * np.pi * t / 3.0), 0, 1)
    rot = np.stack([0.08 * np.sin(2 * np.pi * t / 5.0), np.radians(yaw_deg) * np.sin(2 * np.pi * t / 3.5),
                    np.zeros(n)], 1)
    w = size * faces
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, size))
    Hs = []
    bg = np.full((size, w, 3), 90, np.uint8)
    for k in range(n):
        G = st.person.geometry(expr[k])
        frame = bg.copy()
        for j in range(faces):
            H = np.array([0.33 * size, *rot[k], size * (j + 0.5), size * 0.5], np.float64)
            vd = view_direction(torch.from_numpy(H)).numpy()
            tex = st.shader.shade(G, st.albedo, vd, lighting_for_pose(room, rot[k]))
            frame = st.renderer.render(G, H, tex, (w, size), frame).rgb
            if j == 0:
                Hs.append(H)
        out = np.clip(frame.astype(np.float32) * gain, 0, 255).astype(np.uint8)
        writer.write(np.ascontiguousarray(out[..., ::-1]))
    writer.release()
    return {"expr": expr, "H": np.array(Hs), "person": st.person}


def yaw_sweep(n: int, f: float, centre: float, max_yaw: float) -> tuple[np.ndarray, np.ndarray]:
    """n head rotations turning evenly from -max_yaw to +max_yaw (radians) and their poses
    H = (f, r, centre, centre). -> rot (n, 3), H (n, 6)"""
    rot = np.stack([np.zeros(n), np.linspace(-max_yaw, max_yaw, n), np.zeros(n)], 1)
    return rot, np.concatenate([np.full((n, 1), f), rot, np.full((n, 2), centre)], 1)


def noise_clip(path: Path, seconds: float = 6.0, fps: float = 20.0, size: int = 128) -> None:
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (size, size))
    for _ in range(int(seconds * fps)):
        writer.write(rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
    writer.release()
