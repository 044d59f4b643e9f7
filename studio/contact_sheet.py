"""Contact sheet for docs/studio.md: lab views, every wild room, the Table 3 perturbations.

``python -m studio.contact_sheet --out docs/img/studio_contact.png``
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np

from models.data import load_capture

from . import perturb
from .capture import capture_lab, capture_wild
from .rooms import WILD_ROOMS


def _label(img: np.ndarray, text: str) -> np.ndarray:
    out = img.copy()
    cv2.putText(out, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 2, cv2.LINE_AA)
    cv2.putText(out, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    return out


def build(out: Path, person: int = 0, tile: int = 160) -> Path:
    rows = []
    with tempfile.TemporaryDirectory() as d:
        lab = load_capture(capture_lab(person, 8, 3, Path(d) / "lab", size=tile))
        rows.append(np.concatenate([_label(np.asarray(lab.images(v)[2]), f"lab view {v}") for v in range(8)], 1))
        wild = []
        for room in WILD_ROOMS:
            cap = load_capture(capture_wild(person, room, 20, Path(d) / room))
            f = cap.video_frames()[19][..., ::-1]
            h, w = f.shape[:2]
            c = f[:, (w - h) // 2:(w - h) // 2 + h]
            wild.append(_label(cv2.resize(c, (tile, tile), interpolation=cv2.INTER_AREA), room))
        masks = lab.masks(0)
        img0 = np.asarray(lab.images(0)[2])
        rng = np.random.default_rng(0)
        pert = [_label(img0, "clean"), _label(perturb.color(img0, rng), "color"),
                _label(perturb.light(img0, rng), "light"), _label(perturb.jitter(img0, rng)[0], "jitter"),
                _label(perturb.background(img0, masks[2], rng), "background")]
        pad = np.full((tile, tile, 3), 255, np.uint8)
        rows.append(np.concatenate(wild + [pad] * (8 - len(wild)), 1))
        rows.append(np.concatenate(pert + [pad] * (8 - len(pert)), 1))
    sheet = np.concatenate(rows, 0)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), sheet[..., ::-1])
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m studio.contact_sheet")
    p.add_argument("--out", default="docs/img/studio_contact.png")
    p.add_argument("--person", type=int, default=0)
    a = p.parse_args(argv)
    print(build(Path(a.out), a.person))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
