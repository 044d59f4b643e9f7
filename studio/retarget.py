"""Retargeting targets for the crowd encoder (issue 15, item 3; DESIGN.md section 10).

A crowd person's frame shows expression weights e and head rotation R. The encoder's target
is not that person's code but the *avatar person's* code for the same e: z* = E_X(G_a(e), T_a(e)),
where G_a(e) is the avatar person's geometry with expression e and T_a(e) the mean over the lab
views of its shaded texture, exactly what the avatar's own lab capture would feed the DAM
encoder E_X for that frame (paper Eq. 2, z_gt). So any face drives the avatar while the DAM,
its texture and the calibration stay the paper's.

Only textures are shaded (no image is rendered), so this costs a fraction of a lab capture.
"""

from __future__ import annotations

import numpy as np
import torch

from models.camera import view_direction
from models.train import tex_tensor

from .capture import LAB_VIEWS, _pose, make_stage
from .rooms import get_room, lighting_for_pose

ARKIT_OF_STUDIO = {  # studio name -> ARKit blendshape; studio "_L" is image-left = the subject's right side
    "jaw_open": "jawOpen", "smile_L": "mouthSmileRight", "smile_R": "mouthSmileLeft", "pucker": "mouthPucker",
    "funnel": "mouthFunnel", "brow_raise": "browInnerUp", "brow_frown": "browDown", "blink_L": "eyeBlinkRight",
    "blink_R": "eyeBlinkLeft", "cheek_puff": "cheekPuff", "sneer": "noseSneer", "lip_press": "mouthPress",
    "frown": "mouthFrown", "squint_L": "eyeSquintRight", "squint_R": "eyeSquintLeft", "mouth_left": "mouthRight",
    "mouth_right": "mouthLeft",
}


def arkit_names(studio_names: tuple[str, ...]) -> tuple[str, ...]:
    """ARKit-style names of the studio's expression channels, in the same order. Where ARKit splits
    a shape per side and the studio does not (browDown, noseSneer, mouthPress, mouthFrown) the
    name has no side: consumers send it to both."""
    return tuple(ARKIT_OF_STUDIO[n] for n in studio_names)


@torch.no_grad()
def avatar_codes(dam, avatar_person: int, expr: np.ndarray, rot: np.ndarray, tex_size: int,
                 views: int = 8, batch: int = 32) -> torch.Tensor:
    """z* for each frame: the avatar person's DAM code for the same expression and head rotation.

    dam: the avatar's DeepAppearanceModel (with its encoder E_X); expr (N, E) studio weights;
    rot (N, 3) world head rotation (rx, ry, rz) -> (N, Z) float32 (E_X's mean, as z_gt).
    """
    stage = make_stage(avatar_person, tex_size)
    room = get_room("lab")
    cams = np.radians([[p, y, 0.0] for y, p in LAB_VIEWS[:views]])
    Gs, Ts, out = [], [], []

    def flush() -> None:
        G = torch.from_numpy(np.stack(Gs)).float()
        T = tex_tensor(np.stack(Ts), dam.cfg.tex_size)
        out.append(dam.encode(G, T)[0])
        Gs.clear()
        Ts.clear()

    for t in range(len(expr)):
        G = stage.person.geometry(expr[t]).astype(np.float32)
        lighting = lighting_for_pose(room, _pose(rot[t], np.zeros(3)))
        texs = []
        for v in range(views):
            H = np.array([1.0, *_pose(rot[t], cams[v]), 0.0, 0.0], np.float64)
            vd = view_direction(torch.from_numpy(H)).numpy()
            tex = stage.shader.shade(G, stage.albedo, vd, lighting)
            texs.append(np.clip(tex * 255 + 0.5, 0, 255).astype(np.uint8))
        Gs.append(G)
        Ts.append(np.clip(np.mean(texs, 0) + 0.5, 0, 255).astype(np.uint8))
        if len(Gs) == batch:
            flush()
    if Gs:
        flush()
    return torch.cat(out)
