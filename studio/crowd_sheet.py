"""Contact sheet of the studio crowd: persons by seed, frontal, neutral, under the lab light.

``python -m studio.crowd_sheet --out docs/img/crowd_sheet.png --persons 48 [--first 1]``

Each tile is one :class:`studio.head.Person` (identity shape knobs + skin), rendered as the lab
capture's frontal view would; seed 0 (the default avatar's person) is drawn first for scale.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from .camera_fx import plain_background
from .capture import _pose, make_stage
from .contact_sheet import _label
from .rooms import get_room, lighting_for_pose


def render_person(seed: int, size: int = 128, tex_size: int = 256, yaw_deg: float = 12.0,
                  accessories: bool = True) -> np.ndarray:
    """(size, size, 3) uint8 RGB of person ``seed``, neutral, slightly turned, with the person's
    eyeglasses when ``accessories`` (:mod:`studio.glasses`)."""
    import torch

    from models.camera import view_direction

    from .capture import accessorize
    from .glasses import GlassesLayer

    stage = make_stage(seed, tex_size)
    accessorize(stage, accessories)
    room = get_room("lab")
    G = stage.person.geometry(None).astype(np.float32)
    rot = np.array([0.0, np.radians(yaw_deg), 0.0])
    f = 0.32 * size
    H = np.array([f, *_pose(rot, np.zeros(3)), size / 2, size / 2], np.float64)
    vd = view_direction(torch.from_numpy(H)).numpy()
    tex = stage.shader.shade(G, stage.albedo, vd, lighting_for_pose(room, rot))
    bg = plain_background((size, size), room.fx.background_color)
    res = stage.renderer.render(G, H, tex, (size, size), bg)
    return GlassesLayer(stage.person, accessories)(res.rgb, res.depth, H)


def build(out: Path, persons: int = 48, first: int = 0, cols: int = 8, tile: int = 128) -> Path:
    tiles = [_label(render_person(s, tile), f"person {s}") for s in range(first, first + persons)]
    pad = np.full((tile, tile, 3), 255, np.uint8)
    tiles += [pad] * (-len(tiles) % cols)
    rows = [np.concatenate(tiles[i:i + cols], 1) for i in range(0, len(tiles), cols)]
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), np.concatenate(rows, 0)[..., ::-1])
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m studio.crowd_sheet", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="docs/img/crowd_sheet.png")
    p.add_argument("--persons", type=int, default=48)
    p.add_argument("--first", type=int, default=0)
    a = p.parse_args(argv)
    print(build(Path(a.out), a.persons, a.first))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
